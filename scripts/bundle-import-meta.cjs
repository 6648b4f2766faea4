// webpack loader for scripts/bundle-cli.mjs: `import.meta.url` becomes `__bundleUrl`, which
// src/bundle-loader.ts gives each script (its own file URL): the bundle runs as scripts, which have no
// import.meta. tsc's output is the input, so the only `import.meta.url`s are real ones.
module.exports = function bundleImportMeta(source) {
  return source.replace(/\bimport\.meta\.url\b/g, '__bundleUrl');
};
