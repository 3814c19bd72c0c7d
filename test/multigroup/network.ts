/**
 * The simulated network between every replica of every group: packets are
 * dropped, duplicated and delayed by a random amount (so they overtake each
 * other), links can be cut one way, and what is due comes out in time order.
 * Addresses are "group/replica".
 */
import type { Rng } from '../../src/server/replication/rng.js';

export interface Packet<T> {
  at: number;
  seq: number;
  from: string;
  to: string;
  body: T;
}

export interface LinkFaults {
  dropRate: number;
  duplicateRate: number;
  maxDelayMs: number;
}

/** A binary min-heap of packets by (due time, send order): deterministic for a seed. */
class PacketHeap<T> {
  private readonly items: Packet<T>[] = [];

  get size(): number {
    return this.items.length;
  }

  peek(): Packet<T> | undefined {
    return this.items[0];
  }

  push(p: Packet<T>): void {
    const a = this.items;
    a.push(p);
    let i = a.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(a[i]!, a[parent]!)) break;
      [a[i], a[parent]] = [a[parent]!, a[i]!];
      i = parent;
    }
  }

  /** Removes every packet for which `drop` holds; returns how many. */
  remove(drop: (p: Packet<T>) => boolean): number {
    const keep = this.items.filter((p) => !drop(p));
    const removed = this.items.length - keep.length;
    this.items.length = 0;
    for (const p of keep) this.push(p);
    return removed;
  }

  pop(): Packet<T> | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && before(a[l]!, a[m]!)) m = l;
        if (r < a.length && before(a[r]!, a[m]!)) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top;
  }
}

function before<T>(a: Packet<T>, b: Packet<T>): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

export class SimNetwork<T> {
  private readonly queue = new PacketHeap<T>();
  private seq = 0;
  /** Cut links by address prefix, each until it heals: ["G1/", "G2/"] cuts every packet from group G1 to group G2. */
  private readonly cut: { from: string; to: string; until: number }[] = [];
  sent = 0;
  dropped = 0;
  duplicated = 0;

  constructor(
    private readonly rng: Rng,
    public faults: LinkFaults,
  ) {}

  /** Queues a packet unless the link is cut or it is lost; returns whether at least one copy is on its way. */
  send(from: string, to: string, body: T, now: number): boolean {
    this.sent++;
    if (this.isCut(from, to, now) || this.rng.chance(this.faults.dropRate)) {
      this.dropped++;
      return false;
    }
    const copies = this.rng.chance(this.faults.duplicateRate) ? 2 : 1;
    if (copies === 2) this.duplicated++;
    for (let i = 0; i < copies; i++)
      this.queue.push({ at: now + 1 + this.rng.int(0, this.faults.maxDelayMs), seq: this.seq++, from, to, body });
    return true;
  }

  /** The time of the next packet due, or +Infinity. */
  nextAt(): number {
    return this.queue.peek()?.at ?? Number.POSITIVE_INFINITY;
  }

  /** Removes and returns the next packet due at or before `now` (in due order), if any. */
  takeDue(now: number): Packet<T> | undefined {
    const top = this.queue.peek();
    return top && top.at <= now ? this.queue.pop() : undefined;
  }

  /** Loses every packet `from` sent that has not arrived yet: its machine went down with them. */
  loseInFlightFrom(from: string): number {
    const n = this.queue.remove((p) => p.from === from);
    this.dropped += n;
    return n;
  }

  /** Cuts the links from every address starting with `fromPrefix` to every address starting with `toPrefix`, until `until`. */
  cutLink(fromPrefix: string, toPrefix: string, until: number): void {
    this.cut.push({ from: fromPrefix, to: toPrefix, until });
  }

  healAll(): void {
    this.cut.length = 0;
  }

  /** Whether a cut matching `prefix` on either end is still in force. */
  isCutting(prefix: string, now: number): boolean {
    return this.cut.some((c) => c.until > now && (c.from.startsWith(prefix) || c.to.startsWith(prefix)));
  }

  private isCut(from: string, to: string, now: number): boolean {
    for (let i = this.cut.length - 1; i >= 0; i--) {
      const c = this.cut[i]!;
      if (c.until <= now) this.cut.splice(i, 1);
      else if (from.startsWith(c.from) && to.startsWith(c.to)) return true;
    }
    return false;
  }
}
