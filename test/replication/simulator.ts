/**
 * A deterministic simulation of a cluster of replication cores: virtual time,
 * a network that drops, delays, duplicates and reorders, crashes and restarts
 * with persisted state, total outages, process pauses and (for majority mode)
 * partitions, operators forcing a leader during outages, and replicas started
 * on an empty data directory or on an older one. Every step is checked against
 * the design's invariants; a failure names the seed that replays it.
 */
import { ReplicaCore } from '../../src/server/replication/core.js';
import { decodeConfig, recordedIncarnation, votersOf } from '../../src/server/replication/membership.js';
import { policyFor } from '../../src/server/replication/quorum.js';
import { Rng } from '../../src/server/replication/rng.js';
import type {
  Entry,
  LogBase,
  MembershipChange,
  NodeId,
  PeerMessage,
  PersistedState,
  ReplicationTimings,
} from '../../src/server/replication/types.js';
import {
  Invariants,
  NetworkFaults,
  rollFault,
  SimulationFailure,
  takeDue,
  type Ack,
  type ScheduleOptions,
} from './sim-checks.js';

export type SimOptions = ScheduleOptions & {
  /** Mean ms between leadership transfers asked of the leader (0 for none), to a random voter or to whichever it picks. */
  transferEveryMs?: number;
};
export { SimulationFailure };

interface Durable {
  /** The data directory's incarnation. */
  incarnation: string;
  hard: PersistedState['hard'];
  base: LogBase;
  entries: Entry[];
  appliedIndex: number;
  /** The state machine: ids of client ops in apply order (each applied once, as idempotency keys make it). */
  applied: string[];
  appliedSet: Set<string>;
  quarantined: number;
}

interface SimNode {
  id: NodeId;
  durable: Durable;
  /** The data directory a swap set aside (older by now). */
  aside?: Durable;
  /** What a new empty data directory of this replica starts with: the founders, or nothing for a replica added later. */
  bootstrap: { id: NodeId; address: string }[];
  core: ReplicaCore | undefined; // undefined while crashed
  restarts: number;
}

/** An acknowledged op: who acknowledged it in which lineage (history), and when. */
/** An operator's force: the lineage it starts, the one it superseded, and the ops the forced replica held then. */
interface Force {
  parent: number;
  at: number;
  kept: Set<string>;
}

interface InFlight {
  at: number;
  seq: number;
  message: PeerMessage;
  snapshot?: string[];
}

interface Pending {
  client: string;
  opId: string;
  node: NodeId;
  index: number;
  epoch: number;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

export class Simulation {
  readonly rng: Rng;
  /** Every replica the run has created: the first `nodes` and those added since. */
  readonly ids: NodeId[];
  readonly nodes = new Map<NodeId, SimNode>();
  private readonly o: Required<Omit<SimOptions, 'timings'>> & { timings: Partial<ReplicationTimings> };
  private now = 0;
  private seq = 0;
  private network: InFlight[] = [];
  readonly trace: string[] = [];
  private readonly invariants = new Invariants((message) => this.fail(message));
  /** Acknowledged client ops, per client in send order. */
  readonly acked = new Map<string, Ack[]>();
  /** Operator forces, by the lineage (forced epoch) each started. */
  private readonly forces = new Map<number, Force>();
  /** When a ready leader was last seen (for the operator's forces). */
  private lastLeaderAt = 0;
  private incarnations = 0;
  forced = 0;
  operatorForces = 0;
  dirSwaps = 0;
  /** Acknowledged ops a force abandoned, as the rules allow (see checkFinal); by when they were acknowledged. */
  readonly abandoned = { beforeForce: 0, afterForce: 0, otherForce: 0 };
  private readonly pending: Pending[] = [];
  private readonly clientNext = new Map<string, number>();
  private readonly clientInFlight = new Map<string, { opId: string; since: number }>();
  elections = 0;
  snapshots = 0;
  membershipChanges = 0;
  /** Leadership transfers the leaders accepted, and those that ended with the leader handing over. */
  transfersStarted = 0;
  transfersDone = 0;
  private readonly faults: NetworkFaults;
  /** What a paused process would do first thing on resuming: the transport's reports on snapshots it sent. */
  private readonly onResume = new Map<NodeId, (() => void)[]>();

  constructor(options: SimOptions) {
    this.o = {
      nodes: 3,
      durationMs: 6_000,
      dropRate: 0.02,
      duplicateRate: 0.02,
      maxDelayMs: 15,
      faultEveryMs: 900,
      sendEveryMs: 8,
      compactThreshold: 60,
      retainEntries: 20,
      timings: {},
      mode: 'in-sync',
      partitionEveryMs: 0,
      pauseEveryMs: 0,
      membershipEveryMs: 0,
      maxNodes: (options.nodes ?? 3) + 3,
      forceEveryMs: 0,
      swapDirChance: 0,
      transferEveryMs: 0,
      ...options,
    };
    this.rng = new Rng(options.seed);
    this.faults = new NetworkFaults(
      this.rng,
      { partitionMs: this.o.partitionEveryMs, pauseMs: this.o.pauseEveryMs },
      (line) => this.note(line),
    );
    this.ids = Array.from({ length: this.o.nodes }, (_, i) => String.fromCharCode(65 + i));
    for (const id of this.ids)
      this.create(
        id,
        this.ids.map((i) => ({ id: i, address: i })),
      );
    this.forces.set(0, { parent: -1, at: 0, kept: new Set() });
    for (const c of ['u1', 'u2', 'u3']) {
      this.acked.set(c, []);
      this.clientNext.set(c, 1);
    }
  }

  /** A replica with an empty data directory: of a new cluster (`bootstrap` lists it), or waiting to be added. */
  private create(id: NodeId, bootstrap: { id: NodeId; address: string }[]): void {
    const node: SimNode = { id, restarts: 0, core: undefined, bootstrap, durable: this.emptyDirectory(id, bootstrap) };
    this.nodes.set(id, node);
    this.boot(node);
  }

  /** A new data directory: empty, with an incarnation of its own. */
  private emptyDirectory(id: NodeId, bootstrap: { id: NodeId; address: string }[]): Durable {
    const init = ReplicaCore.initialState(bootstrap);
    return { ...init, incarnation: `${id}.${++this.incarnations}`, applied: [], appliedSet: new Set(), quarantined: 0 };
  }

  /**
   * Whether the cluster can tell another data directory of `n` from this one: its directory holds a configuration that
   * records it, and every replica's log holds the cluster's first configuration (docs/replication.md, "A replica that
   * lost its data": a directory lost before that, in the first moments of a new cluster, is not detected, and replicas
   * with empty logs could found the cluster again without it).
   */
  private recorded(n: SimNode): boolean {
    const d = n.durable;
    const last = d.entries.findLast((e) => e.kind === 'config');
    if (recordedIncarnation(last ? decodeConfig(last) : d.base.config, n.id) !== d.incarnation) return false;
    return [...this.nodes.values()].every((m) => m.durable.base.index > 0 || m.durable.entries.length > 0);
  }

  /** A restart on another data directory: a new empty one (the current one set aside), or the one set aside before. */
  private swapDirectory(n: SimNode): void {
    this.dirSwaps++;
    if (n.aside && this.rng.chance(0.5)) {
      n.durable = n.aside;
      n.aside = undefined;
      this.note(`${n.id} restarts on its older data directory ${n.durable.incarnation}`);
    } else {
      n.aside ??= n.durable;
      n.durable = this.emptyDirectory(n.id, n.bootstrap);
      this.note(`${n.id} restarts on an empty data directory ${n.durable.incarnation}`);
    }
  }

  private boot(node: SimNode): void {
    const d = node.durable;
    node.core = new ReplicaCore(
      {
        id: node.id,
        bootstrap: [],
        seed: this.rng.int(1, 2 ** 31),
        incarnation: d.incarnation,
        timings: this.o.timings,
        policy: policyFor(this.o.mode),
        limits: {
          compactThreshold: this.o.compactThreshold,
          retainEntries: this.o.retainEntries,
          maxBatchEntries: 16,
          maxInflight: 4,
        },
      },
      { hard: { ...d.hard }, base: d.base, entries: [...d.entries], appliedIndex: d.appliedIndex },
      this.now,
    );
    this.drain(node);
  }

  fail(message: string): never {
    throw new SimulationFailure(
      `${message}\n  replay: SIM_SEED=${this.o.seed} npx vitest run test/replication\n  last events:\n    ${this.trace.slice(-25).join('\n    ')}`,
    );
  }

  private note(line: string): void {
    this.trace.push(`t=${this.now} ${line}`);
    if (this.trace.length > 400) this.trace.splice(0, 200);
  }

  /** Carries out a node's actions, in order, against its durable state. */
  private drain(node: SimNode): void {
    const core = node.core!;
    for (const a of core.takeActions()) {
      const d = node.durable;
      switch (a.type) {
        case 'persist': {
          if (a.truncateFrom !== undefined) {
            d.entries = d.entries.filter((e) => e.index < a.truncateFrom!);
            d.quarantined += a.quarantine.length;
          }
          d.entries.push(...a.entries);
          if (a.hard) d.hard = { ...a.hard };
          for (const e of a.entries) if (e.kind === 'config') this.checkSingleChange(node, d, e);
          break;
        }
        case 'apply':
          for (const e of a.entries) this.applyEntry(node, e);
          break;
        case 'compact':
          d.base = a.base;
          d.entries = d.entries.filter((e) => e.index > a.base.index);
          break;
        case 'installSnapshot': {
          const data = this.snapshotInbox.get(node.id);
          if (!data) this.fail(`${node.id} installs a snapshot it never received`);
          this.snapshotInbox.delete(node.id);
          d.applied = [...data.ops];
          d.appliedSet = new Set(data.ops);
          d.appliedIndex = a.base.index;
          d.base = a.base;
          d.entries = d.entries.filter((e) => e.index >= a.keepFrom);
          d.quarantined += a.quarantine.length;
          this.snapshots++;
          this.note(`${node.id} installed snapshot @${a.base.index}`);
          break;
        }
        case 'sendSnapshot': {
          // The state machine as applied up to lastIndex: the node's applied ops (it has applied exactly up to there).
          if (d.appliedIndex !== a.lastIndex)
            this.fail(`${node.id} snapshots at ${a.lastIndex} but applied ${d.appliedIndex}`);
          this.transmit(
            {
              from: node.id,
              to: a.to,
              epoch: core.epoch,
              force: a.force,
              incarnation: d.incarnation,
              body: { type: 'snapshot', lastIndex: a.lastIndex, lastEpoch: a.lastEpoch, config: a.config },
            },
            [...d.applied],
          );
          break;
        }
        case 'send':
          this.transmit(a.message);
          break;
        case 'leadership':
          this.note(`${node.id} leadership ${a.leading} epoch ${a.epoch}`);
          if (!a.leading) this.failPendingOf(node.id);
          break;
        case 'event':
          if (a.kind === 'safety.violation') this.fail(`${node.id}: ${a.message}`);
          if (a.kind === 'election.won') {
            this.elections++;
            this.invariants.elected(node.id, a.fields.epoch as number);
          }
          if (a.kind === 'leader.transfer_done') this.transfersDone++;
          this.note(`${node.id} ${a.kind}: ${a.message}`);
          break;
      }
    }
  }

  /** Checks a config entry against the config before it in the same log. */
  private checkSingleChange(node: SimNode, d: Durable, entry: Entry): void {
    const before = d.entries.filter((e) => e.kind === 'config' && e.index < entry.index).pop();
    this.invariants.configAppended(node.id, before ? decodeConfig(before) : d.base.config, entry);
  }

  /** A snapshot transfer fails visibly to its sender, as a broken stream does. */
  private snapshotLost(message: PeerMessage): void {
    this.whenRunning(this.nodes.get(message.from)!, (core) => core.snapshotFailed(message.to, this.now));
  }

  private isPaused(id: NodeId): boolean {
    return this.faults.isPaused(id, this.now);
  }

  /** Calls into a live replica's core now, or when it resumes if it is paused (nothing if it crashes meanwhile). */
  private whenRunning(node: SimNode, call: (core: ReplicaCore) => void): void {
    const run = () => {
      if (!node.core) return;
      call(node.core);
      this.drain(node);
    };
    if (!this.isPaused(node.id)) run();
    else this.onResume.set(node.id, [...(this.onResume.get(node.id) ?? []), run]);
  }

  private readonly snapshotInbox = new Map<NodeId, { ops: string[] }>();

  private applyEntry(node: SimNode, e: Entry): void {
    const d = node.durable;
    if (e.index !== d.appliedIndex + 1) this.fail(`${node.id} applies ${e.index} after ${d.appliedIndex}`);
    d.appliedIndex = e.index;
    this.invariants.applied(node.id, e, node.core!.committedLineage);
    if (e.kind !== 'op') return;
    const opId = dec.decode(e.data);
    if (!d.appliedSet.has(opId)) {
      d.appliedSet.add(opId);
      d.applied.push(opId);
    }
    // The proposer answers its client once the entry it proposed is applied there.
    for (let i = this.pending.length - 1; i >= 0; i--) {
      const p = this.pending[i]!;
      if (p.node !== node.id || p.index !== e.index) continue;
      this.pending.splice(i, 1);
      if (p.epoch === e.epoch && p.opId === opId) this.ack(p.client, p.opId, node.core!.lineage);
      else this.clientInFlight.get(p.client)!.since = -1; // retry
    }
  }

  private ack(client: string, opId: string, lineage: number): void {
    const list = this.acked.get(client)!;
    if (!list.some((a) => a.opId === opId)) list.push({ opId, lineage, at: this.now });
    const inflight = this.clientInFlight.get(client);
    if (inflight?.opId === opId) {
      this.clientInFlight.delete(client);
      this.clientNext.set(client, this.clientNext.get(client)! + 1);
    }
  }

  private failPendingOf(nodeId: NodeId): void {
    for (let i = this.pending.length - 1; i >= 0; i--) {
      if (this.pending[i]!.node === nodeId) {
        const p = this.pending.splice(i, 1)[0]!;
        const f = this.clientInFlight.get(p.client);
        if (f) f.since = -1;
      }
    }
  }

  private transmit(message: PeerMessage, snapshot?: string[], calm = false): void {
    if (this.faults.isBlocked(message.from, message.to) || (!calm && this.rng.chance(this.o.dropRate))) {
      if (snapshot) this.snapshotLost(message);
      return;
    }
    const copies = !calm && this.rng.chance(this.o.duplicateRate) ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      this.network.push({ at: this.now + 1 + this.rng.int(0, this.o.maxDelayMs), seq: this.seq++, message, snapshot });
    }
  }

  /** Clients: each sends its next op (or retries the unacknowledged one with the same id) to whoever leads. */
  private clientStep(chaos: boolean): void {
    for (const client of this.acked.keys()) {
      if (!this.rng.chance(1 / this.o.sendEveryMs)) continue;
      let inflight = this.clientInFlight.get(client);
      if (!chaos && !inflight) continue; // calm phase: only finish what is in flight
      if (inflight && inflight.since >= 0 && this.now - inflight.since < 400) continue;
      const opId = inflight?.opId ?? `${client}:${this.clientNext.get(client)}`;
      const leaders = [...this.nodes.values()].filter((n) => n.core?.isReadyLeader && !this.isPaused(n.id));
      if (leaders.length === 0) continue;
      const node = this.rng.pick(leaders);
      const r = node.core!.propose([enc.encode(opId)], this.now);
      if (!r.ok) continue;
      inflight = { opId, since: this.now };
      this.clientInFlight.set(client, inflight);
      this.pending.push({ client, opId, node: node.id, index: r.firstIndex, epoch: r.epoch });
      this.drain(node);
    }
  }

  private faultStep(chaos: boolean): void {
    if (!chaos || !this.rng.chance(1 / this.o.faultEveryMs)) return;
    const all = [...this.nodes.values()];
    rollFault(this.rng, all, {
      isUp: (n) => n.core !== undefined,
      isLeader: (n) => n.core!.currentRole === 'leader',
      crash: (n) => this.crash(n),
      restart: (n) => {
        n.restarts++;
        if (this.o.swapDirChance > 0 && this.rng.chance(this.o.swapDirChance) && this.recorded(n))
          this.swapDirectory(n);
        this.boot(n);
      },
      note: (line) => this.note(line),
    });
  }

  /** Partitions (two-way splits and one-way links: what only majority mode survives) and pauses. */
  private networkFaultStep(chaos: boolean): void {
    this.faults.step(this.now, chaos, this.ids, (id) => this.nodes.get(id)!.core !== undefined);
    if (!chaos) for (const id of [...this.faults.pausedUntil.keys()]) this.resume(id);
  }

  /** An operator asks the leader to add a fresh replica or remove one (perhaps the leader itself). */
  private membershipStep(chaos: boolean): void {
    if (!chaos || this.o.membershipEveryMs <= 0 || !this.rng.chance(1 / this.o.membershipEveryMs)) return;
    const leader = [...this.nodes.values()].find((n) => n.core?.isReadyLeader && !this.isPaused(n.id));
    if (!leader) return;
    const cfg = leader.core!.config;
    const voters = votersOf(cfg);
    const canAdd = this.ids.length < this.o.maxNodes;
    const add = canAdd && (voters.length <= 2 || (voters.length < 5 && this.rng.chance(0.5)));
    if (!add && voters.length <= 1) return;
    const change: MembershipChange = add
      ? {
          type: 'add',
          id: String.fromCharCode(65 + this.ids.length),
          address: String.fromCharCode(65 + this.ids.length),
        }
      : { type: 'remove', id: this.rng.pick(cfg.replicas).id };
    const r = leader.core!.changeMembership(change, this.now);
    this.note(
      `MEMBERSHIP ${change.type} ${change.id} asked of ${leader.id}: ${r.ok ? `config at ${r.index}` : r.message}`,
    );
    if (r.ok) {
      this.membershipChanges++;
      if (change.type === 'add') {
        this.ids.push(change.id);
        this.create(change.id, []);
      }
    }
    this.drain(leader);
  }

  /**
   * The operator: during chaos, at random while no leader has served for a while and a replica is down, forces a
   * random running voter (the missing ones return whenever the schedule restarts them). When every replica is back
   * and still no leader serves for long (the last in-sync set, or a majority, lost its data), forces the running
   * replica with the most up-to-date log, as chat-ops suggests.
   */
  private forceStep(chaos: boolean): void {
    const running = [...this.nodes.values()].filter((n) => n.core && !this.isPaused(n.id));
    if (running.some((n) => n.core!.isReadyLeader)) {
      this.lastLeaderAt = this.now;
      return;
    }
    if (chaos) {
      if (this.o.forceEveryMs <= 0 || this.now - this.lastLeaderAt < 600 || running.length === this.nodes.size) return;
      if (!this.rng.chance(1 / this.o.forceEveryMs)) return;
      const start = this.rng.int(0, running.length);
      for (let i = 0; i < running.length; i++) if (this.force(running[(start + i) % running.length]!)) return;
      return;
    }
    if (this.o.swapDirChance <= 0 || this.now - this.lastLeaderAt < 3_000) return;
    const best = [...running].sort(
      (a, b) =>
        b.core!.status(this.now).lastEpoch - a.core!.status(this.now).lastEpoch ||
        b.core!.lastIndex - a.core!.lastIndex,
    );
    for (const n of best) {
      if (this.force(n)) {
        this.operatorForces++;
        this.lastLeaderAt = this.now;
        return;
      }
    }
  }

  /** Forces `n` to lead; records what it held, which the new lineage keeps. */
  private force(n: SimNode): boolean {
    const parent = n.core!.lineage;
    const d = n.durable;
    const kept = new Set([...d.applied, ...d.entries.filter((e) => e.kind === 'op').map((e) => dec.decode(e.data))]);
    const r = n.core!.forceLeader(this.now);
    this.note(`FORCE ${n.id}: ${r.ok ? `epoch ${r.epoch}` : r.reason}`);
    if (r.ok) {
      this.forced++;
      this.forces.set(r.epoch, { parent, at: this.now, kept });
    }
    this.drain(n);
    return r.ok;
  }

  /** An operator (or a SIGTERM) asks the leader to hand leadership over, at any point of the schedule. */
  private transferStep(chaos: boolean): void {
    if (!chaos || this.o.transferEveryMs <= 0 || !this.rng.chance(1 / this.o.transferEveryMs)) return;
    const leader = [...this.nodes.values()].find((n) => n.core?.currentRole === 'leader');
    if (!leader) return;
    const voters = votersOf(leader.core!.config).filter((v) => v !== leader.id);
    const target = voters.length > 0 && this.rng.chance(0.5) ? this.rng.pick(voters) : undefined;
    const r = leader.core!.transferLeadership(target, this.now);
    this.note(`TRANSFER asked of ${leader.id}${target ? ` to ${target}` : ''}: ${r.ok ? `to ${r.to}` : r.reason}`);
    if (r.ok) this.transfersStarted++;
    this.drain(leader);
  }

  private crash(n: SimNode): void {
    n.core = undefined;
    this.faults.pausedUntil.delete(n.id); // a killed process is no longer stopped
    this.onResume.delete(n.id);
    this.failPendingOf(n.id);
    this.snapshotInbox.delete(n.id);
  }

  private deliverDue(): void {
    for (const m of takeDue(this.network, this.now, (id) => this.isPaused(id))) {
      const node = this.nodes.get(m.message.to);
      if (!node)
        this.fail(`${m.message.from} sent ${m.message.body.type} to ${m.message.to}, a replica that was never created`);
      if (!node.core) {
        if (m.snapshot) this.snapshotLost(m.message);
        continue;
      }
      if (m.snapshot) this.snapshotInbox.set(node.id, { ops: m.snapshot });
      node.core.receive(m.message, this.now);
      this.drain(node);
      // The transport tells the sender a live peer got every chunk.
      if (m.snapshot)
        this.whenRunning(this.nodes.get(m.message.from)!, (core) => core.snapshotDelivered(node.id, this.now));
    }
  }

  /**
   * A process resumes: first what the transport reported meanwhile, then either its timers (a tick now) or the backlog
   * of messages (delivered in this step, the tick at the next round ten): Node's event loop may do either, depending
   * on where it stopped.
   */
  private resume(id: NodeId): void {
    this.faults.pausedUntil.delete(id);
    const calls = this.onResume.get(id) ?? [];
    this.onResume.delete(id);
    for (const call of calls) call();
    const n = this.nodes.get(id)!;
    if (!n.core || !this.rng.chance(0.5)) return;
    n.core.tick(this.now);
    this.drain(n);
  }

  private step(chaos: boolean): void {
    this.now += 1;
    for (const [id, until] of [...this.faults.pausedUntil]) if (until <= this.now) this.resume(id);
    this.deliverDue();
    if (this.now % 10 === 0) {
      for (const n of this.nodes.values()) {
        if (!n.core || this.isPaused(n.id)) continue;
        n.core.tick(this.now);
        this.drain(n);
      }
    }
    this.clientStep(chaos);
    this.faultStep(chaos);
    this.networkFaultStep(chaos);
    this.membershipStep(chaos);
    this.forceStep(chaos);
    this.transferStep(chaos);
  }

  /** Chaos, then every replica back and a calm network; the cluster must converge with nothing acknowledged lost. */
  run(): void {
    while (this.now < this.o.durationMs) this.step(true);
    for (const n of this.nodes.values()) if (!n.core) this.boot(n);
    this.o.dropRate = 0;
    this.o.duplicateRate = 0;
    const calmUntil = this.now + (this.o.swapDirChance > 0 ? 12_000 : 8_000);
    while (this.now < calmUntil) {
      this.step(false);
      if (this.now % 500 === 0 && this.converged()) break;
    }
    this.checkFinal();
  }

  /** The replicas of the leader's configuration: the ones that must converge (removed ones are left behind). */
  private members(): SimNode[] {
    const leader = [...this.nodes.values()].find((n) => n.core?.isReadyLeader);
    if (!leader) return [...this.nodes.values()];
    return leader.core!.config.replicas.map((r) => this.nodes.get(r.id)!);
  }

  private converged(): boolean {
    const leader = [...this.nodes.values()].map((n) => n.core!).find((c) => c.isReadyLeader);
    if (!leader || this.clientInFlight.size > 0) return false;
    return this.members().every((n) => n.core!.applied === leader.lastIndex && n.core!.lastIndex === leader.lastIndex);
  }

  private checkFinal(): void {
    if (!this.converged()) {
      const states = [...this.nodes.values()].map((n) => {
        const s = n.core!.status(this.now);
        return `${n.id}: ${s.role} e${s.epoch} last=${s.lastIndex} commit=${s.commitIndex} applied=${s.appliedIndex} caughtUp=${s.caughtUp} isr=${s.inSync.join('')} waiting=${s.waitingReason}`;
      });
      this.fail(`the cluster did not converge after every replica came back:\n    ${states.join('\n    ')}`);
    }
    const members = this.members();
    const reference = members[0]!.durable.applied;
    const finalLineage = [...this.nodes.values()].find((n) => n.core?.isReadyLeader)!.core!.lineage;
    for (const acks of this.acked.values()) {
      for (const ack of acks) {
        const loss = this.abandonedBy(ack, finalLineage);
        if (loss && !reference.includes(ack.opId)) this.abandoned[loss]++;
      }
    }
    this.invariants.finalStates(
      members.map((n) => ({ id: n.id, applied: n.durable.applied })),
      this.acked,
      (ack) => this.abandonedBy(ack, finalLineage) !== undefined,
    );
  }

  /**
   * Whether a force allowed the loss of an acknowledged op, and which: "committed entries never change" holds within a
   * lineage; across a force, what a superseded lineage committed is kept when the forced replica held it, abandoned
   * otherwise. So an op acknowledged in lineage L must survive into the final lineage F when L is F, or an ancestor of
   * F and every force on the way kept it. Otherwise it was abandoned: by the first force that did not keep it, acknowledged
   * before that force (the operator's accepted loss) or after it (a left-behind replica that led its old history alone,
   * not yet knowing of the force); or it was acknowledged in a history that another force superseded ('otherForce').
   */
  private abandonedBy(ack: Ack, finalLineage: number): keyof Simulation['abandoned'] | undefined {
    const path: Force[] = [];
    for (let cur = finalLineage; cur !== ack.lineage;) {
      const f = this.forces.get(cur);
      if (!f || f.parent < 0) return 'otherForce';
      path.push(f);
      cur = f.parent;
    }
    const lostBy = path.reverse().find((f) => !f.kept.has(ack.opId));
    if (!lostBy) return undefined;
    return ack.at < lostBy.at ? 'beforeForce' : 'afterForce';
  }

  summary(): {
    acked: number;
    elections: number;
    snapshots: number;
    quarantined: number;
    restarts: number;
    partitions: number;
    pauses: number;
    membershipChanges: number;
    transfersStarted: number;
    transfersDone: number;
    forced: number;
    operatorForces: number;
    dirSwaps: number;
    abandonedBeforeForce: number;
    abandonedAfterForce: number;
    abandonedOtherForce: number;
  } {
    let quarantined = 0;
    let restarts = 0;
    for (const n of this.nodes.values()) {
      quarantined += n.durable.quarantined;
      restarts += n.restarts;
    }
    const acked = [...this.acked.values()].reduce((s, l) => s + l.length, 0);
    return {
      acked,
      elections: this.elections,
      snapshots: this.snapshots,
      quarantined,
      restarts,
      partitions: this.faults.partitions,
      pauses: this.faults.pauses,
      membershipChanges: this.membershipChanges,
      transfersStarted: this.transfersStarted,
      transfersDone: this.transfersDone,
      forced: this.forced,
      operatorForces: this.operatorForces,
      dirSwaps: this.dirSwaps,
      abandonedBeforeForce: this.abandoned.beforeForce,
      abandonedAfterForce: this.abandoned.afterForce,
      abandonedOtherForce: this.abandoned.otherForce,
    };
  }
}
