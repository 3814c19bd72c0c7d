/**
 * Rows of the dashboard's timeline. Every event is a row, except replication
 * throughput: each replica reports a `replication.batch` event per second, which
 * under load would push everything else off the screen, so a run of them with
 * nothing in between becomes one row per round (at most one event per replica).
 */
import type { ClusterEventView } from '../../client/api.js';
import type { EventPosition } from './events.js';

export const THROUGHPUT_KIND = 'replication.batch';

export interface TimelineRow extends EventPosition {
  /** One event, or a round of throughput events (oldest first); the row sorts at its last one. */
  events: ClusterEventView[];
}

function rowOf(events: ClusterEventView[]): TimelineRow {
  const last = events[events.length - 1]!;
  return { timeMs: last.timeMs, replicaId: last.replicaId, seq: last.seq, events };
}

export function timelineRows(events: readonly ClusterEventView[]): TimelineRow[] {
  const rows: TimelineRow[] = [];
  let round: ClusterEventView[] = [];
  const flush = () => {
    if (round.length > 0) rows.push(rowOf(round));
    round = [];
  };
  for (const e of events) {
    if (e.kind !== THROUGHPUT_KIND) {
      flush();
      rows.push(rowOf([e]));
      continue;
    }
    if (round.some((r) => r.replicaId === e.replicaId)) flush();
    round.push(e);
  }
  flush();
  return rows;
}

function num(details: Record<string, unknown>, key: string): number | undefined {
  const v = details[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/**
 * One round of throughput in a line: entries each replica appended (the leader
 * marked *), the leader's batching, and what was applied per second, e.g.
 * `appended C*:132 A:132 B:128 · leader 33 batches, 4/batch · applied 131/s · commit 1247`.
 */
export function throughputSummary(events: readonly ClusterEventView[]): string {
  const sorted = [...events].sort((a, b) => (a.replicaId < b.replicaId ? -1 : a.replicaId > b.replicaId ? 1 : 0));
  const leader = events.find((e) => e.details.role === 'leader');
  const appended = sorted
    .map((e) => `${e.replicaId}${e === leader ? '*' : ''}:${num(e.details, 'entries') ?? '?'}`)
    .join(' ');
  const parts = [`appended ${appended}`];
  const source = leader ?? sorted[0];
  if (source) {
    const batches = num(source.details, 'batches');
    const avg = num(source.details, 'avgBatch');
    if (batches !== undefined)
      parts.push(`${leader ? 'leader ' : ''}${batches} batches${avg !== undefined ? `, ${avg}/batch` : ''}`);
    const perSecond = num(source.details, 'perSecond');
    if (perSecond !== undefined) parts.push(`applied ${perSecond}/s`);
    const commit = Math.max(...events.map((e) => num(e.details, 'commitIndex') ?? 0));
    if (commit > 0) parts.push(`commit ${commit}`);
  }
  return parts.join(' · ');
}
