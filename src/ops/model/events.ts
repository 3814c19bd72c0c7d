/**
 * The merged event timeline: events from every replica (or log file), in time
 * order, each kept once. Events arrive per replica in sequence order but the
 * replicas interleave arbitrarily, and a reconnecting watch replays history, so
 * inserts are sorted and duplicates dropped.
 */
import type { ClusterEventView } from '../../client/api.js';

/** The position of an event in the timeline: time, then replica, then sequence. */
export interface EventPosition {
  timeMs: number;
  replicaId: string;
  seq: number;
}

export function compareEvents(a: EventPosition, b: EventPosition): number {
  if (a.timeMs !== b.timeMs) return a.timeMs - b.timeMs;
  if (a.replicaId !== b.replicaId) return a.replicaId < b.replicaId ? -1 : 1;
  return a.seq - b.seq;
}

/**
 * The identity of an event: (replicaId, seq). A replica numbers its events from 1
 * again after a restart, so the event's time is part of the key too; otherwise the
 * first events after a restart would be taken for ones already seen.
 */
export function eventKey(e: EventPosition): string {
  return `${e.replicaId}\u0000${e.seq}\u0000${e.timeMs}`;
}

/** Index of the first element of `list` that sorts after `pos` (binary search). */
export function upperBound(list: readonly EventPosition[], pos: EventPosition): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareEvents(list[mid]!, pos) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class EventStore {
  private readonly events: ClusterEventView[] = [];
  private readonly keys = new Set<string>();

  /** Keeps at most `capacity` events, dropping the oldest. */
  constructor(readonly capacity = 20_000) {}

  get size(): number {
    return this.events.length;
  }

  /** Adds one event in its place; false when it was already there. */
  add(event: ClusterEventView): boolean {
    const key = eventKey(event);
    if (this.keys.has(key)) return false;
    this.keys.add(key);
    const at = upperBound(this.events, event);
    if (at === this.events.length) this.events.push(event);
    else this.events.splice(at, 0, event);
    while (this.events.length > this.capacity) {
      const dropped = this.events.shift()!;
      this.keys.delete(eventKey(dropped));
    }
    return true;
  }

  /** Adds several; returns how many were new. */
  addAll(events: Iterable<ClusterEventView>): number {
    let added = 0;
    for (const e of events) if (this.add(e)) added++;
    return added;
  }

  /** Every event, oldest first. The array is the store's own: do not change it. */
  all(): readonly ClusterEventView[] {
    return this.events;
  }

  /** The replica ids seen, sorted. */
  replicaIds(): string[] {
    return [...new Set(this.events.map((e) => e.replicaId))].sort();
  }

  /** The distinct kinds seen, sorted. */
  kinds(): string[] {
    return [...new Set(this.events.map((e) => e.kind))].sort();
  }
}
