/**
 * The progress of `strand download` on a terminal: one line per file being downloaded (name,
 * bytes, speed, ETA) under an overall line (files, bytes, speed, ETA). Drawn with cli-progress,
 * which is imported only here, lazily, when a terminal asks for a bar — the library never loads
 * it, and without it installed (it is an optional peer of `@strand/client`) a plain one-line
 * status is drawn instead.
 */

import type { Writable } from 'node:stream';
import { formatBytes } from './common.js';

/** Bytes per second over the last `window` ms (a ring of per-tick counts; time injected). */
export class RateMeter {
  private readonly window: number;
  private readonly samples: Array<{ at: number; bytes: number }> = [];
  private readonly started: number;

  constructor(now: number, window = 5000) {
    this.window = window;
    this.started = now;
  }

  add(bytes: number, now: number): void {
    const last = this.samples[this.samples.length - 1];
    if (last !== undefined && now - last.at < 100) last.bytes += bytes;
    else this.samples.push({ at: now, bytes });
    while (this.samples.length > 0 && now - (this.samples[0] as { at: number }).at > this.window) this.samples.shift();
  }

  /** Bytes per second, or null before anything was measured. */
  rate(now: number): number | null {
    while (this.samples.length > 0 && now - (this.samples[0] as { at: number }).at > this.window) this.samples.shift();
    const span = Math.min(this.window, now - this.started);
    if (span <= 0) return null;
    let bytes = 0;
    for (const sample of this.samples) bytes += sample.bytes;
    return (bytes * 1000) / span;
  }
}

/** `1.2 MiB/s`, or `-- B/s` when unknown. */
export function formatRate(bytesPerSecond: number | null): string {
  return bytesPerSecond === null ? '-- B/s' : `${formatBytes(bytesPerSecond)}/s`;
}

/** `0:07`, `12:34`, `1:02:03`; `--:--` when unknown. */
export function formatEta(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds) || seconds < 0) return '--:--';
  const s = Math.ceil(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

/** One file in flight. */
interface FileState {
  readonly name: string;
  /** Expected bytes of the whole file (resumed part included), or null when the server did not say. */
  readonly total: number | null;
  received: number;
  readonly meter: RateMeter;
}

/** The numbers the views draw, computed in one place (and tested there). */
export class ProgressModel {
  readonly files: number;
  done = 0;
  failed = 0;
  bytes = 0;
  private readonly started: number;
  private readonly meter: RateMeter;
  readonly active = new Map<number, FileState>();

  constructor(files: number, now: number) {
    this.files = files;
    this.started = now;
    this.meter = new RateMeter(now);
  }

  start(id: number, name: string, total: number | null, resumedFrom: number, now: number): void {
    this.active.set(id, { name, total, received: resumedFrom, meter: new RateMeter(now) });
  }

  add(id: number, bytes: number, now: number): void {
    this.bytes += bytes;
    this.meter.add(bytes, now);
    const file = this.active.get(id);
    if (file === undefined) return;
    file.received += bytes;
    file.meter.add(bytes, now);
  }

  finish(id: number, ok: boolean): void {
    this.active.delete(id);
    this.done++;
    if (!ok) this.failed++;
  }

  /** `name  1.2 MiB/3.4 MiB  35%  800.0 KiB/s  ETA 0:03` */
  fileLine(id: number, now: number): string {
    const file = this.active.get(id);
    if (file === undefined) return '';
    const rate = file.meter.rate(now);
    const size = file.total === null ? formatBytes(file.received) : `${formatBytes(file.received)}/${formatBytes(file.total)}`;
    const percent = file.total === null || file.total === 0 ? '' : `  ${Math.floor((100 * file.received) / file.total)}%`;
    const eta = file.total === null || rate === null || rate === 0 ? null : (file.total - file.received) / rate;
    return `${file.name}  ${size}${percent}  ${formatRate(rate)}  ETA ${formatEta(eta)}`;
  }

  /** The share of the work done, by files, counting a file in flight by its bytes. */
  fraction(): number {
    let share = this.done;
    for (const file of this.active.values()) if (file.total !== null && file.total > 0) share += Math.min(1, file.received / file.total);
    return this.files === 0 ? 1 : share / this.files;
  }

  /** `3/10 files  12.3 MiB  1.2 MiB/s  ETA 0:12  1 failed` */
  overallLine(now: number): string {
    const rate = this.meter.rate(now);
    const fraction = this.fraction();
    const elapsed = (now - this.started) / 1000;
    const eta = fraction > 0 && fraction < 1 ? (elapsed * (1 - fraction)) / fraction : fraction >= 1 ? 0 : null;
    return `${this.done}/${this.files} files  ${formatBytes(this.bytes)}  ${formatRate(rate)}  ETA ${formatEta(eta)}${this.failed > 0 ? `  ${this.failed} failed` : ''}`;
  }

  /** Average bytes per second since the start. */
  averageRate(now: number): number | null {
    const elapsed = now - this.started;
    return elapsed <= 0 ? null : (this.bytes * 1000) / elapsed;
  }
}

/** What the download command tells the view. */
export interface ProgressView {
  fileStarted(id: number, name: string, total: number | null, resumedFrom: number): void;
  fileBytes(id: number, bytes: number): void;
  fileDone(id: number, ok: boolean): void;
  stop(): void;
}

/** No terminal, or `--no-progress` / `-s`: nothing is drawn. */
export class SilentView implements ProgressView {
  fileStarted(): void {}
  fileBytes(): void {}
  fileDone(): void {}
  stop(): void {}
}

/** Shared by both drawing views: the model and its clock. */
abstract class ModelView implements ProgressView {
  protected readonly model: ProgressModel;
  protected readonly now: () => number;

  constructor(files: number, now: () => number) {
    this.now = now;
    this.model = new ProgressModel(files, now());
  }

  fileStarted(id: number, name: string, total: number | null, resumedFrom: number): void {
    this.model.start(id, name, total, resumedFrom, this.now());
  }

  fileBytes(id: number, bytes: number): void {
    this.model.add(id, bytes, this.now());
  }

  fileDone(id: number, ok: boolean): void {
    this.model.finish(id, ok);
  }

  abstract stop(): void;
}

/** The `cli-progress` module's shape, as far as it is used here. */
interface CliProgressModule {
  MultiBar: new (
    options: Record<string, unknown>,
  ) => {
    create(total: number, start: number, payload?: Record<string, unknown>, options?: Record<string, unknown>): { update(value: number, payload?: Record<string, unknown>): void };
    remove(bar: unknown): boolean;
    stop(): void;
  };
}

/** Lines drawn by cli-progress's MultiBar: the overall line first, then one per file in flight. */
class MultiBarView extends ModelView {
  private readonly multibar: InstanceType<CliProgressModule['MultiBar']>;
  private readonly overall: { update(value: number, payload?: Record<string, unknown>): void };
  private readonly bars = new Map<number, { update(value: number, payload?: Record<string, unknown>): void }>();

  constructor(module: CliProgressModule, stream: Writable, files: number, now: () => number) {
    super(files, now);
    this.multibar = new module.MultiBar({
      stream,
      // A hidden cursor would stay hidden after Ctrl-C (cli-progress restores it only by taking SIGINT over).
      hideCursor: false,
      clearOnComplete: true,
      autopadding: true,
      // The lines are the model's: cli-progress keeps them in place on the terminal.
      format: (_options: unknown, _params: unknown, payload: { line?: () => string }) => (payload.line === undefined ? '' : payload.line()),
    });
    this.overall = this.multibar.create(files, 0, { line: () => `downloading  ${this.model.overallLine(this.now())}` });
  }

  override fileStarted(id: number, name: string, total: number | null, resumedFrom: number): void {
    super.fileStarted(id, name, total, resumedFrom);
    this.bars.set(id, this.multibar.create(1, 0, { line: () => `  ${this.model.fileLine(id, this.now())}` }));
  }

  override fileBytes(id: number, bytes: number): void {
    super.fileBytes(id, bytes);
    this.bars.get(id)?.update(0);
    this.overall.update(this.model.done);
  }

  override fileDone(id: number, ok: boolean): void {
    super.fileDone(id, ok);
    const bar = this.bars.get(id);
    if (bar !== undefined) this.multibar.remove(bar);
    this.bars.delete(id);
    this.overall.update(this.model.done);
  }

  stop(): void {
    this.multibar.stop();
  }
}

/** Without cli-progress: the overall line and the first file in flight, redrawn in place on one line. */
class LineView extends ModelView {
  private readonly stream: Writable;
  private readonly timer: NodeJS.Timeout;
  private drawn = false;

  constructor(stream: Writable, files: number, now: () => number) {
    super(files, now);
    this.stream = stream;
    this.timer = setInterval(() => this.draw(), 200);
    this.timer.unref();
  }

  draw(): void {
    const now = this.now();
    const first = this.model.active.keys().next();
    const file = first.done === true ? '' : ` | ${this.model.fileLine(first.value, now)}`;
    const columns = (this.stream as Writable & { columns?: number }).columns ?? 100;
    this.stream.write(`\r\x1b[K${`${this.model.overallLine(now)}${file}`.slice(0, Math.max(20, columns - 1))}`);
    this.drawn = true;
  }

  stop(): void {
    clearInterval(this.timer);
    if (this.drawn) this.stream.write('\r\x1b[K');
  }
}

/** Loads cli-progress if it is installed; null otherwise. */
async function loadCliProgress(): Promise<CliProgressModule | null> {
  try {
    const loaded = (await import('cli-progress')) as unknown as CliProgressModule & { default?: CliProgressModule };
    return typeof loaded.MultiBar === 'function' ? loaded : (loaded.default ?? null);
  } catch {
    return null;
  }
}

/** The view for a run: bars on a terminal (cli-progress, else one status line), nothing elsewhere. */
export async function progressView(stream: Writable, show: boolean, files: number, now: () => number = () => performance.now()): Promise<ProgressView> {
  if (!show) return new SilentView();
  const module = await loadCliProgress();
  return module === null ? new LineView(stream, files, now) : new MultiBarView(module, stream, files, now);
}
