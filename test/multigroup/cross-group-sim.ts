/**
 * A seeded simulation of several replica groups exchanging messages through
 * the outbox/inbox protocol of docs/scaling.md, in virtual time:
 *
 * - each group is a set of real ReplicaCores (group.ts) applying the
 *   mailbox state machine (mailbox-state.ts);
 * - users live in slots (one user per slot here), slots in groups by a
 *   directory; each user sends one message at a time to a user of any group,
 *   retrying with the same idempotency key until its group's leader
 *   acknowledges it (applied, so committed);
 * - the relay of each group runs on its leader: it sends the committed,
 *   undelivered outbox entries to the leader of the group the directory
 *   names for each slot, which stores them through its log and answers with
 *   its inbox's numbers once that is committed; the relay then commits
 *   "delivered" up to there;
 * - a controller moves slots between groups (slot-mover.ts) and flips the
 *   directory;
 * - replicas crash and restart, whole groups go down, links between groups
 *   are cut, and every packet may be lost, duplicated or overtaken.
 *
 * After the chaos everything comes back on a calm network, and the checker
 * (delivery-check.ts) demands: every committed (so every acknowledged)
 * message stored exactly once on the recipient's side, in each sender's
 * order, nothing stored that was not sent, every outbox drained, every
 * replica of a group equal. A failing seed throws a SimulationFailure that
 * says how to replay it.
 */
import { Rng } from '../../src/server/replication/rng.js';
import type { Entry, NodeId } from '../../src/server/replication/types.js';
import { SimulationFailure } from '../replication/simulator.js';
import { checkDelivery } from './delivery-check.js';
import { ReplicaGroup, type GroupNode, type PeerPacket } from './group.js';
import {
  encodeOp,
  inboxKey,
  inboxStanding,
  MailboxMachine,
  pendingOutbox,
  type Flaw,
  type MailboxResult,
  type MailboxState,
  type Message,
  type StreamBatch,
} from './mailbox-state.js';
import { SimNetwork } from './network.js';
import { SlotMover } from './slot-mover.js';

export interface CrossGroupOptions {
  seed: number;
  /** Groups of three replicas, each with two users (default 2). */
  groups?: number;
  /** Mean ms between faults in each group: a crash, a restart, or the whole group down (default 350). */
  faultEveryMs?: number;
  /** Mean ms between cutting one replica off from the rest of its group (0: none, the default; for majority mode, whose fault model has partitions). */
  isolateEveryMs?: number;
  /** Mean ms between slot moves started, one at a time (0: none, the default). */
  moveEveryMs?: number;
  mode?: 'in-sync' | 'majority';
  flaw?: Flaw;
  /**
   * Check as it happens that a stream is marked delivered only up to what the destination has committed (default
   * true). Off, only the end result is checked: what a broken protocol then loses must show there.
   */
  checkDeliveredMarks?: boolean;
}

/** The rest of the schedule's shape. */
const SHAPE = {
  /** Virtual ms of chaos; then a calm phase that must settle. */
  chaosMs: 1_500,
  replicasPerGroup: 3,
  usersPerGroup: 2,
  /** Every packet, within groups and between them. */
  network: { dropRate: 0.03, duplicateRate: 0.03, maxDelayMs: 15 },
  /** Share of faults that take a whole group down at once. */
  outageShare: 0.15,
  /** Mean ms between cuts of the links between two groups. */
  cutEveryMs: 600,
  /** Mean ms between client attempts (all clients together). */
  sendEveryMs: 4,
  /** Share of new messages addressed to a user of another group (at the start). */
  crossShare: 0.75,
  /** Outbox entries per relayed batch. */
  relayBatch: 4,
  /** A relayed batch not answered in this long is sent again (to any replica of the destination). */
  relayRetryMs: 120,
  /** A send not acknowledged in this long is retried with the same key. */
  clientRetryMs: 300,
  /** Every replica's core is ticked and every leader's relay run this often (the server ticks every 10 ms). */
  tickMs: 10,
  /** The log is compacted at this many applied entries: small, so that returning replicas need snapshots. */
  compactThreshold: 24,
} as const;

type RelayBody =
  /** Source leader → destination replica: streams' outbox entries, in order. */
  | { kind: 'batch'; src: string; streams: StreamBatch[] }
  /**
   * Destination leader → source replica: its committed inbox holds these streams up to `highs` (by slot); `moved`
   * slots are not its own (any more, or for now).
   */
  | { kind: 'ack'; dest: string; highs: Record<string, number>; moved: string[] }
  /** A destination replica that does not lead: try `leader` ('' when it does not know). */
  | { kind: 'redirect'; dest: string; leader: NodeId };

type Wire = PeerPacket<MailboxState> | RelayBody;

/** What a leader keeps in memory only: lost when it crashes or stops leading. */
interface LeaderMemory {
  /** Per destination group: when to send again, and whom. */
  links: Map<string, { retryAt: number; hint: NodeId; awaiting: boolean }>;
  /** Per destination slot: acknowledged up to. */
  acked: Map<string, number>;
  /** Per destination slot: a "delivered" proposal up to this number is on its way to commit. */
  marking: Map<string, number>;
  /** receive ops proposed for relays, answered once applied here. */
  receiving: { index: number; epoch: number; replyTo: string; streams: StreamBatch[] }[];
}

interface Client {
  user: string;
  /** The group the user started in: recipients are chosen by it. */
  group: string;
  /** Recipients in other groups and in its own (at the start). */
  cross: string[];
  local: string[];
  next: number;
  inflight?: { message: Message; since: number; at?: { address: string; index: number; epoch: number } };
}

type Group = ReplicaGroup<MailboxState, MailboxResult>;

export interface CrossGroupSummary {
  acked: number;
  ackedCrossGroup: number;
  /** Acknowledged cross-group messages whose delivery was first committed after a failover of either group. */
  deliveredAcrossFailover: number;
  elections: number;
  outages: number;
  crashes: number;
  snapshots: number;
  cuts: number;
  isolations: number;
  /** Slots moved to another group, start to end. */
  moves: number;
  relayBatches: number;
  /** Entries that reached an inbox again after it had stored them. */
  duplicateArrivals: number;
}

export class CrossGroupSim {
  private readonly o: Required<Omit<CrossGroupOptions, 'flaw'>> & { flaw?: Flaw };
  private readonly replay: string;
  private readonly rng: Rng;
  private readonly net: SimNetwork<Wire>;
  readonly groups = new Map<string, Group>();
  /** Slot → group: etcd in the design; here always current and available. A user's slot is the user's name. */
  private readonly directory = new Map<string, string>();
  private readonly slotOf = (user: string): string => user;
  private readonly mover: SlotMover;
  private nextMove = Number.POSITIVE_INFINITY;
  private readonly clients: Client[] = [];
  private readonly memory = new Map<string, LeaderMemory>();
  /** Acknowledged messages per sender, in acknowledgement order. */
  readonly acked = new Map<string, Message[]>();
  private now = 0;
  private readonly trace: string[] = [];
  private nextFault = new Map<string, number>();
  private nextCut = Number.POSITIVE_INFINITY;
  private cutUntil = 0;
  private nextIsolation = Number.POSITIVE_INFINITY;
  private isolatedUntil = 0;
  private cuts = 0;
  private isolations = 0;
  private outages = 0;
  private relayBatches = 0;
  private duplicateArrivals = 0;
  private deliveredAcrossFailover = 0;
  /** Keys of messages committed for a recipient in another group. */
  private readonly crossGroup = new Set<string>();
  /** Per message key: the elections of its sender's and recipient's groups when its send was committed. */
  private readonly electionsAtSend = new Map<string, number>();

  constructor(options: CrossGroupOptions) {
    this.o = {
      groups: 2,
      faultEveryMs: 350,
      isolateEveryMs: 0,
      moveEveryMs: 0,
      mode: 'in-sync',
      checkDeliveredMarks: true,
      ...options,
    };
    this.replay = `CROSS_SEED=${options.seed} npx vitest run test/multigroup`;
    this.rng = new Rng(this.o.seed);
    this.net = new SimNetwork<Wire>(this.rng, { ...SHAPE.network });
    const names = Array.from({ length: this.o.groups }, (_, i) => `G${i + 1}`);
    for (const g of names) {
      for (let u = 1; u <= SHAPE.usersPerGroup; u++) {
        const user = `${g.toLowerCase()}u${u}`;
        this.directory.set(user, g);
        this.clients.push({ user, group: g, cross: [], local: [], next: 1 });
        this.acked.set(user, []);
      }
    }
    for (const c of this.clients) {
      for (const [user, g] of this.directory) if (user !== c.user) (g === c.group ? c.local : c.cross).push(user);
    }
    const ids = Array.from({ length: SHAPE.replicasPerGroup }, (_, i) => String.fromCharCode(65 + i));
    for (const g of names) {
      const slots = [...this.directory].filter(([, owner]) => owner === g).map(([slot]) => slot);
      const group: Group = new ReplicaGroup(
        g,
        ids,
        new MailboxMachine(g, slots, this.slotOf, this.o.flaw),
        this.rng,
        {
          send: (from, to, packet) => this.net.send(from.address, to, packet, this.now),
          applied: (node, entry, result, first) => this.onApplied(group, node, entry, result, first),
          leadershipLost: (node) => this.forget(node),
          note: (line) => this.note(line),
          fail: (message) => this.fail(message),
        },
        {
          mode: this.o.mode,
          limits: {
            compactThreshold: SHAPE.compactThreshold,
            retainEntries: Math.ceil(SHAPE.compactThreshold / 4),
            maxBatchEntries: 16,
            maxInflight: 4,
          },
        },
        0,
      );
      this.groups.set(g, group);
      this.nextFault.set(g, this.exp(this.o.faultEveryMs));
    }
    this.mover = new SlotMover(
      {
        nodes: (g) => this.groups.get(g)!.nodes,
        propose: (g, op) => {
          const group = this.groups.get(g)!;
          const leader = group.readyLeaders()[0];
          return leader !== undefined && group.propose(leader, [op], this.now) !== undefined;
        },
        flip: (slot, g) => {
          this.directory.set(slot, g);
          this.note(`DIRECTORY slot ${slot} → ${g}`);
        },
        slotOf: this.slotOf,
        note: (line) => this.note(line),
      },
      50,
      this.o.flaw === 'move-without-drain',
    );
    if (this.o.moveEveryMs > 0) this.nextMove = this.exp(this.o.moveEveryMs);
    if (SHAPE.cutEveryMs > 0 && names.length > 1) this.nextCut = this.exp(SHAPE.cutEveryMs);
    if (this.o.isolateEveryMs > 0) this.nextIsolation = this.exp(this.o.isolateEveryMs);
  }

  /** Chaos, then every replica back on a calm network until every group has converged, every outbox is drained and no move is under way. */
  run(): void {
    this.advance(SHAPE.chaosMs, true);
    this.note('CALM: every replica back, no more loss, duplication or cuts');
    for (const g of this.groups.values()) for (const n of g.nodes) if (!n.core) g.boot(n, this.now);
    this.net.faults = { dropRate: 0, duplicateRate: 0, maxDelayMs: SHAPE.network.maxDelayMs };
    this.net.healAll();
    const limit = this.now + 15_000;
    while (!this.settled()) {
      if (this.now >= limit) {
        // Groups that have converged but cannot drain an outbox lost something on the way: the check names it.
        if (
          [...this.groups.values()].every((g) => g.converged()) &&
          this.clients.every((c) => !c.inflight) &&
          !this.mover.busy
        )
          this.check();
        this.fail(`did not converge within 15 s of calm:\n    ${this.describe().join('\n    ')}`);
      }
      this.advance(this.now + 50, false);
    }
    this.check();
  }

  summary(): CrossGroupSummary {
    const all = [...this.acked.values()].flat();
    const groups = [...this.groups.values()];
    const sum = (f: (g: Group) => number) => groups.reduce((s, g) => s + f(g), 0);
    return {
      acked: all.length,
      ackedCrossGroup: all.filter((m) => this.crossGroup.has(m.key)).length,
      deliveredAcrossFailover: this.deliveredAcrossFailover,
      elections: sum((g) => g.elections),
      outages: this.outages,
      crashes: sum((g) => g.crashes),
      snapshots: sum((g) => g.snapshots),
      cuts: this.cuts,
      isolations: this.isolations,
      moves: this.mover.moves,
      relayBatches: this.relayBatches,
      duplicateArrivals: this.duplicateArrivals,
    };
  }

  // ------------------------------------------------------------------ time

  private advance(until: number, chaos: boolean): void {
    const tick = SHAPE.tickMs;
    let nextTick = Math.floor(this.now / tick) * tick + tick;
    let nextClient = this.now + this.exp(SHAPE.sendEveryMs);
    while (this.now < until) {
      let next = Math.min(until, this.net.nextAt(), nextTick, nextClient);
      if (chaos) {
        next = Math.min(next, this.nextCut, this.nextIsolation, this.nextMove);
        for (const at of this.nextFault.values()) next = Math.min(next, at);
      }
      this.now = Math.max(this.now, next);
      for (let p = this.net.takeDue(this.now); p; p = this.net.takeDue(this.now)) this.deliver(p.from, p.to, p.body);
      if (this.now >= nextTick) {
        for (const g of this.groups.values()) g.tick(this.now);
        for (const g of this.groups.values()) for (const n of g.readyLeaders()) this.relay(g, n);
        this.mover.step(this.now);
        nextTick += tick;
      }
      if (this.now >= nextClient) {
        this.clientStep(chaos);
        nextClient = this.now + this.exp(SHAPE.sendEveryMs);
      }
      if (chaos) this.faultStep();
    }
  }

  private exp(mean: number): number {
    return Math.max(1, Math.ceil(-Math.log(1 - this.rng.next()) * mean));
  }

  // --------------------------------------------------------------- network

  private deliver(from: string, to: string, body: Wire): void {
    const { group, node } = this.addressed(to);
    if (body.kind === 'peer') {
      group.receive(node, body, this.now);
      return;
    }
    if (!node.core) return; // lost: nobody listens there
    switch (body.kind) {
      case 'batch':
        this.onBatch(group, node, from, body.src, body.streams);
        break;
      case 'ack':
        this.onAck(group, node, from, body.dest, body.highs, body.moved);
        break;
      case 'redirect':
        this.onRedirect(node, body.dest, body.leader);
        break;
    }
  }

  private readonly addresses = new Map<string, { group: Group; node: GroupNode<MailboxState> }>();

  /** The replica at "group/replica". */
  private addressed(address: string): { group: Group; node: GroupNode<MailboxState> } {
    let a = this.addresses.get(address);
    if (!a) {
      const [g, id] = address.split('/') as [string, NodeId];
      const group = this.groups.get(g);
      if (!group) this.fail(`a packet to ${address}, in no group`);
      this.addresses.set(address, (a = { group, node: group.node(id) }));
    }
    return a;
  }

  private memoryOf(node: GroupNode<MailboxState>): LeaderMemory {
    let m = this.memory.get(node.address);
    if (!m)
      this.memory.set(node.address, (m = { links: new Map(), acked: new Map(), marking: new Map(), receiving: [] }));
    return m;
  }

  /** A replica crashed or stopped leading: it forgets its relays, and its clients retry elsewhere. */
  private forget(node: GroupNode<MailboxState>): void {
    this.memory.delete(node.address);
    for (const c of this.clients)
      if (c.inflight?.at?.address === node.address) c.inflight.since = Number.NEGATIVE_INFINITY;
  }

  // ----------------------------------------------------------------- relay

  /**
   * The relay on a leader of `group`: to each destination group (by the directory), one batch at a time of the next
   * undelivered, unacknowledged entries of the streams to the slots it holds.
   */
  private relay(group: Group, node: GroupNode<MailboxState>): void {
    const state = node.durable.state;
    const mem = this.memoryOf(node);
    this.markDelivered(group, node);
    const batches = new Map<string, { streams: StreamBatch[]; size: number }>();
    for (const [slot, box] of state.outbox) {
      if (box.entries.length === 0) continue;
      const dest = this.directory.get(slot)!;
      if (dest === group.name) continue; // moving in: the import delivers it in place
      const link = mem.links.get(dest);
      if (link && this.now < link.retryAt) continue;
      let batch = batches.get(dest);
      if (!batch) batches.set(dest, (batch = { streams: [], size: 0 }));
      if (batch.size >= SHAPE.relayBatch) continue;
      const entries = pendingOutbox(
        state,
        slot,
        Math.max(box.delivered, mem.acked.get(slot) ?? 0),
        SHAPE.relayBatch - batch.size,
      );
      if (entries.length === 0) continue;
      batch.streams.push({ slot, entries });
      batch.size += entries.length;
    }
    for (const [dest, batch] of batches) {
      if (batch.size === 0) continue;
      let link = mem.links.get(dest);
      if (!link) mem.links.set(dest, (link = { retryAt: 0, hint: '', awaiting: false }));
      // After silence the hinted leader may be gone: try any replica, which redirects to its leader.
      const target = link.awaiting || !link.hint ? this.rng.pick(this.groups.get(dest)!.nodes).id : link.hint;
      this.net.send(
        node.address,
        `${dest}/${target}`,
        { kind: 'batch', src: group.name, streams: batch.streams },
        this.now,
      );
      this.relayBatches++;
      link.awaiting = true;
      link.retryAt = this.now + SHAPE.relayRetryMs;
      if (this.o.flaw === 'delivered-on-send') {
        for (const st of batch.streams) mem.acked.set(st.slot, st.entries[st.entries.length - 1]!.seq);
        this.markDelivered(group, node);
      }
    }
  }

  /** Proposes "delivered" up to what destinations acknowledged, for the streams where that is not committed or on its way. */
  private markDelivered(group: Group, node: GroupNode<MailboxState>): void {
    const mem = this.memoryOf(node);
    const upTo: Record<string, number> = {};
    let any = false;
    for (const [slot, acked] of mem.acked) {
      const box = node.durable.state.outbox.get(slot);
      if (!box || acked <= box.delivered || (mem.marking.get(slot) ?? 0) >= acked) continue;
      upTo[slot] = acked;
      any = true;
    }
    if (!any || !group.propose(node, [encodeOp({ t: 'delivered', upTo })], this.now)) return;
    for (const [slot, n] of Object.entries(upTo)) mem.marking.set(slot, n);
  }

  /** A destination replica got a batch from `src`'s relay. */
  private onBatch(
    group: Group,
    node: GroupNode<MailboxState>,
    replyTo: string,
    src: string,
    streams: StreamBatch[],
  ): void {
    const core = node.core!;
    if (!core.isReadyLeader) {
      this.net.send(
        node.address,
        replyTo,
        { kind: 'redirect', dest: group.name, leader: core.leader === node.id ? '' : core.leader },
        this.now,
      );
      return;
    }
    const { moved, owned } = inboxStanding(node.durable.state, src, streams);
    const highs: Record<string, number> = {};
    const fresh: StreamBatch[] = [];
    for (const { slot, entries, high } of owned) {
      highs[slot] = high;
      this.duplicateArrivals += entries.filter((e) => e.seq <= high).length;
      const after = this.o.flaw === 'inbox-without-dedup' ? entries : entries.filter((e) => e.seq > high);
      // Only a stream that goes on where the inbox stands can be stored; a gap is answered with where it stands.
      if (after.length > 0 && (after[0]!.seq === high + 1 || this.o.flaw === 'inbox-without-dedup'))
        fresh.push({ slot, entries: after });
    }
    if (fresh.length === 0) {
      this.net.send(node.address, replyTo, { kind: 'ack', dest: group.name, highs, moved }, this.now);
      return;
    }
    const at = group.propose(node, [encodeOp({ t: 'receive', src, streams: fresh })], this.now);
    if (!at) return;
    if (this.o.flaw === 'ack-before-commit') {
      for (const st of fresh) highs[st.slot] = st.entries[st.entries.length - 1]!.seq;
      this.net.send(node.address, replyTo, { kind: 'ack', dest: group.name, highs, moved }, this.now);
      return;
    }
    this.memoryOf(node).receiving.push({ index: at.firstIndex, epoch: at.epoch, replyTo, streams });
  }

  /** The source relay hears how far `dest` holds some streams, and which slots it does not hold. */
  private onAck(
    group: Group,
    node: GroupNode<MailboxState>,
    from: string,
    dest: string,
    highs: Record<string, number>,
    moved: string[],
  ): void {
    if (!node.core!.isReadyLeader) return;
    const mem = this.memoryOf(node);
    const link = mem.links.get(dest);
    if (!link) return;
    for (const [slot, high] of Object.entries(highs)) mem.acked.set(slot, Math.max(mem.acked.get(slot) ?? 0, high));
    link.awaiting = false;
    link.hint = from.split('/')[1]!;
    // Slots that are not there (being moved): wait a little for the directory to name their new group.
    link.retryAt = moved.length > 0 ? this.now + SHAPE.relayRetryMs : this.now;
    this.markDelivered(group, node);
  }

  private onRedirect(node: GroupNode<MailboxState>, dest: string, leader: NodeId): void {
    const link = this.memory.get(node.address)?.links.get(dest);
    if (!link) return;
    link.hint = leader;
    link.awaiting = false;
    link.retryAt = this.now + 20;
  }

  // ------------------------------------------------------------ state sync

  private onApplied(
    group: Group,
    node: GroupNode<MailboxState>,
    entry: Entry,
    result: MailboxResult,
    first: boolean,
  ): void {
    if (result.t === 'refused') this.fail(`${node.address} refused an op at ${entry.index}: ${result.reason}`);
    if (result.t === 'sent' && result.fresh && this.directory.get(this.slotOf(result.to)) !== group.name)
      this.crossGroup.add(result.key);
    if (first) this.firstApplied(group, result);
    if (result.t === 'delivered') {
      // The destination must hold, committed, everything marked delivered: otherwise a failover there can lose it.
      for (const [slot, upTo] of Object.entries(result.upTo)) {
        const held = this.committedHigh(group.name, slot);
        if (held < upTo && this.o.checkDeliveredMarks)
          this.fail(
            `${group.name} marked its stream to slot ${slot} delivered up to ${upTo}, but only ${held} are committed there`,
          );
        const mem = this.memory.get(node.address);
        if (mem && (mem.marking.get(slot) ?? 0) <= upTo) mem.marking.delete(slot);
      }
    }
    const mem = this.memory.get(node.address);
    if (mem && result.t === 'received') {
      for (let i = mem.receiving.length - 1; i >= 0; i--) {
        const p = mem.receiving[i]!;
        if (p.index !== entry.index) continue;
        mem.receiving.splice(i, 1);
        if (p.epoch !== entry.epoch) continue;
        const { moved, owned } = inboxStanding(node.durable.state, result.src, p.streams);
        const highs = Object.fromEntries(owned.map((st) => [st.slot, st.high]));
        this.net.send(node.address, p.replyTo, { kind: 'ack', dest: group.name, highs, moved }, this.now);
      }
    }
    for (const c of this.clients) {
      const f = c.inflight;
      if (!f?.at || f.at.address !== node.address || f.at.index !== entry.index) continue;
      if (f.at.epoch !== entry.epoch || result.t !== 'sent') {
        f.since = Number.NEGATIVE_INFINITY; // another entry took that place, or the slot is moving: retry
        continue;
      }
      this.acked.get(c.user)!.push(f.message);
      c.inflight = undefined;
      c.next++;
    }
  }

  /** Bookkeeping for the summary: did a delivery cross a failover of either group? */
  private firstApplied(group: Group, result: MailboxResult): void {
    const electionsOf = (g: string) => this.groups.get(g)!.elections;
    const peerGroup = (key: string) => this.directory.get(this.slotOf(key.split('#')[0]!))!;
    if (result.t === 'sent' && result.fresh && this.crossGroup.has(result.key)) {
      this.electionsAtSend.set(
        result.key,
        electionsOf(group.name) + electionsOf(this.directory.get(this.slotOf(result.to))!),
      );
    } else if (result.t === 'received') {
      for (const key of result.stored) {
        const before = this.electionsAtSend.get(key);
        if (before !== undefined && electionsOf(group.name) + electionsOf(peerGroup(key)) > before)
          this.deliveredAcrossFailover++;
        this.electionsAtSend.delete(key);
      }
    }
  }

  // --------------------------------------------------------------- clients

  private clientStep(chaos: boolean): void {
    const c = this.rng.pick(this.clients);
    if (c.inflight && this.now - c.inflight.since < SHAPE.clientRetryMs) return;
    if (!c.inflight) {
      if (!chaos) return;
      const pool =
        c.cross.length > 0 && (c.local.length === 0 || this.rng.chance(SHAPE.crossShare)) ? c.cross : c.local;
      c.inflight = { message: { key: `${c.user}#${c.next}`, from: c.user, to: this.rng.pick(pool) }, since: this.now };
    }
    // The client finds its group through the directory (stale for a moment during a move: the group answers "moved").
    const home = this.groups.get(this.directory.get(this.slotOf(c.user))!)!;
    const leaders = home.readyLeaders();
    if (leaders.length === 0) return;
    const leader = this.rng.pick(leaders);
    const { key, from, to } = c.inflight.message;
    const at = home.propose(leader, [encodeOp({ t: 'send', key, from, to })], this.now);
    c.inflight.since = this.now;
    c.inflight.at = at ? { address: leader.address, index: at.firstIndex, epoch: at.epoch } : undefined;
  }

  // ---------------------------------------------------------------- faults

  private faultStep(): void {
    for (const [name, at] of this.nextFault) {
      if (this.now < at) continue;
      this.nextFault.set(name, this.now + this.exp(this.o.faultEveryMs));
      const g = this.groups.get(name)!;
      const down = g.nodes.filter((n) => !n.core);
      const up = g.nodes.filter((n) => n.core);
      const roll = this.rng.next();
      if (roll < SHAPE.outageShare && down.length === 0) {
        for (const n of up) this.crash(g, n);
        this.outages++;
        this.note(`TOTAL OUTAGE of ${name}`);
      } else if (down.length > 0 && (roll < 0.55 || up.length === 0)) {
        const n = this.rng.pick(down);
        g.boot(n, this.now);
        this.note(`restart ${n.address}`);
      } else if (up.length > 0) {
        const leader = up.find((n) => n.core!.currentRole === 'leader');
        const n = leader && this.rng.chance(0.6) ? leader : this.rng.pick(up);
        this.crash(g, n);
        this.note(`crash ${n.address}${n === leader ? ' (the leader)' : ''}`);
      }
    }
    if (this.now >= this.nextCut) {
      this.nextCut = this.now + this.exp(SHAPE.cutEveryMs);
      if (this.now >= this.cutUntil) {
        const names = [...this.groups.keys()];
        const a = this.rng.pick(names);
        const b = this.rng.pick(names.filter((n) => n !== a));
        const both = this.rng.chance(0.5);
        this.cutUntil = this.now + this.rng.int(100, 1_200);
        this.net.cutLink(`${a}/`, `${b}/`, this.cutUntil);
        if (both) this.net.cutLink(`${b}/`, `${a}/`, this.cutUntil);
        this.cuts++;
        this.note(`CUT ${a} -/-> ${b}${both ? ' both ways' : ''} until ${this.cutUntil}`);
      }
    }
    if (this.now >= this.nextMove) {
      this.nextMove = this.now + this.exp(this.o.moveEveryMs);
      if (!this.mover.busy) {
        const slot = this.rng.pick([...this.directory.keys()]);
        const from = this.directory.get(slot)!;
        this.mover.start(slot, from, this.rng.pick([...this.groups.keys()].filter((g) => g !== from)), this.now);
      }
    }
    if (this.now >= this.nextIsolation) {
      this.nextIsolation = this.now + this.exp(this.o.isolateEveryMs);
      if (this.now >= this.isolatedUntil) {
        const g = this.rng.pick([...this.groups.values()]);
        const up = g.nodes.filter((n) => n.core);
        const leader = up.find((n) => n.core!.currentRole === 'leader');
        const n = leader && this.rng.chance(0.6) ? leader : this.rng.pick(g.nodes);
        this.isolatedUntil = this.now + this.rng.int(200, 1_500);
        this.net.cutLink(n.address, `${g.name}/`, this.isolatedUntil);
        this.net.cutLink(`${g.name}/`, n.address, this.isolatedUntil);
        this.isolations++;
        this.note(`ISOLATE ${n.address} from the rest of ${g.name} until ${this.isolatedUntil}`);
      }
    }
  }

  /** A process crash (what it sent is still delivered) or, half the time, its machine's (what it sent and is still on the way is lost). */
  private crash(g: Group, n: GroupNode<MailboxState>): void {
    g.crash(n);
    if (this.rng.chance(0.5)) this.net.loseInFlightFrom(n.address);
  }

  // --------------------------------------------------------------- checker

  /** Every group converged, no client waiting, every outbox drained. */
  private settled(): boolean {
    if (this.clients.some((c) => c.inflight) || this.mover.busy) return false;
    for (const g of this.groups.values()) {
      if (!g.converged()) return false;
      const state = g.readyLeaders()[0]!.durable.state;
      for (const box of state.outbox.values()) if (box.delivered !== box.last) return false;
    }
    return true;
  }

  private describe(): string[] {
    const out: string[] = [];
    for (const g of this.groups.values()) {
      for (const n of g.nodes) {
        const s = n.core?.status(this.now);
        const boxes = [...n.durable.state.outbox].map(([slot, b]) => `${slot}:${b.delivered}/${b.last}`).join(' ');
        out.push(
          s
            ? `${n.address}: ${s.role} e${s.epoch} last=${s.lastIndex} commit=${s.commitIndex} applied=${s.appliedIndex} isr=${s.inSync.join('')} waiting=${s.waitingReason} outbox ${boxes}`
            : `${n.address}: down`,
        );
      }
    }
    const waiting = this.clients.filter((c) => c.inflight).map((c) => c.inflight!.message.key);
    if (waiting.length) out.push(`clients waiting: ${waiting.join(', ')}`);
    return out;
  }

  private check(): void {
    const states = new Map<string, MailboxState>();
    for (const g of this.groups.values()) {
      const reference = g.nodes[0]!;
      const digest = canonical(reference.durable.state);
      for (const n of g.nodes)
        if (canonical(n.durable.state) !== digest)
          this.fail(`${n.address}'s state differs from ${reference.address}'s`);
      states.set(g.name, reference.durable.state);
    }
    const problem = checkDelivery({ states, directory: this.directory, slotOf: this.slotOf, acked: this.acked });
    if (problem) this.fail(problem);
  }

  /** The highest number of the stream from `src` to `slot` committed anywhere (a moved slot's old group keeps a stale, lower one). */
  private committedHigh(src: string, slot: string): number {
    let high = 0;
    for (const g of this.groups.values())
      for (const n of g.nodes) high = Math.max(high, n.durable.state.inbox.get(inboxKey(src, slot)) ?? 0);
    return high;
  }

  // ----------------------------------------------------------------- trace

  private note(line: string): void {
    this.trace.push(`t=${this.now} ${line}`);
    if (this.trace.length > 400) this.trace.splice(0, 200);
  }

  fail(message: string): never {
    throw new SimulationFailure(
      `${message}\n  replay: ${this.replay}\n  last events:\n    ${this.trace.slice(-30).join('\n    ')}`,
    );
  }
}

/** A canonical text of a state, to compare replicas. */
function canonical(s: MailboxState): string {
  const sorted = <V>(m: Map<string, V>) => [...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify([
    [...s.owns].sort(),
    [...s.frozen].sort(),
    sorted(s.departed),
    [...s.keys].sort(),
    sorted(s.sent),
    sorted(s.received),
    sorted(s.outbox),
    sorted(s.inbox),
  ]);
}
