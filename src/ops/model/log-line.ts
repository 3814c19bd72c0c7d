/**
 * Events read back from a replica's pino JSON log. A line is an event when it has
 * an `event` field; everything that is not pino's own bookkeeping or one of the
 * event's named fields becomes a detail.
 */
import type { ClusterEventView } from '../../client/api.js';

/** Fields that are not details: pino's own, and the ones the event view names. */
const RESERVED = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'event', 'replica', 'epoch', 'v']);

/**
 * The event on one log line, or undefined for anything else (not JSON, no `event`).
 * `seq` numbers the events of one file; `fallbackReplica` names the replica when the
 * line does not (e.g. the log file's name).
 */
export function parseLogLine(line: string, seq: number, fallbackReplica: string): ClusterEventView | undefined {
  const text = line.trim();
  if (!text.startsWith('{')) return undefined;
  let record: unknown;
  try {
    record = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof record !== 'object' || record === null || Array.isArray(record)) return undefined;
  const r = record as Record<string, unknown>;
  if (typeof r.event !== 'string' || r.event === '') return undefined;
  const details: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(r)) if (!RESERVED.has(k)) details[k] = v;
  const time = typeof r.time === 'number' ? r.time : typeof r.time === 'string' ? Date.parse(r.time) : NaN;
  const epoch = typeof r.epoch === 'number' ? r.epoch : Number(r.epoch ?? 0);
  return {
    seq,
    timeMs: Number.isFinite(time) ? time : 0,
    replicaId: typeof r.replica === 'string' && r.replica !== '' ? r.replica : fallbackReplica,
    kind: r.event,
    epoch: Number.isFinite(epoch) ? epoch : 0,
    message: typeof r.msg === 'string' ? r.msg : '',
    details,
  };
}

/** Collects complete lines from chunks of a growing file; a trailing partial line waits for the rest. */
export class LineSplitter {
  private partial = '';

  push(chunk: string): string[] {
    const text = this.partial + chunk;
    const lines = text.split('\n');
    this.partial = lines.pop() ?? '';
    return lines.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l)).filter((l) => l !== '');
  }

  reset(): void {
    this.partial = '';
  }
}

export interface TailPosition {
  /** The file's identity (inode) when it was last read; undefined before the first read. */
  ino: number | undefined;
  /** Bytes consumed so far. */
  offset: number;
}

export type ReadPlan =
  { action: 'none' } | { action: 'read'; from: number; to: number; restart: boolean; reason?: 'rotated' | 'truncated' };

/**
 * What to read after a change: from the last offset to the end, or from the start when
 * the file was replaced (another inode: rotation), shrank (truncation), or no longer
 * holds the bytes last read before the offset (truncated and written again past the
 * old size between two looks: `tailMatches` false).
 */
export function planRead(pos: TailPosition, file: { ino: number; size: number }, tailMatches = true): ReadPlan {
  if (pos.ino !== undefined && pos.ino !== file.ino) {
    return { action: 'read', from: 0, to: file.size, restart: true, reason: 'rotated' };
  }
  if (file.size < pos.offset || !tailMatches)
    return { action: 'read', from: 0, to: file.size, restart: true, reason: 'truncated' };
  if (file.size === pos.offset) return { action: 'none' };
  return { action: 'read', from: pos.offset, to: file.size, restart: false };
}
