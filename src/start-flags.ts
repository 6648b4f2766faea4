/**
 * The V8 flags every CLI start runs with (issue 23): the young generation grows 8× per resize, so loading
 * the CLI and the Temporal SDK (~25 MB in a few hundred ms) takes ~6 scavenges instead of ~11 and a
 * mark-compact. One constant for client.ts and bundle-loader.ts: a V8 code cache carries a hash of the
 * flags, and one made under other flags is rejected, so the build's training run must use these too.
 */
export const START_V8_FLAGS = '--semi-space-growth-factor=8';
