/**
 * The state machine of one group in the cross-group delivery protocol
 * (docs/scaling.md, "A message between two groups"): what every replica of a
 * group applies from its committed log.
 *
 * - send: a user of this group sends; applied once per idempotency key. The
 *   sender's copy is stored; a recipient of this group gets the message at
 *   once, a recipient of another group through this group's outbox to that
 *   group, numbered 1, 2, 3 ... per destination group, in the same entry.
 * - receive: a batch relayed from another group's outbox. The inbox keeps,
 *   per source group, the highest outbox number stored; it stores exactly the
 *   next number, skips what it has (a duplicate), and stops at a gap.
 * - delivered: the destination group reported (from its committed state)
 *   that it holds the outbox up to `upTo`; those outbox entries are dropped.
 *
 * Flaws can be switched on to show the checker catches a broken protocol.
 */

/** One chat message; `key` is the sender's idempotency key, "user#n" with n the sender's own count. */
export interface Message {
  key: string;
  from: string;
  to: string;
}

export interface OutboxEntry extends Message {
  seq: number;
}

export interface Outbox {
  /** The last number given out. */
  last: number;
  /** The destination holds everything up to here. */
  delivered: number;
  /** Entries after `delivered`, in order. */
  entries: OutboxEntry[];
}

export interface MailboxState {
  /** Idempotency keys of the sends applied here. */
  keys: Set<string>;
  /** Each user's sent messages (the sender's copy), in order. */
  sent: Map<string, Message[]>;
  /** Each user's received messages (the recipient's copy), in order. */
  received: Map<string, Message[]>;
  /** By destination group. */
  outbox: Map<string, Outbox>;
  /** By source group: the highest outbox number stored. */
  inbox: Map<string, number>;
}

export type MailboxOp =
  | { t: 'send'; key: string; from: string; to: string }
  | { t: 'receive'; src: string; entries: OutboxEntry[] }
  | { t: 'delivered'; dest: string; upTo: number };

export type MailboxResult =
  /** `fresh`: false for a retry of a send applied before. */
  | { t: 'sent'; key: string; to: string; fresh: boolean }
  /** `stored`: the keys this batch added to the inbox. */
  | { t: 'received'; src: string; high: number; stored: string[] }
  | { t: 'delivered'; dest: string; upTo: number }
  | { t: 'refused'; reason: string };

/** Deliberate bugs, each of which the checker must catch. */
export type Flaw =
  /** The inbox stores whatever arrives, duplicates included. */
  | 'inbox-without-dedup'
  /** The recipient's leader acknowledges a batch when it proposes it, before it is committed. */
  | 'ack-before-commit'
  /** The sender's relay marks a batch delivered as soon as it sends it, without waiting for the acknowledgement. */
  | 'delivered-on-send';

const enc = new TextEncoder();
const dec = new TextDecoder();

export function encodeOp(op: MailboxOp): Uint8Array {
  return enc.encode(JSON.stringify(op));
}

/** Every replica applies the same entry object: decode it once. Ops are never changed after decoding. */
const decoded = new WeakMap<Uint8Array, MailboxOp>();

export function decodeOp(data: Uint8Array): MailboxOp {
  let op = decoded.get(data);
  if (!op) decoded.set(data, (op = JSON.parse(dec.decode(data)) as MailboxOp));
  return op;
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

export class MailboxMachine {
  constructor(
    /** This group's name. */
    readonly group: string,
    /** The directory: each user's group. */
    private readonly home: (user: string) => string,
    private readonly flaw?: Flaw,
  ) {}

  initial(): MailboxState {
    return { keys: new Set(), sent: new Map(), received: new Map(), outbox: new Map(), inbox: new Map() };
  }

  clone(s: MailboxState): MailboxState {
    return structuredClone(s);
  }

  apply(s: MailboxState, data: Uint8Array): MailboxResult {
    const op = decodeOp(data);
    switch (op.t) {
      case 'send':
        return this.send(s, op);
      case 'receive':
        return this.receive(s, op.src, op.entries);
      case 'delivered': {
        const box = s.outbox.get(op.dest);
        if (!box || op.upTo > box.last) return { t: 'refused', reason: `delivered ${op.upTo} to ${op.dest}, beyond the outbox` };
        if (op.upTo > box.delivered) {
          box.delivered = op.upTo;
          box.entries = box.entries.filter((e) => e.seq > op.upTo);
        }
        return { t: 'delivered', dest: op.dest, upTo: box.delivered };
      }
    }
  }

  private send(s: MailboxState, op: Extract<MailboxOp, { t: 'send' }>): MailboxResult {
    if (this.home(op.from) !== this.group) return { t: 'refused', reason: `${op.from} does not live in ${this.group}` };
    if (s.keys.has(op.key)) return { t: 'sent', key: op.key, to: op.to, fresh: false }; // a retry: applied once
    s.keys.add(op.key);
    const message: Message = { key: op.key, from: op.from, to: op.to };
    push(s.sent, op.from, message);
    const dest = this.home(op.to);
    if (dest === this.group) {
      push(s.received, op.to, message);
    } else {
      let box = s.outbox.get(dest);
      if (!box) s.outbox.set(dest, (box = { last: 0, delivered: 0, entries: [] }));
      box.entries.push({ ...message, seq: ++box.last });
    }
    return { t: 'sent', key: op.key, to: op.to, fresh: true };
  }

  private receive(s: MailboxState, src: string, entries: OutboxEntry[]): MailboxResult {
    let high = s.inbox.get(src) ?? 0;
    const stored: string[] = [];
    for (const e of entries) {
      if (this.home(e.to) !== this.group) return { t: 'refused', reason: `${e.to} does not live in ${this.group}` };
      if (this.flaw !== 'inbox-without-dedup') {
        if (e.seq <= high) continue; // a duplicate: stored before
        if (e.seq !== high + 1) break; // a gap: an earlier batch is missing; the relay sends from high + 1 again
      }
      push(s.received, e.to, { key: e.key, from: e.from, to: e.to });
      stored.push(e.key);
      high = Math.max(high, e.seq);
    }
    s.inbox.set(src, high);
    return { t: 'received', src, high, stored };
  }
}

/** The undelivered outbox entries of `state` to `dest` after `after`, at most `max`. */
export function pendingOutbox(state: MailboxState, dest: string, after: number, max: number): OutboxEntry[] {
  const box = state.outbox.get(dest);
  if (!box) return [];
  const out: OutboxEntry[] = [];
  for (const e of box.entries) {
    if (e.seq <= after) continue;
    out.push(e);
    if (out.length >= max) break;
  }
  return out;
}
