/**
 * How one event reads: the dense timeline line of the dashboard and the line
 * `chat-ops logs` prints. Details are `key=value` pairs in the event's order.
 */
import type { ClusterEventView } from '../../client/api.js';
import { clean, formatClock, truncate, width } from './text.js';

/** A value as it reads after `key=`: plain when it has no spaces, JSON otherwise; lists comma-joined. */
export function formatValue(value: unknown): string {
  if (value === null || value === undefined) return '-';
  if (typeof value === 'string') return value === '' || /[\s="]/.test(value) ? JSON.stringify(value) : value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (Array.isArray(value) && value.every((v) => v === null || ['string', 'number', 'boolean'].includes(typeof v))) {
    return value.length === 0
      ? '[]'
      : value.map((v) => (typeof v === 'string' && /[\s,="]/.test(v) ? JSON.stringify(v) : String(v))).join(',');
  }
  return JSON.stringify(value);
}

/** The details worth printing: all but an `epoch` that repeats the event's own. */
export function eventDetails(e: ClusterEventView): string {
  return formatDetails(e.details, e.details.epoch === e.epoch ? ['epoch'] : []);
}

/** `key=value key=value`, skipping `omit`. */
export function formatDetails(details: Record<string, unknown>, omit: readonly string[] = []): string {
  return Object.entries(details)
    .filter(([k]) => !omit.includes(k))
    .map(([k, v]) => `${k}=${clean(formatValue(v))}`)
    .join(' ');
}

export type EventTone = 'danger' | 'warn' | 'election' | 'good' | 'info' | 'quiet';

const TONES: Record<string, EventTone> = {
  'safety.violation': 'danger',
  'log.quarantined': 'danger',
  'snapshot.failed': 'danger',
  'election.forced': 'warn',
  'operator.force_leader': 'warn',
  'isr.shrink': 'warn',
  'replica.left_isr': 'warn',
  'recovery.waiting': 'warn',
  'leader.stepped_down': 'warn',
  'election.won': 'good',
  'leader.reconfirmed': 'good',
  'isr.expand': 'good',
  'catchup.done': 'good',
  'replica.caught_up': 'good',
  'replication.batch': 'quiet',
  'membership.differs': 'warn',
  'membership.learner_added': 'good',
  'membership.promoted': 'good',
  'membership.removed': 'warn',
};

/** How an event is coloured: problems red, degradations yellow, elections magenta, recoveries green, throughput dim. */
export function eventTone(kind: string): EventTone {
  const exact = TONES[kind];
  if (exact) return exact;
  if (kind.startsWith('election.') || kind.startsWith('leader.')) return 'election';
  if (kind.startsWith('server.')) return 'quiet';
  return 'info';
}

/** The width the kind column gets in the timeline (longer kinds push the message right). */
export const KIND_WIDTH = 21;

export interface TimelinePart {
  text: string;
  role: 'time' | 'replica' | 'epoch' | 'kind' | 'message' | 'details';
}

/**
 * One dense timeline line, in parts so the view can colour them, cut to `maxWidth` columns:
 * `14:03:07.123 B e4  election.won        B won the election for epoch 4  inSync=B,C votes=2`
 */
export function timelineParts(e: ClusterEventView, maxWidth: number, replicaWidth = 1): TimelinePart[] {
  const details = eventDetails(e);
  const parts: TimelinePart[] = [
    { text: `${formatClock(e.timeMs)} `, role: 'time' },
    { text: `${e.replicaId.padEnd(replicaWidth)} `, role: 'replica' },
    { text: `e${e.epoch}`.padEnd(4) + ' ', role: 'epoch' },
    { text: `${e.kind.padEnd(KIND_WIDTH - 1)} `, role: 'kind' },
    { text: clean(e.message), role: 'message' },
  ];
  if (details !== '') parts.push({ text: `  ${details}`, role: 'details' });
  return clipParts(parts, maxWidth);
}

/** Cuts a run of parts to `maxWidth` columns in total, truncating the part where the edge falls. */
export function clipParts<P extends { text: string }>(parts: readonly P[], maxWidth: number): P[] {
  const out: P[] = [];
  let room = maxWidth;
  for (const p of parts) {
    if (room <= 0) break;
    const w = width(p.text);
    if (w <= room) {
      out.push(p);
      room -= w;
    } else {
      out.push({ ...p, text: truncate(p.text, room) });
      room = 0;
    }
  }
  return out;
}

/** The line `chat-ops logs` prints: `2024-11-23T08:00:01.234Z B election.won e4 B won the election for epoch 4 inSync=B,C`. */
export function logLine(e: ClusterEventView): string {
  const details = eventDetails(e);
  return `${new Date(e.timeMs).toISOString()} ${e.replicaId} ${e.kind} e${e.epoch} ${clean(e.message)}${details ? ` ${details}` : ''}`;
}
