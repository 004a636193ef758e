#!/usr/bin/env node
/**
 * The `strand` executable (package.json `bin`): runs {@link main} on the process's arguments
 * and streams, and exits with its status.
 */

import { main } from './cli/main.js';

// Strand's timers do not keep a process alive (a library must not); the command must stay up
// until its work settles, whatever it waits on, rather than exit early with status 0.
const keepAlive = setInterval(() => {}, 1 << 30);

main(process.argv.slice(2), { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, stderrIsTTY: process.stderr.isTTY === true, env: process.env }).then(
  (code) => {
    clearInterval(keepAlive);
    process.exitCode = code;
  },
  (error: unknown) => {
    clearInterval(keepAlive);
    process.stderr.write(`strand: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
