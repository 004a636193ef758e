/**
 * The `strand` command: `strand [METHOD] URL [options]` for one request, `strand download` for
 * many. {@link main} takes the arguments and streams, so tests can run it in-process too.
 */

import { VERSION } from '../version.js';
import { type CommandIO, EXIT, UsageError, errorLine, write } from './common.js';
import { runDownload } from './download.js';
import { parseFetch, runFetch } from './fetch.js';

/** Runs the command line `argv` (without `node` and the script); resolves with the exit code. */
export async function main(argv: readonly string[], io: CommandIO): Promise<number> {
  try {
    if (argv[0] === 'download') return await runDownload(argv.slice(1), io);
    const command = await parseFetch(argv, io, VERSION);
    if (command === null) return EXIT.OK;
    return await runFetch(command, io);
  } catch (error) {
    await write(io.stderr, errorLine(error));
    return error instanceof UsageError ? EXIT.USAGE : EXIT.FAILED;
  }
}
