/**
 * The state machine of one group in the cross-group delivery protocol
 * (docs/scaling.md): what every replica of a group applies from its committed
 * log. Deterministic: it reads nothing but its state and the op.
 *
 * Accounts live in slots (here each user is a slot of its own) and a group
 * owns some slots. Messages to a slot another group owns flow in streams, one
 * per (source group, destination slot): the unit that is numbered, ordered
 * and deduplicated, so that it can follow its slot when the slot moves.
 *
 * - send: a user of an owned slot sends; applied once per idempotency key.
 *   The sender's copy is stored; a recipient in an owned slot gets the
 *   message at once, any other through the outbox of the recipient's slot,
 *   numbered 1, 2, 3 ... per slot, in the same entry.
 * - receive: a batch relayed from another group's outboxes. The inbox keeps,
 *   per stream, the highest number stored; it stores exactly the next
 *   number, skips what it has (a duplicate) and stops at a gap. Streams to
 *   slots it does not own are refused ("moved").
 * - delivered: the destination reported (from its committed state) that it
 *   holds streams up to some numbers; those outbox entries are dropped.
 * - freeze, handoff, import, release: moving a slot to another group (see
 *   the controller in cross-group-sim.ts).
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

/** What a slot's move carries from one group to the next. */
export interface SlotData {
  sent: [string, Message[]][];
  received: [string, Message[]][];
  keys: string[];
  /** Every stream into the slot: source group → highest number stored. */
  highs: Record<string, number>;
}

export interface MailboxState {
  /** Slots whose accounts this group holds and serves. */
  owns: Set<string>;
  /** Owned slots being moved away: their users cannot send. */
  frozen: Set<string>;
  /** Slots handed off, kept until the new group has imported them. */
  departed: Map<string, SlotData>;
  /** Idempotency keys of the sends applied here. */
  keys: Set<string>;
  /** Each user's sent messages (the sender's copy), in order. */
  sent: Map<string, Message[]>;
  /** Each user's received messages (the recipient's copy), in order. */
  received: Map<string, Message[]>;
  /** By destination slot. */
  outbox: Map<string, Outbox>;
  /** By stream (inboxKey of source group and slot): the highest number stored. */
  inbox: Map<string, number>;
}

/** Part of one stream: its slot and entries in order. */
export interface StreamBatch {
  slot: string;
  entries: OutboxEntry[];
}

export type MailboxOp =
  | { t: 'send'; key: string; from: string; to: string }
  | { t: 'receive'; src: string; streams: StreamBatch[] }
  | { t: 'delivered'; upTo: Record<string, number> }
  | { t: 'freeze'; slot: string }
  | { t: 'handoff'; slot: string }
  | { t: 'import'; slot: string; data: SlotData }
  | { t: 'release'; slot: string };

export type MailboxResult =
  /** `fresh`: false for a retry of a send applied before. */
  | { t: 'sent'; key: string; to: string; fresh: boolean }
  /** `highs`: each owned stream's number after the batch, by slot; `moved`: slots not owned here; `stored`: the keys added. */
  | { t: 'received'; src: string; highs: Record<string, number>; moved: string[]; stored: string[] }
  | { t: 'delivered'; upTo: Record<string, number> }
  /** A send by a user whose slot is not (or no longer, or for now not) served here. */
  | { t: 'moved' }
  | { t: 'moving'; slot: string }
  | { t: 'refused'; reason: string };

/** Deliberate bugs, each of which the checker must catch. */
export type Flaw =
  /** The inbox stores whatever arrives, duplicates included. */
  | 'inbox-without-dedup'
  /** The recipient's leader acknowledges a batch when it proposes it, before it is committed. */
  | 'ack-before-commit'
  /** The sender's relay marks a batch delivered as soon as it sends it, without waiting for the acknowledgement. */
  | 'delivered-on-send'
  /** A slot is handed off without waiting for its users' messages in the outbox to be delivered. */
  | 'move-without-drain'
  /** A slot's import does not carry the streams' numbers. */
  | 'move-without-highs';

/** The inbox key of the stream from `src` to `slot`. */
export function inboxKey(src: string, slot: string): string {
  return `${src}>${slot}`;
}

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
    /** The slots this group owns at the start. */
    private readonly initialSlots: readonly string[],
    /** The slot of each user. */
    private readonly slotOf: (user: string) => string,
    private readonly flaw?: Flaw,
  ) {}

  initial(): MailboxState {
    return {
      owns: new Set(this.initialSlots),
      frozen: new Set(),
      departed: new Map(),
      keys: new Set(),
      sent: new Map(),
      received: new Map(),
      outbox: new Map(),
      inbox: new Map(),
    };
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
        return this.receive(s, op.src, op.streams);
      case 'delivered':
        for (const [slot, upTo] of Object.entries(op.upTo)) {
          const box = s.outbox.get(slot);
          if (!box || upTo > box.last)
            return { t: 'refused', reason: `delivered ${upTo} to slot ${slot}, beyond its outbox` };
          if (upTo > box.delivered) {
            box.delivered = upTo;
            box.entries = box.entries.filter((e) => e.seq > upTo);
          }
        }
        return { t: 'delivered', upTo: op.upTo };
      case 'freeze':
        if (s.owns.has(op.slot)) s.frozen.add(op.slot);
        return { t: 'moving', slot: op.slot };
      case 'handoff':
        this.handoff(s, op.slot);
        return { t: 'moving', slot: op.slot };
      case 'import':
        this.import(s, op.slot, op.data);
        return { t: 'moving', slot: op.slot };
      case 'release':
        if (!s.owns.has(op.slot)) s.departed.delete(op.slot);
        return { t: 'moving', slot: op.slot };
    }
  }

  private send(s: MailboxState, op: Extract<MailboxOp, { t: 'send' }>): MailboxResult {
    const own = this.slotOf(op.from);
    if (!s.owns.has(own) || s.frozen.has(own)) return { t: 'moved' };
    if (s.keys.has(op.key)) return { t: 'sent', key: op.key, to: op.to, fresh: false }; // a retry: applied once
    s.keys.add(op.key);
    const message: Message = { key: op.key, from: op.from, to: op.to };
    push(s.sent, op.from, message);
    const slot = this.slotOf(op.to);
    if (s.owns.has(slot)) {
      push(s.received, op.to, message);
    } else {
      let box = s.outbox.get(slot);
      if (!box) s.outbox.set(slot, (box = { last: 0, delivered: 0, entries: [] }));
      box.entries.push({ ...message, seq: ++box.last });
    }
    return { t: 'sent', key: op.key, to: op.to, fresh: true };
  }

  private receive(s: MailboxState, src: string, streams: StreamBatch[]): MailboxResult {
    const highs: Record<string, number> = {};
    const stored: string[] = [];
    const { moved, owned } = inboxStanding(s, src, streams);
    for (const { slot, entries, high: before } of owned) {
      let high = before;
      for (const e of entries) {
        if (this.slotOf(e.to) !== slot) return { t: 'refused', reason: `${e.to} is not in slot ${slot}` };
        if (this.flaw !== 'inbox-without-dedup') {
          if (e.seq <= high) continue; // a duplicate: stored before
          if (e.seq !== high + 1) break; // a gap: an earlier batch is missing; the relay sends from high + 1 again
        }
        push(s.received, e.to, { key: e.key, from: e.from, to: e.to });
        stored.push(e.key);
        high = Math.max(high, e.seq);
      }
      s.inbox.set(inboxKey(src, slot), high);
      highs[slot] = high;
    }
    return { t: 'received', src, highs, moved, stored };
  }

  /** The slot leaves: its accounts' data is set aside for the importing group, and its streams' numbers with it. */
  private handoff(s: MailboxState, slot: string): void {
    if (!s.owns.has(slot)) return;
    s.owns.delete(slot);
    s.frozen.delete(slot);
    // This group's own messages to the slot were delivered in place; from now on they form a stream like any other's.
    s.inbox.set(inboxKey(this.group, slot), s.outbox.get(slot)?.last ?? 0);
    const inSlot = <V>(m: Map<string, V>) => [...m].filter(([user]) => this.slotOf(user) === slot);
    const highs: Record<string, number> = {};
    for (const [key, high] of s.inbox) {
      const [src, to] = key.split('>') as [string, string];
      if (to === slot) highs[src] = high;
    }
    const data: SlotData = {
      sent: inSlot(s.sent),
      received: inSlot(s.received),
      keys: [...s.keys].filter((k) => this.slotOf(k.split('#')[0]!) === slot),
      highs,
    };
    for (const [user] of data.sent) s.sent.delete(user);
    for (const [user] of data.received) s.received.delete(user);
    for (const k of data.keys) s.keys.delete(k);
    s.departed.set(slot, data);
  }

  /** The slot arrives: its accounts' data, its streams' numbers, and what this group had queued for it is delivered in place. */
  private import(s: MailboxState, slot: string, data: SlotData): void {
    if (s.owns.has(slot)) return; // imported before
    s.owns.add(slot);
    for (const [user, list] of data.sent) s.sent.set(user, structuredClone(list));
    for (const [user, list] of data.received) s.received.set(user, structuredClone(list));
    for (const k of data.keys) s.keys.add(k);
    if (this.flaw !== 'move-without-highs')
      for (const [src, high] of Object.entries(data.highs)) s.inbox.set(inboxKey(src, slot), high);
    const mine = inboxKey(this.group, slot);
    const box = s.outbox.get(slot);
    if (box) {
      const high = s.inbox.get(mine) ?? 0;
      for (const e of box.entries) if (e.seq > high) push(s.received, e.to, { key: e.key, from: e.from, to: e.to });
      box.delivered = box.last;
      box.entries = [];
      s.inbox.set(mine, box.last);
    }
  }
}

/** Where the inbox of `state` stands for each stream of a batch from `src`: slots it does not own, and the others with their numbers. */
export function inboxStanding(
  state: MailboxState,
  src: string,
  streams: readonly StreamBatch[],
): { moved: string[]; owned: (StreamBatch & { high: number })[] } {
  const moved: string[] = [];
  const owned: (StreamBatch & { high: number })[] = [];
  for (const st of streams) {
    if (state.owns.has(st.slot)) owned.push({ ...st, high: state.inbox.get(inboxKey(src, st.slot)) ?? 0 });
    else moved.push(st.slot);
  }
  return { moved, owned };
}

/** The undelivered outbox entries of `state` for `slot` after `after`, at most `max`. */
export function pendingOutbox(state: MailboxState, slot: string, after: number, max: number): OutboxEntry[] {
  const box = state.outbox.get(slot);
  if (!box) return [];
  const out: OutboxEntry[] = [];
  for (const e of box.entries) {
    if (e.seq <= after) continue;
    out.push(e);
    if (out.length >= max) break;
  }
  return out;
}
