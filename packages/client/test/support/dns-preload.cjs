// Loaded with `node --require` by the CLI tests: a resolver that needs no network, so DNS
// outcomes are deterministic offline. `*.invalid` fails at once (ENOTFOUND), `*.hang.test` never
// answers (for connect timeouts), any other `*.test` name is 127.0.0.1; the rest goes to the
// real resolver. Core calls `dns.lookup` when it connects, so patching it here is enough.
'use strict';
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a --require preload is CommonJS
const dns = require('node:dns');
const real = dns.lookup;
dns.lookup = function lookup(hostname, options, callback) {
  if (typeof options === 'function') {
    callback = options;
    options = {};
  }
  const all = typeof options === 'object' && options !== null && options.all === true;
  const name = String(hostname).toLowerCase();
  if (name.endsWith('.invalid')) {
    const error = Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND', errno: -3008, syscall: 'getaddrinfo', hostname });
    process.nextTick(callback, error);
    return;
  }
  if (name.endsWith('.hang.test')) return; // never answers
  if (name.endsWith('.test')) {
    if (all) process.nextTick(callback, null, [{ address: '127.0.0.1', family: 4 }]);
    else process.nextTick(callback, null, '127.0.0.1', 4);
    return;
  }
  return real.call(dns, hostname, options, callback);
};
