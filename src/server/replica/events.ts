import type { Logger } from 'pino';

export interface ReplicaEvent {
  seq: number;
  timeMs: number;
  replicaId: string;
  kind: string;
  epoch: number;
  message: string;
  details: Record<string, unknown>;
}

const WARN_KINDS = new Set([
  'election.forced',
  'log.quarantined',
  'safety.violation',
  'recovery.waiting',
  'leader.stepped_down',
  'isr.shrink',
]);

/**
 * Replication events: each is logged through pino with a stable `event` field
 * and kept in a bounded history that the WatchEvents RPC serves and tails.
 */
export class EventBus {
  private readonly history: ReplicaEvent[] = [];
  private readonly listeners = new Set<(e: ReplicaEvent) => void>();
  /**
   * Sequence numbers start from the clock (in microseconds) rather than at 1, so they keep growing
   * across restarts and a watcher resuming "after seq N" never skips a restarted replica's events.
   */
  private seq = Date.now() * 1000;

  constructor(
    private readonly replicaId: string,
    private readonly logger: Logger,
    private readonly capacity = 2_000,
  ) {}

  emit(kind: string, epoch: number, message: string, details: Record<string, unknown>, now = Date.now()): void {
    const event: ReplicaEvent = {
      seq: ++this.seq,
      timeMs: now,
      replicaId: this.replicaId,
      kind,
      epoch,
      message,
      details,
    };
    this.history.push(event);
    if (this.history.length > this.capacity) this.history.splice(0, this.history.length - this.capacity);
    const level = kind === 'safety.violation' ? 'error' : WARN_KINDS.has(kind) ? 'warn' : 'info';
    this.logger[level]({ ...details, event: kind, replica: this.replicaId, epoch }, message);
    for (const l of this.listeners) l(event);
  }

  /** Events after `afterSeq` still in the history. */
  since(afterSeq: number): ReplicaEvent[] {
    return this.history.filter((e) => e.seq > afterSeq);
  }

  subscribe(listener: (e: ReplicaEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

/**
 * Sums replication batches over a window and reports them as one
 * `replication.batch` event per window, so logs stay readable under load.
 */
export class BatchAggregator {
  private entries = 0;
  private batches = 0;
  private bytes = 0;
  private committed = 0;
  private windowStart: number;

  constructor(
    private readonly bus: EventBus,
    private readonly windowMs = 1_000,
    now = Date.now(),
  ) {
    this.windowStart = now;
  }

  appended(entries: number, bytes: number): void {
    this.entries += entries;
    this.bytes += bytes;
    this.batches += 1;
  }

  applied(count: number): void {
    this.committed += count;
  }

  /** The writes per second of the last full window. */
  rate = 0;

  flush(now: number, epoch: number, role: string, commitIndex: number): void {
    if (now - this.windowStart < this.windowMs) return;
    const seconds = (now - this.windowStart) / 1000;
    this.rate = this.committed / seconds;
    if (this.batches > 0 || this.committed > 0) {
      this.bus.emit(
        'replication.batch',
        epoch,
        `${role} appended ${this.entries} entries in ${this.batches} batches, applied ${this.committed} in ${seconds.toFixed(1)} s`,
        {
          entries: this.entries,
          batches: this.batches,
          bytes: this.bytes,
          applied: this.committed,
          perSecond: Math.round(this.rate),
          avgBatch: this.batches > 0 ? Math.round((this.entries / this.batches) * 10) / 10 : 0,
          commitIndex,
          role,
        },
        now,
      );
    }
    this.entries = 0;
    this.batches = 0;
    this.bytes = 0;
    this.committed = 0;
    this.windowStart = now;
  }
}
