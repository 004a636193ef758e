#!/usr/bin/env node
/**
 * The `strand` executable (package.json `bin`): runs {@link main} on the process's arguments
 * and streams, and exits with its status.
 */

import { main } from './cli/main.js';

main(process.argv.slice(2), { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, stderrIsTTY: process.stderr.isTTY === true }).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`strand: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
