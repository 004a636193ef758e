// Loaded with `node --require` by the CLI tests: at exit, says on stderr whether the process
// loaded cli-progress (through require or import(): both go through the CommonJS cache).
'use strict';
process.on('exit', () => {
  const loaded = Object.keys(require.cache).some((path) => /[\\/]node_modules[\\/]cli-progress[\\/]/.test(path));
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- a --require preload is CommonJS
  require('node:fs').writeSync(2, `cli-progress loaded: ${loaded}\n`);
});
