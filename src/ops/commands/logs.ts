/**
 * `chat-ops logs`: the merged events of every replica (or log file) as readable
 * lines, history first, then (with --follow) live.
 */
import type { ClusterApi, ClusterEventView } from '../../client/api.js';
import { logLine } from '../model/event-format.js';
import { compareEvents, EventStore } from '../model/events.js';
import { matchesFilter, splitList, type EventFilter } from '../model/filter.js';
import { EXIT_OK, EXIT_UNHEALTHY } from '../model/health.js';
import type { EventSource, SourceState } from '../sources/event-source.js';
import { LogFileEventSource, LogFileReader } from '../sources/log-files.js';
import { RpcEventSource } from '../sources/rpc-events.js';
import type { CommandIo } from './io.js';

export interface LogsOptions {
  follow?: boolean;
  replica?: string[];
  kind?: string[];
  logFile?: string[];
  /** One JSON object per event and line (for jq and log shippers) instead of the readable line. */
  json?: boolean;
}

/** --replica A,B --replica C and --kind election,isr as one filter. */
export function logsFilter(o: Pick<LogsOptions, 'replica' | 'kind'>): EventFilter {
  return { replicas: (o.replica ?? []).flatMap(splitList), kinds: (o.kind ?? []).flatMap(splitList), words: [] };
}

/** How long the history of the event streams is awaited: until quiet this long, but at least / at most. */
const SETTLE = { quietMs: 400, minMs: 600, maxMs: 5000 };
/** Live events are printed in batches this often, sorted, so replicas interleave in time order. */
const FLUSH_MS = 200;

/** An event as one line of JSON: its time as ISO 8601 too, and its details as an object. */
export function jsonLine(e: ClusterEventView): string {
  return JSON.stringify({
    time: new Date(e.timeMs).toISOString(),
    timeMs: e.timeMs,
    replica: e.replicaId,
    kind: e.kind,
    epoch: e.epoch,
    message: e.message,
    details: e.details,
    seq: e.seq,
  });
}

function printer(io: CommandIo, filter: EventFilter, json: boolean) {
  return (events: Iterable<ClusterEventView>) => {
    const lines: string[] = [];
    for (const e of events) if (matchesFilter(e, filter)) lines.push(json ? jsonLine(e) : logLine(e));
    if (lines.length > 0) io.out(`${lines.join('\n')}\n`);
  };
}

/** Reads each log file once; files that cannot be read are reported. */
async function readFilesOnce(
  paths: readonly string[],
  io: CommandIo,
): Promise<{ events: ClusterEventView[]; failed: number }> {
  const events: ClusterEventView[] = [];
  let failed = 0;
  for (const path of paths) {
    try {
      events.push(...(await new LogFileReader(path).readMore()).events);
    } catch (err) {
      failed++;
      const code = (err as NodeJS.ErrnoException).code;
      io.err(`chat-ops: cannot read ${path}: ${code === 'ENOENT' ? 'no such file' : (err as Error).message}\n`);
    }
  }
  return { events, failed };
}

/** Starts a source and resolves with the history once it has settled (see SETTLE), leaving the source running. */
function collectHistory(source: EventSource, store: EventStore, onLive: (e: ClusterEventView[]) => void) {
  const states = new Map<string, SourceState>();
  let settled = false;
  let lastActivity = Date.now();
  const started = lastActivity;
  const stop = source.start({
    onEvents: (events) => {
      lastActivity = Date.now();
      if (settled) onLive(events);
      else store.addAll(events);
    },
    onSourceState: (name, state) => {
      lastActivity = Date.now();
      states.set(name, state);
    },
  });
  const history = new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const now = Date.now();
      if ((now - started >= SETTLE.minMs && now - lastActivity >= SETTLE.quietMs) || now - started >= SETTLE.maxMs) {
        clearInterval(timer);
        settled = true;
        resolve();
      }
    }, 50);
  });
  return { history, stop, states };
}

export async function runLogs(cluster: ClusterApi | undefined, io: CommandIo, o: LogsOptions): Promise<number> {
  const filter = logsFilter(o);
  const print = printer(io, filter, o.json === true);
  const files = o.logFile ?? [];

  if (files.length > 0 && !o.follow) {
    const { events, failed } = await readFilesOnce(files, io);
    const store = new EventStore(Number.MAX_SAFE_INTEGER);
    store.addAll(events);
    print(store.all());
    return failed > 0 ? EXIT_UNHEALTHY : EXIT_OK;
  }

  const source: EventSource =
    files.length > 0 ? new LogFileEventSource(files, { follow: true }) : new RpcEventSource(cluster!);
  const store = new EventStore(100_000);
  let pending: ClusterEventView[] = [];
  const { history, stop, states } = collectHistory(source, store, (events) => {
    for (const e of events) if (store.add(e)) pending.push(e);
  });
  await history;
  print(store.all());
  const down = [...states.entries()].filter(([, s]) => !s.up);
  for (const [name, s] of down)
    io.err(`chat-ops: ${name}: ${s.detail ?? 'unavailable'}${o.follow ? ' (still trying)' : ''}\n`);
  const nothing = store.size === 0 && states.size > 0 && down.length === states.size;

  if (!o.follow) {
    stop();
    return nothing ? EXIT_UNHEALTHY : EXIT_OK;
  }
  // Follow until interrupted.
  setInterval(() => {
    if (pending.length === 0) return;
    const batch = pending.sort(compareEvents);
    pending = [];
    print(batch);
  }, FLUSH_MS);
  return new Promise<number>(() => undefined);
}
