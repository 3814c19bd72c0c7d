/**
 * Which events to show: by replica, by kind (exact name or dotted prefix), and
 * by a typed query. Shared by the dashboard (`r`, `k`, `/`) and `chat-ops logs`.
 */
import type { ClusterEventView } from '../../client/api.js';
import { formatDetails } from './event-format.js';

/**
 * True when `kind` matches `pattern`: the exact name (`election.won`), a dotted
 * prefix (`election` matches `election.won` and `election.started`, but `replica`
 * does not match `replication.batch`), or a raw prefix ending in `*` (`elect*`).
 * Case-insensitive.
 */
export function kindMatches(kind: string, pattern: string): boolean {
  const k = kind.toLowerCase();
  const p = pattern.trim().toLowerCase();
  if (p === '' || p === '*') return true;
  if (p.endsWith('*')) return k.startsWith(p.slice(0, -1));
  const stem = p.endsWith('.') ? p.slice(0, -1) : p;
  return k === stem || k.startsWith(`${stem}.`);
}

/** Splits "A,B" / "election, isr" into trimmed non-empty parts. */
export function splitList(value: string | undefined): string[] {
  if (!value) return [];
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

export interface EventFilter {
  /** Replica ids to keep (any of them); empty keeps all. */
  replicas: string[];
  /** Kind patterns to keep (any of them, see kindMatches); empty keeps all. */
  kinds: string[];
  /** Words that must all appear in the event's text (kind, replica, message, details); case-insensitive. */
  words: string[];
  /** Left out: events of these replicas, of these kinds, or containing any of these words. */
  notReplicas?: string[];
  notKinds?: string[];
  notWords?: string[];
}

export const NO_FILTER: EventFilter = { replicas: [], kinds: [], words: [] };

export function isEmptyFilter(f: EventFilter): boolean {
  return [f.replicas, f.kinds, f.words, f.notReplicas ?? [], f.notKinds ?? [], f.notWords ?? []].every(
    (l) => l.length === 0,
  );
}

/**
 * Parses a typed filter: `replica:B` (or `r:B`), `kind:isr` (or `k:isr`), and
 * free words, e.g. `r:A k:election forced`. Lists work too: `r:A,B`. A leading
 * `-` leaves things out: `-k:replication`, `-r:C`, `-heartbeat`.
 */
export function parseFilterQuery(text: string): EventFilter {
  const filter: Required<EventFilter> = {
    replicas: [],
    kinds: [],
    words: [],
    notReplicas: [],
    notKinds: [],
    notWords: [],
  };
  for (const raw of text.trim().split(/\s+/)) {
    const negated = raw.length > 1 && raw.startsWith('-');
    const token = negated ? raw.slice(1) : raw;
    if (token === '') continue;
    const m = /^(replica|r|kind|k)[:=](.*)$/i.exec(token);
    if (m) {
      const values = splitList(m[2]);
      if (m[1]!.toLowerCase().startsWith('r')) (negated ? filter.notReplicas : filter.replicas).push(...values);
      else (negated ? filter.notKinds : filter.kinds).push(...values);
    } else {
      (negated ? filter.notWords : filter.words).push(token.toLowerCase());
    }
  }
  return filter;
}

function sameReplica(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

export function matchesFilter(e: ClusterEventView, f: EventFilter): boolean {
  if (f.replicas.length > 0 && !f.replicas.some((r) => sameReplica(r, e.replicaId))) return false;
  if (f.notReplicas?.some((r) => sameReplica(r, e.replicaId))) return false;
  if (f.kinds.length > 0 && !f.kinds.some((k) => kindMatches(e.kind, k))) return false;
  if (f.notKinds?.some((k) => kindMatches(e.kind, k))) return false;
  if (f.words.length > 0 || (f.notWords?.length ?? 0) > 0) {
    const text = `${e.kind} ${e.replicaId} e${e.epoch} ${e.message} ${formatDetails(e.details)}`.toLowerCase();
    if (!f.words.every((w) => text.includes(w))) return false;
    if (f.notWords?.some((w) => text.includes(w))) return false;
  }
  return true;
}

/** The events passing every filter, in their order. */
export function applyFilters(
  events: readonly ClusterEventView[],
  filters: readonly EventFilter[],
): readonly ClusterEventView[] {
  const active = filters.filter((f) => !isEmptyFilter(f));
  if (active.length === 0) return events;
  return events.filter((e) => active.every((f) => matchesFilter(e, f)));
}

/** The next value of a cycle through `values` that starts and ends at "all" (undefined). */
export function cycle<T>(values: readonly T[], current: T | undefined): T | undefined {
  if (values.length === 0) return undefined;
  if (current === undefined) return values[0];
  const i = values.indexOf(current);
  return i < 0 || i === values.length - 1 ? undefined : values[i + 1];
}

/** The order kind groups are offered in by `k`; groups seen but not listed follow alphabetically. */
const GROUP_ORDER = [
  'election',
  'leader',
  'isr',
  'replica',
  'catchup',
  'snapshot',
  'log',
  'recovery',
  'safety',
  'operator',
  'replication',
  'server',
];

/** The kind groups (the part before the first dot) of the kinds seen, in a stable useful order. */
export function kindGroups(kinds: Iterable<string>): string[] {
  const groups = new Set<string>();
  for (const k of kinds) groups.add(k.split('.')[0]!);
  const known = GROUP_ORDER.filter((g) => groups.has(g));
  const rest = [...groups].filter((g) => !GROUP_ORDER.includes(g)).sort();
  return [...known, ...rest];
}
