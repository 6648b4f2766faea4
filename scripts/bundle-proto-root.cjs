// webpack loader for scripts/bundle-cli.mjs, for @temporalio/proto's json-module.js only: the CLI's copy of
// the protobuf root leaves out the two namespaces a client never encodes or decodes — `coresdk` (the
// worker's bridge to its native core) and `temporal.api.cloud` (Temporal Cloud's operations API) — a third of
// the root. Building the root (`addJSON`) is the largest single cost of the CLI's start, and what it keeps
// alive fills the old generation to V8's first marking limit near a run's end (issue 23). The worker loads
// the SDK from node_modules, with the whole root. Fails the build when the file's shape changed, or when any
// type left in references one that is removed (the SDK changed: revisit this loader).
const DROP = [['coresdk'], ['temporal', 'api', 'cloud']];

module.exports = function bundleProtoRoot(source) {
  const open = '.addJSON(';
  const close = '});\n\n/**\n * Reflected root namespace.';
  const at = source.indexOf(open);
  const end = source.indexOf(close);
  if (at < 0 || end < at || source.indexOf(open, at + 1) >= 0)
    throw new Error(`${this.resourcePath}: expected one ".addJSON({…});" before the root's export`);
  const json = JSON.parse(source.slice(at + open.length, end + 1));
  for (const path of DROP) {
    let parent = { nested: json };
    for (const name of path.slice(0, -1)) parent = parent?.nested?.[name];
    const name = path[path.length - 1];
    if (!parent?.nested?.[name])
      throw new Error(`${this.resourcePath}: no namespace ${path.join('.')} to leave out`);
    delete parent.nested[name];
  }
  // A field, method or extension of what stays that names a removed namespace would fail when first used.
  // Conservative: any name with a removed namespace's last segment in it (`cloud`, `coresdk`) counts.
  const segments = DROP.map((p) => p[p.length - 1]);
  const dangling = [];
  const walk = (node, where) => {
    if (!node || typeof node !== 'object') return;
    for (const [key, value] of Object.entries(node)) {
      if (
        ['type', 'requestType', 'responseType', 'extend'].includes(key) &&
        typeof value === 'string' &&
        value.split('.').some((part) => segments.includes(part))
      )
        dangling.push(`${where}.${key} = ${value}`);
      walk(value, `${where}.${key}`);
    }
  };
  walk(json, 'root');
  if (dangling.length)
    throw new Error(
      `${this.resourcePath}: kept types reference removed ones: ${dangling.slice(0, 5).join('; ')}`,
    );
  return `${source.slice(0, at + open.length)}${JSON.stringify(json)}${source.slice(end + 1)}`;
};
