/**
 * Events from local pino JSON log files, for when there is no network path to the
 * replicas. Each file is read from the start; with `follow`, appended lines are
 * picked up as they come (fs.watch on the directory, plus a slow poll because
 * fs.watch misses changes on some file systems), and a truncated or replaced
 * (rotated) file is read again from its start.
 */
import { watch, type FSWatcher } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { basename, dirname, extname } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import type { ClusterEventView } from '../../client/api.js';
import { LineSplitter, parseLogLine, planRead, type TailPosition } from '../model/log-line.js';
import type { EventSink, EventSource } from './event-source.js';

const CHUNK = 1 << 20;
/** How many of the last bytes read are compared to notice a file rewritten past its old size. */
const FINGERPRINT = 64;

/** The replica a log file belongs to when its lines do not say: `A.log` → `A`. */
export function replicaFromPath(path: string): string {
  return basename(path, extname(path)) || path;
}

/** Reads one log file incrementally; every call to `readMore` returns the events appended since the last. */
export class LogFileReader {
  private position: TailPosition = { ino: undefined, offset: 0 };
  private readonly splitter = new LineSplitter();
  private decoder = new StringDecoder('utf8');
  private seq = 0;
  /** The last bytes consumed, ending at the offset. */
  private fingerprint = Buffer.alloc(0);
  private readonly fallbackReplica: string;

  constructor(readonly path: string) {
    this.fallbackReplica = replicaFromPath(path);
  }

  /** The new events, and whether the file was restarted (rotated/truncated). Rejects when the file cannot be read. */
  async readMore(): Promise<{ events: ClusterEventView[]; restarted?: 'rotated' | 'truncated' }> {
    const info = await stat(this.path);
    const handle = await open(this.path, 'r');
    try {
      let tailMatches = true;
      if (this.position.ino === info.ino && info.size >= this.position.offset && this.fingerprint.length > 0) {
        const check = Buffer.alloc(this.fingerprint.length);
        const { bytesRead } = await handle.read(check, 0, check.length, this.position.offset - check.length);
        tailMatches = bytesRead === check.length && check.equals(this.fingerprint);
      }
      const plan = planRead(this.position, { ino: info.ino, size: info.size }, tailMatches);
      if (plan.action === 'none') return { events: [] };
      if (plan.restart) {
        this.splitter.reset();
        this.decoder = new StringDecoder('utf8');
        this.fingerprint = Buffer.alloc(0);
      }
      const events: ClusterEventView[] = [];
      let at = plan.from;
      const buffer = Buffer.alloc(Math.min(CHUNK, Math.max(1, plan.to - plan.from)));
      while (at < plan.to) {
        const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, plan.to - at), at);
        if (bytesRead === 0) break;
        at += bytesRead;
        const chunk = buffer.subarray(0, bytesRead);
        this.fingerprint = Buffer.concat([this.fingerprint, chunk]).subarray(-FINGERPRINT);
        for (const line of this.splitter.push(this.decoder.write(chunk))) {
          const e = parseLogLine(line, this.seq + 1, this.fallbackReplica);
          if (e) {
            this.seq++;
            events.push(e);
          }
        }
      }
      this.position = { ino: info.ino, offset: at };
      return plan.reason ? { events, restarted: plan.reason } : { events };
    } finally {
      await handle.close();
    }
  }
}

export interface LogFileSourceOptions {
  /** Keep reading appended lines (default true). */
  follow?: boolean;
  /** Safety-net poll interval while following (ms). */
  pollMs?: number;
}

export class LogFileEventSource implements EventSource {
  readonly label = 'log files';

  constructor(
    private readonly paths: readonly string[],
    private readonly options: LogFileSourceOptions = {},
  ) {}

  start(sink: EventSink): () => void {
    let stopped = false;
    const follow = this.options.follow ?? true;
    const cleanups: (() => void)[] = [];

    for (const path of this.paths) {
      const reader = new LogFileReader(path);
      let reading = false;
      let again = false;
      let lastState = '';
      const report = (up: boolean, detail?: string) => {
        const key = `${up}:${detail ?? ''}`;
        if (key === lastState) return;
        lastState = key;
        sink.onSourceState?.(path, detail === undefined ? { up } : { up, detail });
      };
      const pump = async () => {
        if (stopped) return;
        if (reading) {
          again = true;
          return;
        }
        reading = true;
        try {
          do {
            again = false;
            const { events, restarted } = await reader.readMore();
            if (stopped) return;
            report(true, restarted ? `${restarted}, reading again` : follow ? 'following' : 'read');
            if (events.length > 0) sink.onEvents(events);
          } while (again && !stopped);
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          report(
            false,
            code === 'ENOENT' ? 'missing' : code === 'EACCES' ? 'permission denied' : (err as Error).message,
          );
        } finally {
          reading = false;
        }
      };
      void pump();
      if (!follow) continue;
      let watcher: FSWatcher | undefined;
      try {
        const name = basename(path);
        watcher = watch(dirname(path), { persistent: false }, (_type, file) => {
          if (file === null || file.toString() === name) void pump();
        });
        watcher.on('error', () => undefined);
      } catch {
        // The directory is missing or not watchable: the poll below still works.
      }
      const timer = setInterval(() => void pump(), this.options.pollMs ?? 1000);
      cleanups.push(() => {
        clearInterval(timer);
        watcher?.close();
      });
    }
    return () => {
      stopped = true;
      for (const c of cleanups) c();
    };
  }
}
