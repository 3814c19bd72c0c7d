/**
 * A seeded simulation of several replica groups exchanging messages through
 * the outbox/inbox protocol of docs/scaling.md, in virtual time:
 *
 * - each group is a set of real ReplicaCores (group.ts) applying the
 *   mailbox state machine (mailbox-state.ts);
 * - users live in groups by a fixed directory; each sends one message at a
 *   time to a user of any group, retrying with the same idempotency key until
 *   its group's leader acknowledges it (applied, so committed);
 * - the relay of each group runs on its leader: it sends the committed,
 *   undelivered outbox entries to the destination group's leader, which
 *   stores them through its log and answers with its inbox's high-water mark
 *   once that is committed; the relay then commits "delivered" up to there;
 * - replicas crash and restart, whole groups go down, links between groups
 *   are cut, and every packet may be lost, duplicated or overtaken.
 *
 * After the chaos everything comes back on a calm network, and the checker
 * demands: every committed (so every acknowledged) message stored exactly
 * once on the recipient's side, in each sender's order, nothing stored that
 * was not sent, every outbox drained, and every replica of a group equal.
 * A failing seed throws a SimulationFailure that says how to replay it.
 */
import { Rng } from '../../src/server/replication/rng.js';
import type { Entry, NodeId } from '../../src/server/replication/types.js';
import { SimulationFailure } from '../replication/simulator.js';
import { ReplicaGroup, type GroupNode, type PeerPacket } from './group.js';
import { encodeOp, MailboxMachine, pendingOutbox, type Flaw, type MailboxResult, type MailboxState, type Message, type OutboxEntry } from './mailbox-state.js';
import { SimNetwork } from './network.js';

export interface CrossGroupOptions {
  seed: number;
  groups?: number;
  replicasPerGroup?: number;
  usersPerGroup?: number;
  /** Virtual ms of chaos; then a calm phase that must converge. */
  durationMs?: number;
  dropRate?: number;
  duplicateRate?: number;
  maxDelayMs?: number;
  /** Mean ms between faults in each group (crash, restart, total outage). */
  faultEveryMs?: number;
  /** Share of faults that take a whole group down at once. */
  outageShare?: number;
  /** Mean ms between cuts of the links between two groups (0: none). */
  cutEveryMs?: number;
  /** Mean ms between cutting one replica off from the rest of its group (0: none; for majority mode, whose fault model has partitions). */
  isolateEveryMs?: number;
  /** Mean ms between client attempts (all clients together). */
  sendEveryMs?: number;
  /** Share of new messages addressed to a user of another group. */
  crossShare?: number;
  /** Outbox entries per relayed batch. */
  relayBatch?: number;
  /** A relayed batch not answered in this long is sent again (to any replica of the destination). */
  relayRetryMs?: number;
  /** A send not acknowledged in this long is retried with the same key. */
  clientRetryMs?: number;
  /** Every replica's core is ticked (and every leader's relay run) this often. */
  tickMs?: number;
  mode?: 'in-sync' | 'majority';
  /** Replay command printed with a failure. */
  replay?: string;
  flaw?: Flaw;
  /**
   * Check as it happens that an outbox is marked delivered only up to what the destination has committed (default
   * true). Off, only the end result is checked: what a broken protocol then loses must show there.
   */
  checkDeliveredMarks?: boolean;
  /** The log is compacted at this many applied entries (small, so that returning replicas need snapshots). */
  compactThreshold?: number;
}

type RelayBody =
  /** Source leader → destination replica: outbox entries, in order. */
  | { kind: 'batch'; src: string; entries: OutboxEntry[] }
  /** Destination leader → source replica: its inbox holds everything from `dest`'s point of view up to `high`, committed. */
  | { kind: 'ack'; dest: string; high: number }
  /** A destination replica that does not lead: try `leader` ('' when it does not know). */
  | { kind: 'redirect'; dest: string; leader: NodeId };

type Wire = PeerPacket<MailboxState> | RelayBody;

/** What a leader keeps in memory only: lost when it crashes or stops leading. */
interface LeaderMemory {
  /** Per destination group. */
  relay: Map<string, { retryAt: number; acked: number; hint: NodeId; awaiting: boolean }>;
  /** Per destination group: a "delivered" proposal up to this number is on its way to commit. */
  marking: Map<string, number>;
  /** receive ops proposed for relays, answered once applied here. */
  receiving: { index: number; epoch: number; replyTo: string }[];
}

interface Client {
  user: string;
  group: string;
  /** Recipients in other groups and in its own. */
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
  relayBatches: number;
  /** Entries that reached an inbox again after it had stored them. */
  duplicateArrivals: number;
}

export class CrossGroupSim {
  private readonly o: Required<Omit<CrossGroupOptions, 'flaw'>> & { flaw?: Flaw };
  private readonly rng: Rng;
  private readonly net: SimNetwork<Wire>;
  readonly groups = new Map<string, Group>();
  private readonly directory = new Map<string, string>();
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
  /** Per message key: the elections of its sender's and recipient's groups when its send was committed. */
  private readonly electionsAtSend = new Map<string, number>();

  constructor(options: CrossGroupOptions) {
    this.o = {
      groups: 2, replicasPerGroup: 3, usersPerGroup: 2, durationMs: 2_000, dropRate: 0.03, duplicateRate: 0.03, maxDelayMs: 15,
      faultEveryMs: 350, outageShare: 0.15, cutEveryMs: 600, isolateEveryMs: 0, sendEveryMs: 4, crossShare: 0.75, relayBatch: 4, relayRetryMs: 120,
      clientRetryMs: 300, tickMs: 10, checkDeliveredMarks: true, compactThreshold: 24, mode: 'in-sync', replay: `CROSS_SEED=${options.seed} npx vitest run test/multigroup`, ...options,
    };
    this.rng = new Rng(this.o.seed);
    this.net = new SimNetwork<Wire>(this.rng, { dropRate: this.o.dropRate, duplicateRate: this.o.duplicateRate, maxDelayMs: this.o.maxDelayMs });
    const names = Array.from({ length: this.o.groups }, (_, i) => `G${i + 1}`);
    for (const g of names) {
      for (let u = 1; u <= this.o.usersPerGroup; u++) {
        const user = `${g.toLowerCase()}u${u}`;
        this.directory.set(user, g);
        this.clients.push({ user, group: g, cross: [], local: [], next: 1 });
        this.acked.set(user, []);
      }
    }
    for (const c of this.clients) {
      for (const [user, g] of this.directory) if (user !== c.user) (g === c.group ? c.local : c.cross).push(user);
    }
    const home = (user: string) => this.directory.get(user)!;
    const ids = Array.from({ length: this.o.replicasPerGroup }, (_, i) => String.fromCharCode(65 + i));
    for (const g of names) {
      const group: Group = new ReplicaGroup(g, ids, new MailboxMachine(g, home, this.o.flaw), this.rng, {
        send: (from, to, packet) => this.net.send(from.address, to, packet, this.now),
        applied: (node, entry, result, first) => this.onApplied(group, node, entry, result, first),
        leadershipLost: (node) => this.forget(node),
        note: (line) => this.note(line),
        fail: (message) => this.fail(message),
      }, { mode: this.o.mode, limits: { compactThreshold: this.o.compactThreshold, retainEntries: Math.ceil(this.o.compactThreshold / 4), maxBatchEntries: 16, maxInflight: 4 } }, 0);
      this.groups.set(g, group);
      this.nextFault.set(g, this.exp(this.o.faultEveryMs));
    }
    if (this.o.cutEveryMs > 0 && names.length > 1) this.nextCut = this.exp(this.o.cutEveryMs);
    if (this.o.isolateEveryMs > 0) this.nextIsolation = this.exp(this.o.isolateEveryMs);
  }

  /** Chaos, then every replica back on a calm network until every group has converged and every outbox is drained. */
  run(): void {
    this.advance(this.o.durationMs, true);
    this.note('CALM: every replica back, no more loss, duplication or cuts');
    for (const g of this.groups.values()) for (const n of g.nodes) if (!n.core) g.boot(n, this.now);
    this.net.faults = { dropRate: 0, duplicateRate: 0, maxDelayMs: this.o.maxDelayMs };
    this.net.healAll();
    const limit = this.now + 15_000;
    while (!this.settled()) {
      if (this.now >= limit) {
        // Groups that have converged but cannot drain an outbox lost something on the way: the check names it.
        if ([...this.groups.values()].every((g) => g.converged()) && this.clients.every((c) => !c.inflight)) this.check();
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
      ackedCrossGroup: all.filter((m) => this.directory.get(m.from) !== this.directory.get(m.to)).length,
      deliveredAcrossFailover: this.deliveredAcrossFailover,
      elections: sum((g) => g.elections),
      outages: this.outages,
      crashes: sum((g) => g.crashes),
      snapshots: sum((g) => g.snapshots),
      cuts: this.cuts,
      isolations: this.isolations,
      relayBatches: this.relayBatches,
      duplicateArrivals: this.duplicateArrivals,
    };
  }

  // ------------------------------------------------------------------ time

  private advance(until: number, chaos: boolean): void {
    const tick = this.o.tickMs;
    let nextTick = Math.floor(this.now / tick) * tick + tick;
    let nextClient = this.now + this.exp(this.o.sendEveryMs);
    while (this.now < until) {
      let next = Math.min(until, this.net.nextAt(), nextTick, nextClient);
      if (chaos) {
        next = Math.min(next, this.nextCut, this.nextIsolation);
        for (const at of this.nextFault.values()) next = Math.min(next, at);
      }
      this.now = Math.max(this.now, next);
      for (let p = this.net.takeDue(this.now); p; p = this.net.takeDue(this.now)) this.deliver(p.from, p.to, p.body);
      if (this.now >= nextTick) {
        for (const g of this.groups.values()) g.tick(this.now);
        for (const g of this.groups.values()) for (const n of g.readyLeaders()) this.relay(g, n);
        nextTick += tick;
      }
      if (this.now >= nextClient) {
        this.clientStep(chaos);
        nextClient = this.now + this.exp(this.o.sendEveryMs);
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
        this.onBatch(group, node, from, body.src, body.entries);
        break;
      case 'ack':
        this.onAck(group, node, from, body.dest, body.high);
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
    if (!m) this.memory.set(node.address, (m = { relay: new Map(), marking: new Map(), receiving: [] }));
    return m;
  }

  /** A replica crashed or stopped leading: it forgets its relays, and its clients retry elsewhere. */
  private forget(node: GroupNode<MailboxState>): void {
    this.memory.delete(node.address);
    for (const c of this.clients) if (c.inflight?.at?.address === node.address) c.inflight.since = Number.NEGATIVE_INFINITY;
  }

  // ----------------------------------------------------------------- relay

  /** The relay on a leader of `group`: sends the next undelivered, unacknowledged outbox entries to each destination. */
  private relay(group: Group, node: GroupNode<MailboxState>): void {
    const state = node.durable.state;
    const mem = this.memoryOf(node);
    for (const [dest, box] of state.outbox) {
      if (box.entries.length === 0) continue;
      let r = mem.relay.get(dest);
      if (!r) mem.relay.set(dest, (r = { retryAt: 0, acked: box.delivered, hint: '', awaiting: false }));
      this.markDelivered(group, node, dest);
      if (this.now < r.retryAt) continue;
      const batch = pendingOutbox(state, dest, Math.max(box.delivered, r.acked), this.o.relayBatch);
      if (batch.length === 0) continue;
      // After silence the hinted leader may be gone: try any replica, which redirects to its leader.
      const target = r.awaiting || !r.hint ? this.rng.pick(this.groups.get(dest)!.nodes).id : r.hint;
      this.net.send(node.address, `${dest}/${target}`, { kind: 'batch', src: group.name, entries: batch }, this.now);
      this.relayBatches++;
      r.awaiting = true;
      r.retryAt = this.now + this.o.relayRetryMs;
      if (this.o.flaw === 'delivered-on-send') {
        r.acked = batch[batch.length - 1]!.seq;
        this.markDelivered(group, node, dest);
      }
    }
  }

  /** Proposes "delivered" up to what the destination acknowledged, unless that is committed or on its way. */
  private markDelivered(group: Group, node: GroupNode<MailboxState>, dest: string): void {
    const mem = this.memoryOf(node);
    const r = mem.relay.get(dest);
    const box = node.durable.state.outbox.get(dest);
    if (!r || !box || r.acked <= box.delivered || (mem.marking.get(dest) ?? 0) >= r.acked) return;
    if (group.propose(node, [encodeOp({ t: 'delivered', dest, upTo: r.acked })], this.now)) mem.marking.set(dest, r.acked);
  }

  /** A destination replica got a batch from `src`'s relay. */
  private onBatch(group: Group, node: GroupNode<MailboxState>, replyTo: string, src: string, entries: OutboxEntry[]): void {
    const core = node.core!;
    if (!core.isReadyLeader) {
      this.net.send(node.address, replyTo, { kind: 'redirect', dest: group.name, leader: core.leader === node.id ? '' : core.leader }, this.now);
      return;
    }
    const high = node.durable.state.inbox.get(src) ?? 0;
    this.duplicateArrivals += entries.filter((e) => e.seq <= high).length;
    const fresh = this.o.flaw === 'inbox-without-dedup' ? entries : entries.filter((e) => e.seq > high);
    if (fresh.length === 0 || (this.o.flaw !== 'inbox-without-dedup' && fresh[0]!.seq !== high + 1)) {
      // All stored already (answered from committed state), or a gap: either way the relay learns where to go on from.
      this.net.send(node.address, replyTo, { kind: 'ack', dest: group.name, high }, this.now);
      return;
    }
    const at = group.propose(node, [encodeOp({ t: 'receive', src, entries: fresh })], this.now);
    if (!at) return;
    if (this.o.flaw === 'ack-before-commit') {
      this.net.send(node.address, replyTo, { kind: 'ack', dest: group.name, high: fresh[fresh.length - 1]!.seq }, this.now);
      return;
    }
    this.memoryOf(node).receiving.push({ index: at.firstIndex, epoch: at.epoch, replyTo });
  }

  /** The source relay hears that `dest` holds its outbox up to `high`. */
  private onAck(group: Group, node: GroupNode<MailboxState>, from: string, dest: string, high: number): void {
    if (!node.core!.isReadyLeader) return;
    const r = this.memoryOf(node).relay.get(dest);
    if (!r) return;
    r.acked = Math.max(r.acked, high);
    r.awaiting = false;
    r.hint = from.split('/')[1]!;
    r.retryAt = this.now; // the next batch goes with the next tick
    this.markDelivered(group, node, dest);
  }

  private onRedirect(node: GroupNode<MailboxState>, dest: string, leader: NodeId): void {
    const r = this.memory.get(node.address)?.relay.get(dest);
    if (!r) return;
    r.hint = leader;
    r.awaiting = false;
    r.retryAt = this.now + 20;
  }

  // ------------------------------------------------------------ state sync

  private onApplied(group: Group, node: GroupNode<MailboxState>, entry: Entry, result: MailboxResult, first: boolean): void {
    if (result.t === 'refused') this.fail(`${node.address} refused an op at ${entry.index}: ${result.reason}`);
    if (first) this.firstApplied(group, result);
    if (result.t === 'delivered') {
      // The destination must hold, committed, everything marked delivered: otherwise a failover there can lose it.
      const held = Math.max(...this.groups.get(result.dest)!.nodes.map((n) => n.durable.state.inbox.get(group.name) ?? 0));
      if (held < result.upTo && this.o.checkDeliveredMarks) this.fail(`${group.name} marked its outbox to ${result.dest} delivered up to ${result.upTo}, but ${result.dest} has committed only up to ${held}`);
      const mem = this.memory.get(node.address);
      if (mem && (mem.marking.get(result.dest) ?? 0) <= result.upTo) mem.marking.delete(result.dest);
    }
    const mem = this.memory.get(node.address);
    if (mem && result.t === 'received') {
      for (let i = mem.receiving.length - 1; i >= 0; i--) {
        const p = mem.receiving[i]!;
        if (p.index !== entry.index) continue;
        mem.receiving.splice(i, 1);
        if (p.epoch === entry.epoch) this.net.send(node.address, p.replyTo, { kind: 'ack', dest: group.name, high: result.high }, this.now);
      }
    }
    for (const c of this.clients) {
      const f = c.inflight;
      if (!f?.at || f.at.address !== node.address || f.at.index !== entry.index) continue;
      if (f.at.epoch !== entry.epoch || result.t !== 'sent') {
        f.since = Number.NEGATIVE_INFINITY; // another entry took that place: retry
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
    const peerGroup = (key: string) => this.directory.get(key.split('#')[0]!)!;
    if (result.t === 'sent' && result.fresh && this.directory.get(result.to) !== group.name) {
      this.electionsAtSend.set(result.key, electionsOf(group.name) + electionsOf(this.directory.get(result.to)!));
    } else if (result.t === 'received') {
      for (const key of result.stored) {
        const before = this.electionsAtSend.get(key);
        if (before !== undefined && electionsOf(group.name) + electionsOf(peerGroup(key)) > before) this.deliveredAcrossFailover++;
        this.electionsAtSend.delete(key);
      }
    }
  }

  // --------------------------------------------------------------- clients

  private clientStep(chaos: boolean): void {
    const c = this.rng.pick(this.clients);
    if (c.inflight && this.now - c.inflight.since < this.o.clientRetryMs) return;
    if (!c.inflight) {
      if (!chaos) return;
      const pool = c.cross.length > 0 && (c.local.length === 0 || this.rng.chance(this.o.crossShare)) ? c.cross : c.local;
      c.inflight = { message: { key: `${c.user}#${c.next}`, from: c.user, to: this.rng.pick(pool) }, since: this.now };
    }
    const leaders = this.groups.get(c.group)!.readyLeaders();
    if (leaders.length === 0) return;
    const leader = this.rng.pick(leaders);
    const { key, from, to } = c.inflight.message;
    const at = this.groups.get(c.group)!.propose(leader, [encodeOp({ t: 'send', key, from, to })], this.now);
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
      if (roll < this.o.outageShare && down.length === 0) {
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
      this.nextCut = this.now + this.exp(this.o.cutEveryMs);
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
    if (this.clients.some((c) => c.inflight)) return false;
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
        const boxes = [...n.durable.state.outbox].map(([d, b]) => `${d}:${b.delivered}/${b.last}`).join(' ');
        out.push(s ? `${n.address}: ${s.role} e${s.epoch} last=${s.lastIndex} commit=${s.commitIndex} applied=${s.appliedIndex} isr=${s.inSync.join('')} waiting=${s.waitingReason} outbox ${boxes}` : `${n.address}: down`);
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
      for (const n of g.nodes) if (canonical(n.durable.state) !== digest) this.fail(`${n.address}'s state differs from ${reference.address}'s`);
      states.set(g.name, reference.durable.state);
    }
    const home = (user: string) => this.directory.get(user)!;
    // How many copies of each message the recipients' groups hold; each sender's messages in its order.
    const stored = new Map<string, number>();
    for (const [g, s] of states) {
      for (const [user, list] of s.received) {
        if (home(user) !== g) this.fail(`${g} stored messages for ${user}, who lives in ${home(user)}`);
        const lastOf = new Map<string, number>();
        for (const m of list) {
          stored.set(m.key, (stored.get(m.key) ?? 0) + 1);
          const n = Number(m.key.split('#')[1]);
          if ((lastOf.get(m.from) ?? 0) >= n) this.fail(`${user} received ${m.from}'s messages out of send order: ${m.key} after #${lastOf.get(m.from)}`);
          lastOf.set(m.from, n);
        }
      }
    }
    // Every committed send (each acknowledged one among them) stored exactly once at the recipient; nothing else stored.
    let committed = 0;
    for (const [g, s] of states) {
      for (const [user, list] of s.sent) {
        if (home(user) !== g) this.fail(`${g} stored a send of ${user}, who lives in ${home(user)}`);
        for (const m of list) {
          committed++;
          const copies = stored.get(m.key) ?? 0;
          if (copies !== 1) this.fail(`${m.key} (${m.from} in ${g} → ${m.to} in ${home(m.to)}) is stored ${copies} times on the recipient's side`);
        }
      }
    }
    const storedTotal = [...stored.values()].reduce((a, b) => a + b, 0);
    if (storedTotal !== committed) this.fail(`recipients hold ${storedTotal} messages, senders committed ${committed}: something was stored that was never sent`);
    for (const [g, s] of states) {
      for (const [dest, box] of s.outbox) {
        if (box.delivered !== box.last || box.entries.length > 0) this.fail(`${g}'s outbox to ${dest} is not drained: delivered ${box.delivered} of ${box.last}`);
        const high = states.get(dest)!.inbox.get(g) ?? 0;
        if (high !== box.last) this.fail(`${dest}'s inbox from ${g} stands at ${high}, ${g}'s outbox at ${box.last}`);
      }
    }
    for (const [user, list] of this.acked) {
      const sent = states.get(home(user))!.sent.get(user) ?? [];
      const position = new Map(sent.map((m, i) => [m.key, i]));
      let last = -1;
      for (const m of list) {
        const at = position.get(m.key);
        if (at === undefined) this.fail(`${m.key} was acknowledged to ${user} but is not in ${home(user)}'s committed state`);
        if (at < last) this.fail(`${user}'s acknowledged messages are out of order in ${home(user)}`);
        last = at;
      }
    }
  }

  // ----------------------------------------------------------------- trace

  private note(line: string): void {
    this.trace.push(`t=${this.now} ${line}`);
    if (this.trace.length > 400) this.trace.splice(0, 200);
  }

  fail(message: string): never {
    throw new SimulationFailure(`${message}\n  replay: ${this.o.replay}\n  last events:\n    ${this.trace.slice(-30).join('\n    ')}`);
  }
}

/** A canonical text of a state, to compare replicas. */
function canonical(s: MailboxState): string {
  const sorted = <V>(m: Map<string, V>) => [...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify([[...s.keys].sort(), sorted(s.sent), sorted(s.received), sorted(s.outbox), sorted(s.inbox)]);
}
