/**
 * The `strand` command: `strand [METHOD] URL... [options]` for requests, `strand download` for
 * many files at once. {@link main} takes the arguments and streams, so tests can run it
 * in-process too.
 */

import { VERSION } from '../version.js';
import { type CommandIO, EXIT, UsageError, errorLine, write } from './common.js';
import { DOWNLOAD_OPTIONS, runDownload } from './download.js';
import { exitCodeFor } from './exit-codes.js';
import { FETCH_OPTIONS, parseFetch, runFetch } from './fetch.js';

/** Runs the command line `argv` (without `node` and the script); resolves with the exit code. */
export async function main(argv: readonly string[], io: CommandIO): Promise<number> {
  try {
    if (argv[0] === 'download') return await runDownload(argv.slice(1), io, { command: 'strand [URL...] (without "download")', options: FETCH_OPTIONS });
    const command = await parseFetch(argv, io, VERSION, { command: 'strand download', options: DOWNLOAD_OPTIONS });
    if (command === null) return EXIT.OK;
    return await runFetch(command, io);
  } catch (error) {
    await write(io.stderr, errorLine(error)).catch(() => {});
    return error instanceof UsageError ? EXIT.USAGE : exitCodeFor(error);
  }
}
