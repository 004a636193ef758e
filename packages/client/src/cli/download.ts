/**
 * `strand download`: fetches many URLs, N at a time, saving each body to a file, with a progress
 * bar (cli-progress) on a terminal and a summary at the end. `--continue` resumes partial files
 * with a `Range` request where the server supports it.
 */

import { createWriteStream } from 'node:fs';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import cliProgress from 'cli-progress';
import { HTTPStatusError } from '../errors.js';
import { mapConcurrent } from '../limiter.js';
import type { ClientRequestOptions } from '../types.js';
import {
  type CommandIO,
  EXIT,
  TLS_OPTIONS,
  TLS_USAGE,
  UsageError,
  commandAgent,
  commandClient,
  errorLine,
  formatBytes,
  nonNegativeInteger,
  parseCommandLine,
  positiveInteger,
  seconds,
  write,
} from './common.js';

export const DOWNLOAD_USAGE = `Usage: strand download [URL...] [options]

Downloads every URL (from the arguments, --input, or stdin, one per line; blank lines and
lines starting with # are skipped), N at a time, saving each body to a file named after
the URL's last path segment.

Options:
  -c, --concurrency N     downloads at once (default 4)
  -i, --input FILE        read URLs from FILE ("-" for stdin)
  -P, --dir DIR           save files in DIR (default: the current directory)
  -C, --continue          resume partial files with a Range request where supported
      --timeout SECONDS   give up on one URL after this long
      --max-redirs N      follow at most N redirects per URL (default 20)
      --no-progress       no progress bar, even on a terminal
${TLS_USAGE}  -h, --help              this help

Exit status: 0 when every URL was saved, 1 when any failed (each failure is listed).
`;

const OPTIONS = {
  concurrency: { type: 'string', short: 'c' },
  input: { type: 'string', short: 'i' },
  dir: { type: 'string', short: 'P' },
  continue: { type: 'boolean', short: 'C' },
  timeout: { type: 'string' },
  'max-redirs': { type: 'string' },
  'no-progress': { type: 'boolean' },
  ...TLS_OPTIONS,
  help: { type: 'boolean', short: 'h' },
} as const;

/** One URL of the list and the file it is saved to. */
export interface DownloadItem {
  readonly url: string;
  readonly file: string;
}

/** What happened to one item. */
interface Saved {
  readonly bytes: number;
  readonly resumed: boolean;
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

/** Gives every URL a distinct file name in `dir` (`name`, `name.1`, `name.2`… as wget does). */
export function planDownloads(urls: readonly string[], dir: string): DownloadItem[] {
  const used = new Set<string>();
  return urls.map((url) => {
    const base = fileNameFor(url);
    let name = base;
    for (let n = 1; used.has(name); n++) name = `${base}.${n}`;
    used.add(name);
    return { url, file: join(dir, name) };
  });
}

async function sizeOf(path: string): Promise<number> {
  try {
    const info = await stat(path);
    return info.isFile() ? info.size : 0;
  } catch {
    return 0;
  }
}

/** Runs the download command; resolves with the exit code. */
export async function runDownload(argv: readonly string[], io: CommandIO): Promise<number> {
  const { values, positionals } = parseCommandLine(argv, OPTIONS);
  if (values.help === true) {
    await write(io.stdout, DOWNLOAD_USAGE);
    return EXIT.OK;
  }
  const concurrency = positiveInteger(values.concurrency, '--concurrency', 4);
  const total = seconds(values.timeout, '--timeout');
  const maxRedirects = nonNegativeInteger(values['max-redirs'], '--max-redirs');
  const dir = values.dir ?? '.';
  const resume = values.continue === true;

  let urls = [...positionals];
  if (values.input !== undefined || urls.length === 0) {
    let text: string;
    if (values.input === undefined || values.input === '-') {
      const chunks: Buffer[] = [];
      for await (const chunk of io.stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
      text = Buffer.concat(chunks).toString('utf8');
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
  await mkdir(dir, { recursive: true });
  const items = planDownloads(urls, dir);

  const client = commandClient(commandAgent(values));
  const base: ClientRequestOptions = { unbuffered: true, decompress: false, maxBodySize: Infinity };
  if (total !== undefined) base.timeout = total;
  if (maxRedirects !== undefined) base.maxRedirects = maxRedirects;

  const showBar = io.stderrIsTTY && values['no-progress'] !== true;
  const bar = showBar
    ? new cliProgress.SingleBar(
        { format: 'downloading [{bar}] {value}/{total} files | {size} | {failed} failed', stream: io.stderr, hideCursor: true, clearOnComplete: true },
        cliProgress.Presets.shades_classic,
      )
    : null;
  let bytes = 0;
  let failed = 0;
  let done = 0;
  const progress = (): void => bar?.update(done, { size: formatBytes(bytes), failed });
  bar?.start(items.length, 0, { size: formatBytes(0), failed: 0 });

  const started = performance.now();
  const save = async (item: DownloadItem): Promise<Saved> => {
    const existing = resume ? await sizeOf(item.file) : 0;
    const options: ClientRequestOptions = existing > 0 ? { ...base, headers: { Range: `bytes=${existing}-` } } : base;
    const response = await client.get(item.url, options);
    if (existing > 0 && response.code === 416) {
      // The file already holds everything the server has.
      await response.dump();
      return { bytes: 0, resumed: true };
    }
    if (response.code < 200 || response.code > 299) {
      await response.dump();
      throw new HTTPStatusError(response);
    }
    let append = false;
    if (existing > 0 && response.code === 206) {
      const range = /^bytes (\d+)-/.exec(response.headers.get('content-range') ?? '');
      if (range === null || Number(range[1]) !== existing) {
        await response.dump();
        throw new Error(`the server answered the resume request with an unexpected Content-Range: ${response.headers.get('content-range') ?? '(none)'}`);
      }
      append = true;
    }
    let written = 0;
    const count = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        written += chunk.length;
        bytes += chunk.length;
        progress();
        callback(null, chunk);
      },
    });
    await pipeline(response.toReadable(), count, createWriteStream(item.file, { flags: append ? 'a' : 'w' }));
    return { bytes: written, resumed: append };
  };

  const results = await mapConcurrent(items, save, {
    concurrency,
    onSettled: (result) => {
      done++;
      if (!result.ok) failed++;
      progress();
    },
  });
  bar?.stop();

  const seconds_ = (performance.now() - started) / 1000;
  const saved = results.filter((r) => r.ok).length;
  const resumedCount = results.filter((r) => r.ok && r.value.resumed).length;
  let summary = `downloaded ${saved} of ${items.length} files, ${formatBytes(bytes)} in ${seconds_.toFixed(2)} s`;
  if (resumedCount > 0) summary += `, ${resumedCount} resumed`;
  summary += failed > 0 ? `; ${failed} failed:\n` : '\n';
  results.forEach((result, i) => {
    if (!result.ok) summary += `  ${(items[i] as DownloadItem).url}: ${errorLine(result.error).replace(/^strand: /, '')}`;
  });
  await write(io.stderr, summary);
  return failed > 0 ? EXIT.FAILED : EXIT.OK;
}
