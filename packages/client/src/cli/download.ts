/**
 * `strand download`: fetches many URLs, N at a time, saving each body to a file, with the speed
 * and ETA of each file and of the whole on a terminal, and a summary at the end. Each file is
 * written as `NAME.part` and renamed to `NAME` once complete; `--continue` resumes a `.part`
 * with `Range` and `If-Range` (its validator kept in `NAME.part.json`).
 */

import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { mapConcurrent } from '../limiter.js';
import { type CommandIO, EXIT, UsageError, errorLine, formatBytes, parseCommandLine, positiveInteger, readAll, write } from './common.js';
import { exitCodeFor, exitTableText } from './exit-codes.js';
import { formatRate, progressView } from './progress.js';
import { TRANSFER_OPTIONS, TRANSFER_USAGE, openSession } from './session.js';
import { runTransfer } from './transfer.js';
import { commandLineUrl } from './urls.js';

export const DOWNLOAD_USAGE = `Usage: strand download [URL...] [options]

Downloads every URL (from the arguments, --input, or stdin, one per line; blank lines and
lines starting with # are skipped), N at a time, saving each body to a file named after
the URL's last path segment. A URL without a scheme is http://. Each file is written as
NAME.part and renamed to NAME when complete; on a terminal each file's speed and ETA, and
the overall ones, are shown.

Options:
      --concurrency N     downloads at once (default 4; also --parallel-max N)
      --input FILE        read URLs from FILE ("-" for stdin)
  -P, --dir DIR           save files in DIR (default: the current directory; also --output-dir)
  -C, --continue          resume NAME.part (or an existing NAME) with Range + If-Range (also -C -)
      --no-progress       no progress display, even on a terminal
${TRANSFER_USAGE}  -h, --help              this help

Every failed URL is listed. A status >= 400 is a failure (exit 22, as curl -f).
Exit status: 0 when every URL was saved, else the code of the first URL that failed:
${exitTableText()}`;

export const DOWNLOAD_OPTIONS = {
  concurrency: { type: 'string' },
  'parallel-max': { type: 'string' },
  input: { type: 'string' },
  dir: { type: 'string', short: 'P' },
  'output-dir': { type: 'string' },
  continue: { type: 'boolean', short: 'C' },
  'no-progress': { type: 'boolean' },
  ...TRANSFER_OPTIONS,
  help: { type: 'boolean', short: 'h' },
} as const;

/** One URL of the list and the file it is saved to. */
export interface DownloadItem {
  readonly url: string;
  readonly file: string;
}

/** Parses the lines of a URL list: trimmed, without blanks and `#` comments. */
export function parseUrlList(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

/** A safe file name for a URL: its last path segment (decoded), else `index.html`; never a path. */
export function fileNameFor(url: string): string {
  let segment = '';
  try {
    const pathname = new URL(url).pathname;
    segment = pathname.slice(pathname.lastIndexOf('/') + 1);
    try {
      segment = decodeURIComponent(segment);
    } catch {
      // Keep the raw segment when it is not valid percent-encoding.
    }
  } catch {
    segment = '';
  }
  // eslint-disable-next-line no-control-regex
  segment = segment.replace(/[/\\\x00-\x1f\x7f:*?"<>|]/g, '_');
  if (segment === '' || segment === '.' || segment === '..') segment = 'index.html';
  return segment;
}

/**
 * Gives every URL a distinct file name in `dir` (`name`, `name.1`, `name.2`… as wget does), and
 * never one that is another's temporary `NAME.part` or `NAME.part.json`.
 */
export function planDownloads(urls: readonly string[], dir: string): DownloadItem[] {
  // Every name in use, with the temporary names beside it.
  const used = new Set<string>();
  const taken = (name: string): boolean => used.has(name) || used.has(`${name}.part`) || used.has(`${name}.part.json`);
  return urls.map((url) => {
    const base = fileNameFor(url);
    let name = base;
    for (let n = 1; taken(name); n++) name = `${base}.${n}`;
    used.add(name).add(`${name}.part`).add(`${name}.part.json`);
    return { url, file: join(dir, name) };
  });
}

/** Runs the download command; resolves with the exit code. */
export async function runDownload(argv: readonly string[], io: CommandIO, fetchOptions: Parameters<typeof parseCommandLine>[2] = null): Promise<number> {
  const { values, positionals } = parseCommandLine(argv, DOWNLOAD_OPTIONS, fetchOptions);
  if (values.help === true) {
    await write(io.stdout, DOWNLOAD_USAGE);
    return EXIT.OK;
  }
  if (values['cookie-jar'] !== undefined && /^\d+$/.test(values['cookie-jar'])) {
    throw new UsageError(`-c is --cookie-jar FILE, as in curl; for ${values['cookie-jar']} downloads at once use --concurrency ${values['cookie-jar']}`);
  }
  if (values.concurrency !== undefined && values['parallel-max'] !== undefined) throw new UsageError('use either --concurrency or --parallel-max, not both');
  const concurrency = positiveInteger(values.concurrency ?? values['parallel-max'], values.concurrency === undefined ? '--parallel-max' : '--concurrency', 4);
  if (values.dir !== undefined && values['output-dir'] !== undefined) throw new UsageError('use either --dir or --output-dir, not both');
  const dir = values.dir ?? values['output-dir'] ?? '.';
  const resume = values.continue === true;
  if (resume && values.include === true) throw new UsageError('--continue cannot be used with --include (the head would be written into the middle of the file)');

  let urls = [...positionals];
  for (const url of urls) {
    if (!url.includes('://') && existsSync(url)) {
      throw new UsageError(`"${url}" is a local file, not a URL: to read URLs from it use --input ${url} (-i is --include, as in curl)`);
    }
  }
  if (values.input !== undefined || urls.length === 0) {
    let text: string;
    if (values.input === undefined || values.input === '-') {
      text = await readAll(io.stdin);
    } else {
      try {
        text = await readFile(values.input, 'utf8');
      } catch (cause) {
        throw new UsageError(`--input: cannot read "${values.input}": ${(cause as NodeJS.ErrnoException).code ?? String(cause)}`);
      }
    }
    urls = urls.concat(parseUrlList(text));
  }
  if (urls.length === 0) throw new UsageError('no URLs to download (give them as arguments, with --input, or on stdin)');

  const session = await openSession(values, io, { decompress: false });
  try {
    await mkdir(dir, { recursive: true });
  } catch (error) {
    throw new UsageError(`--dir: cannot create "${dir}": ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  // A URL that does not parse fails on its own line (exit 3), like any other failure.
  const checked = urls.map((url) => {
    try {
      return { url: commandLineUrl(url), error: null };
    } catch (error) {
      return { url, error };
    }
  });
  const items = planDownloads(
    checked.map((c) => c.url),
    dir,
  );

  const view = await progressView(io.stderr, io.stderrIsTTY && values['no-progress'] !== true && values.silent !== true, items.length);
  const started = performance.now();
  let bytes = 0;
  const results = await mapConcurrent(
    items,
    async (item, id) => {
      const invalid = (checked[id] as { error: unknown }).error;
      // eslint-disable-next-line @typescript-eslint/only-throw-error -- a caught value, passed on as it was
      if (invalid !== null) throw invalid;
      const result = await runTransfer(
        session.client,
        {
          method: 'GET',
          url: item.url,
          headers: session.headers,
          options: session.requestOptions(item.url),
          target: { kind: 'file', path: item.file },
          resume,
          include: session.include,
          headOnly: false,
          noBody: false,
          fail: true,
        },
        {
          onResponse: (response, resumedFrom) => {
            const length = Number(response.headers.get('content-length') ?? NaN);
            const total = response.code === 206 ? resumedFrom + length : length;
            view.fileStarted(id, basename(item.file), Number.isFinite(total) ? total : null, response.code === 206 ? resumedFrom : 0);
          },
          onBytes: (count) => {
            bytes += count;
            view.fileBytes(id, count);
          },
        },
      );
      // eslint-disable-next-line @typescript-eslint/only-throw-error -- a caught value, passed on as it was
      if (result.error !== null) throw result.error;
      return result;
    },
    {
      concurrency,
      onSettled: (result, index) => view.fileDone(index, result.ok),
    },
  );
  view.stop();
  let closeError: unknown = null;
  try {
    await session.close(io);
  } catch (error) {
    closeError = error;
  }

  const elapsed = (performance.now() - started) / 1000;
  const saved = results.filter((r) => r.ok).length;
  const failed = results.length - saved;
  const resumedCount = results.filter((r) => r.ok && r.value.resumed).length;
  let summary = `downloaded ${saved} of ${items.length} files, ${formatBytes(bytes)} in ${elapsed.toFixed(2)} s (${formatRate(elapsed > 0 ? bytes / elapsed : null)})`;
  if (resumedCount > 0) summary += `, ${resumedCount} resumed`;
  summary += failed > 0 ? `; ${failed} failed:\n` : '\n';
  let exit: number = EXIT.OK;
  results.forEach((result, i) => {
    if (result.ok) return;
    if (exit === EXIT.OK) exit = exitCodeFor(result.error, session.context);
    summary += `  ${(items[i] as DownloadItem).url}: ${errorLine(result.error).replace(/^strand: /, '')}`;
  });
  if (closeError !== null) {
    if (exit === EXIT.OK) exit = exitCodeFor(closeError, session.context);
    summary += errorLine(closeError);
  }
  const quiet = values.silent === true;
  if (!quiet || (session.showErrors && exit !== EXIT.OK)) await write(io.stderr, quiet ? summary.slice(summary.indexOf('\n') + 1) : summary);
  return exit;
}
