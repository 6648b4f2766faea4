// webpack loader for scripts/bundle-cli.mjs, for @temporalio/common's data-converter-helpers.js only: its
// `require(path)` of a user's payload/failure converter stays node's require (webpack would otherwise turn
// it into an empty context that fails every path, and warn). The CLI sets no converter path; a worker
// loads @temporalio/common from node_modules, not from this bundle. Fails the build if that line changed (and
// scripts/bundle-cli.mjs fails on webpack's warning if the file moved).
module.exports = function bundleNodeRequire(source) {
  const needle = 'module = require(path);';
  if (source.split(needle).length !== 2)
    throw new Error(`${this.resourcePath}: expected one "${needle}" (the SDK changed: revisit this loader)`);
  return source.replace(needle, 'module = __non_webpack_require__(path);');
};
