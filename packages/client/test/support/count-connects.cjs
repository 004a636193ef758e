// Loaded with `node --require` by the CLI tests: at exit, says on stderr how many TCP
// connections the process opened or tried to open (Node's `net.client.socket` channel).
'use strict';
/* eslint-disable @typescript-eslint/no-require-imports -- a --require preload is CommonJS */
let attempts = 0;
require('node:diagnostics_channel').subscribe('net.client.socket', () => {
  attempts++;
});
process.on('exit', () => {
  require('node:fs').writeSync(2, `connect attempts: ${attempts}\n`);
});
