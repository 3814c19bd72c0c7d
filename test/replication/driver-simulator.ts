/**
 * The real replica driver (ReplicaDriver, and so the core it drives) in a
 * deterministic simulation: virtual time for its clock and timers, an
 * in-memory network that drops, delays, duplicates and reorders, and for each
 * replica a disk that fails the way real ones do under the real segmented log
 * (test/support/memory-disk.ts: unsynced writes lost or torn by a crash,
 * failing syncs) and a state store that loses its unsynced transactions to a
 * crash. So the driver's ordering — what is durable before which message
 * leaves, what is applied when, whom it answers — is checked by the same
 * invariants as the core's: one leader per epoch, one voter changed per
 * config entry, the same entry applied at an index everywhere, every
 * acknowledged op applied exactly once in each client's order, and
 * convergence once everyone is back. A failure names the seed that replays it.
 */
import { pino } from 'pino';
import { ReplicaDriver } from '../../src/server/replica/driver.js';
import type { ReplicaEvent } from '../../src/server/replica/events.js';
import type { DriverRuntime, TimerHandle } from '../../src/server/replica/runtime.js';
import type { LogWrite, StoredLog } from '../../src/server/replication/log-storage.js';
import { decodeConfig, votersOf } from '../../src/server/replication/membership.js';
import { Rng } from '../../src/server/replication/rng.js';
import type {
  AppliedEntry,
  SnapshotImage,
  SnapshotPosition,
  StateMachine,
} from '../../src/server/replication/state-machine.js';
import { ClusterMismatchError, type StateStore } from '../../src/server/replication/state-store.js';
import type { ReceivedSnapshot, SnapshotSender, Transport } from '../../src/server/replication/transport.js';
import type {
  Config,
  Entry,
  HardState,
  LogBase,
  MembershipChange,
  NodeId,
  PeerMessage,
  ReplicationTimings,
} from '../../src/server/replication/types.js';
import { SegmentedLog } from '../../src/server/storage/segmented-log.js';
import { MemoryDisk, MemoryLogFiles } from '../support/memory-disk.js';
import {
  Invariants,
  NetworkFaults,
  rollFault,
  SimulationFailure,
  takeDue,
  type Ack,
  type ScheduleOptions,
} from './sim-checks.js';

/** The schedule of sim-checks.ts without operator forces and directory swaps (the core simulator's). */
export interface DriverSimOptions extends Omit<ScheduleOptions, 'forceEveryMs' | 'swapDirChance'> {
  /** Chance that a log sync fails (the replica must stop, as on a failing disk). A crash is a power cut: unsynced writes are lost or torn. */
  syncFailure?: number;
  /** The longest a disk write or sync takes, in virtual ms. */
  maxDiskMs?: number;
}

const enc = new TextEncoder();
const dec = new TextDecoder();
const silent = pino({ level: 'silent' });

/** Virtual time, shared by the replicas of a simulation. */
export interface VirtualTime {
  readonly now: number;
  nextSeq(): number;
}

/** Virtual time as a driver sees it: its timers, its disk's completions and its setImmediate queue. */
export class NodeClock implements DriverRuntime {
  private timers: { at: number; seq: number; fn: () => void; cancelled: boolean }[] = [];
  private io: { at: number; seq: number; fn: () => void }[] = [];
  private immediates: (() => void)[] = [];
  dead = false;

  constructor(private readonly sim: VirtualTime) {}

  now(): number {
    return this.sim.now;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer = { at: this.sim.now + Math.max(1, ms), seq: this.sim.nextSeq(), fn, cancelled: false };
    this.timers.push(timer);
    return { timer };
  }

  clearTimeout(handle: TimerHandle): void {
    (handle.timer as { cancelled: boolean }).cancelled = true;
  }

  setImmediate(fn: () => void): void {
    this.immediates.push(fn);
  }

  /** A disk completion, `delay` virtual ms from now. */
  later(fn: () => void, delay: number): void {
    this.io.push({ at: this.sim.now + delay, seq: this.sim.nextSeq(), fn });
  }

  /** Timers due, then disk completions due (Node's timers and poll phases). */
  runTimersAndIo(): void {
    const now = this.sim.now;
    const byTime = (a: { at: number; seq: number }, b: { at: number; seq: number }) => a.at - b.at || a.seq - b.seq;
    const timers = this.timers.filter((t) => t.at <= now).sort(byTime);
    if (timers.length > 0) this.timers = this.timers.filter((t) => t.at > now && !t.cancelled);
    for (const t of timers) {
      if (this.dead) return;
      if (!t.cancelled) t.fn();
    }
    const io = this.io.filter((t) => t.at <= now).sort(byTime);
    if (io.length > 0) this.io = this.io.filter((t) => t.at > now);
    for (const t of io) {
      if (this.dead) return;
      t.fn();
    }
  }

  /** The check phase, until nothing more was set. */
  runImmediates(): void {
    for (let round = 0; round < 100 && this.immediates.length > 0 && !this.dead; round++) {
      const batch = this.immediates;
      this.immediates = [];
      for (const fn of batch) {
        if (this.dead) return;
        fn();
      }
    }
  }
}

/** What the state store holds after a commit. `ops` is shared and append-only; `length` says how much is this state's. */
interface DbState {
  ops: string[];
  length: number;
  position: SnapshotPosition;
  cluster?: string;
  mode?: string;
  /** The data directory's identity (StateStore.identity): the replica it belongs to and its incarnation. */
  replica?: NodeId;
  incarnation?: string;
  quarantined: number;
}

/** A replica's database: committed states, the last durable one, and a crash that keeps any prefix of the rest. */
export class SimDatabase {
  private commits: DbState[];

  constructor(position: SnapshotPosition) {
    this.commits = [{ ops: [], length: 0, position, quarantined: 0 }];
  }

  get current(): DbState {
    return this.commits[this.commits.length - 1]!;
  }

  /** What a crash keeps for sure. */
  get durable(): DbState {
    return this.commits[0]!;
  }

  commit(state: DbState, durable: boolean): void {
    this.commits = durable ? [state] : [...this.commits, state];
  }

  crash(rng: Rng): void {
    this.commits = [this.commits[rng.int(0, this.commits.length)]!];
  }
}

/** The state machine (op ids in apply order, each once: idempotency keys) and its store, over a SimDatabase. */
export class SimState implements StateStore, StateMachine<string, string> {
  private work: DbState | undefined;
  /** Where each op is in `ops` (valid while it is there within the state's length). */
  private index: Map<string, number>;

  constructor(
    private readonly db: SimDatabase,
    private readonly checkApplied: (entry: Entry) => void,
  ) {
    this.index = new Map(this.ops().map((op, i) => [op, i]));
  }

  private get state(): DbState {
    return this.work ?? this.db.current;
  }

  open(cluster: string, mode: string, initial: SnapshotPosition): SnapshotPosition {
    const cur = this.db.current;
    if (cur.cluster === undefined) {
      this.db.commit({ ...cur, cluster, mode, position: initial }, true);
      return initial;
    }
    if (cur.cluster !== cluster || cur.mode !== mode)
      throw new ClusterMismatchError(`another cluster's state: ${cur.cluster} ${cur.mode}`);
    return cur.position;
  }

  identity(replica: NodeId): string {
    const cur = this.db.current;
    if (cur.replica !== undefined && cur.replica !== replica)
      throw new ClusterMismatchError(`replica ${cur.replica}'s state, not ${replica}'s`);
    if (cur.incarnation !== undefined) return cur.incarnation;
    // One directory per replica for the whole run (this simulator swaps none): its incarnation is named after it.
    const incarnation = `dir-${replica}`;
    this.db.commit({ ...cur, replica, incarnation }, true);
    return incarnation;
  }

  transaction(writes: () => void, durable: boolean): void {
    this.work = { ...this.db.current };
    try {
      writes();
      this.db.commit(this.work, durable);
    } finally {
      this.work = undefined;
    }
  }

  setApplied(position: SnapshotPosition): void {
    this.work!.position = position;
  }

  quarantine(entries: readonly Entry[]): void {
    this.work!.quarantined += entries.length;
  }

  quarantinedCount(): number {
    return this.db.current.quarantined;
  }

  encode(op: string): Uint8Array {
    return enc.encode(op);
  }

  apply(entry: Entry): AppliedEntry<string, string> {
    this.checkApplied(entry);
    const op = dec.decode(entry.data);
    const work = this.work!;
    if (!this.has(work, op)) {
      work.ops.length = work.length; // drop what rolled-back transactions left
      this.index.set(op, work.ops.length);
      work.ops.push(op);
      work.length++;
    }
    return { op, outcome: op };
  }

  digest(): string {
    return this.ops().join(',');
  }

  snapshot(): Promise<SnapshotImage> {
    return Promise.resolve({ ...this.db.current.position, data: Buffer.from(JSON.stringify(this.ops())) });
  }

  restore(data: Buffer): void {
    const ops = JSON.parse(data.toString('utf8')) as string[];
    this.work!.ops = ops;
    this.work!.length = ops.length;
    this.index = new Map(ops.map((op, i) => [op, i]));
  }

  ops(): string[] {
    const s = this.state;
    return s.ops.slice(0, s.length);
  }

  private has(s: DbState, op: string): boolean {
    const at = this.index.get(op);
    return at !== undefined && at < s.length && s.ops[at] === op;
  }
}

/** The segmented log, checking each config entry it is given against the configuration before it in the same log. */
class CheckedLog extends SegmentedLog {
  private knownConfigs: Config[] = [];
  private knownBase: Config | undefined;

  constructor(
    files: MemoryLogFiles,
    private readonly check: (prev: Config, entry: Entry) => void,
    /** Called before a write that drops entries is queued: what they were must be kept by then. */
    private readonly beforeTruncation: () => void,
  ) {
    super(files, { segmentBytes: 2_000 });
  }

  override load(initial: { hard: HardState; base: LogBase }): StoredLog {
    const log = super.load(initial);
    this.knownBase = log.base.config;
    this.knownConfigs = log.entries.filter((e) => e.kind === 'config').map(decodeConfig);
    return log;
  }

  override append(write: LogWrite): number {
    if (write.truncateFrom !== undefined) this.beforeTruncation();
    const from = write.entries[0]?.index;
    if (from !== undefined) this.knownConfigs = this.knownConfigs.filter((c) => c.index < from);
    for (const e of write.entries) {
      if (e.kind !== 'config') continue;
      this.check(this.knownConfigs[this.knownConfigs.length - 1] ?? this.knownBase!, e);
      this.knownConfigs.push(decodeConfig(e));
    }
    return super.append(write);
  }

  override reset(base: LogBase, keep: readonly Entry[]): number {
    this.knownBase = base.config;
    this.knownConfigs = keep.filter((e) => e.kind === 'config').map(decodeConfig);
    return super.reset(base, keep);
  }
}

interface SimNode {
  id: NodeId;
  disk: MemoryDisk;
  db: SimDatabase;
  /** undefined while crashed. */
  live:
    | {
        driver: ReplicaDriver<string, string>;
        clock: NodeClock;
        transport: SimTransport;
        state: SimState;
        readyLeader: boolean;
      }
    | undefined;
  join: boolean;
  restarts: number;
  /** The index of the last snapshot it installed. */
  lastSnapshot: number | undefined;
}

/** The network as one replica incarnation sends into it. */
class SimTransport implements Transport {
  closed = false;

  constructor(
    private readonly sim: DriverSimulation,
    private readonly from: NodeId,
    private readonly clock: NodeClock,
  ) {}

  connect(): void {}

  send(message: PeerMessage): void {
    if (!this.closed) this.sim.transmit(message);
  }

  sendSnapshot(to: NodeId, sender: SnapshotSender, position: SnapshotPosition, data: Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(new Error('closed'));
      const { epoch, force, incarnation } = sender;
      const message: PeerMessage = {
        from: this.from,
        to,
        epoch,
        force,
        incarnation,
        body: { type: 'snapshot', ...position },
      };
      // The transport's report reaches the sender through its own event loop (not while it is paused or after it died).
      this.sim.transmit(message, {
        data,
        settle: (ok) => this.clock.setImmediate(() => (ok ? resolve() : reject(new Error(`snapshot to ${to} lost`)))),
      });
    });
  }

  close(): void {
    this.closed = true;
  }
}

interface InFlight {
  at: number;
  seq: number;
  message: PeerMessage;
  snapshot?: { data: Buffer; settle: (ok: boolean) => void };
}

export class DriverSimulation implements VirtualTime {
  readonly rng: Rng;
  readonly ids: NodeId[];
  readonly nodes = new Map<NodeId, SimNode>();
  private readonly o: Required<Omit<DriverSimOptions, 'timings'>> & { timings: Partial<ReplicationTimings> };
  now = 0;
  private seq = 0;
  private network: InFlight[] = [];
  readonly trace: string[] = [];
  private readonly invariants = new Invariants((message) => this.fail(message));
  readonly acked = new Map<string, Ack[]>();
  private readonly clientNext = new Map<string, number>();
  private readonly clientInFlight = new Map<string, { opId: string; since: number; node: NodeId }>();
  private readonly faults: NetworkFaults;
  private failure: SimulationFailure | undefined;
  stats = { elections: 0, snapshots: 0, quarantined: 0, restarts: 0, storageFailures: 0, membershipChanges: 0 };

  constructor(options: DriverSimOptions) {
    this.o = {
      nodes: 3,
      durationMs: 3_000,
      dropRate: 0.02,
      duplicateRate: 0.02,
      maxDelayMs: 15,
      faultEveryMs: 900,
      syncFailure: 0.0003,
      sendEveryMs: 8,
      maxDiskMs: 4,
      compactThreshold: 60,
      retainEntries: 20,
      timings: {},
      mode: 'in-sync',
      partitionEveryMs: 0,
      pauseEveryMs: 0,
      membershipEveryMs: 0,
      maxNodes: (options.nodes ?? 3) + 3,
      ...options,
    };
    this.rng = new Rng(options.seed);
    this.faults = new NetworkFaults(
      this.rng,
      { partitionMs: this.o.partitionEveryMs, pauseMs: this.o.pauseEveryMs },
      (line) => this.note(line),
    );
    this.ids = Array.from({ length: this.o.nodes }, (_, i) => String.fromCharCode(65 + i));
    for (const id of this.ids) this.create(id, false);
    for (const c of ['u1', 'u2', 'u3']) {
      this.acked.set(c, []);
      this.clientNext.set(c, 1);
    }
  }

  nextSeq(): number {
    return this.seq++;
  }

  private create(id: NodeId, join: boolean): void {
    const node: SimNode = {
      id,
      join,
      restarts: 0,
      lastSnapshot: undefined,
      live: undefined,
      disk: new MemoryDisk(new Rng(this.rng.int(1, 2 ** 31)), { syncFailure: this.o.syncFailure }),
      db: new SimDatabase({
        lastIndex: 0,
        lastEpoch: 0,
        config: { replicas: [], inSync: [], nextSlot: 0, force: 0, index: 0, epoch: 0 },
      }),
    };
    this.nodes.set(id, node);
    this.boot(node);
  }

  private boot(node: SimNode): void {
    const clock = new NodeClock(this);
    const transport = new SimTransport(this, node.id, clock);
    // No operator forces in this simulator: every entry is committed in the one lineage, 0.
    const state = new SimState(node.db, (e) => this.invariants.applied(node.id, e, 0));
    const files = new MemoryLogFiles(node.disk, (fn) => clock.later(fn, this.rng.int(0, this.o.maxDiskMs + 1)));
    const log = new CheckedLog(
      files,
      (prev, e) => this.invariants.configAppended(node.id, prev, e),
      () => {
        // The divergent entries a truncation drops are quarantined durably first: never lost silently.
        if (node.db.durable.quarantined !== node.db.current.quarantined)
          this.fail(`${node.id} truncated its log before the quarantine of what it dropped was durable`);
      },
    );
    const live: NonNullable<SimNode['live']> = {
      driver: undefined as unknown as ReplicaDriver<string, string>,
      clock,
      transport,
      state,
      readyLeader: false,
    };
    node.live = live;
    const founders = this.ids.slice(0, this.o.nodes).map((i) => ({ id: i, address: i }));
    live.driver = new ReplicaDriver<string, string>({
      id: node.id,
      cluster: 'sim',
      members: node.join ? [{ id: node.id, address: node.id }] : founders,
      join: node.join,
      stateMachine: state,
      state,
      log,
      transport,
      logger: silent,
      runtime: clock,
      seed: this.rng.int(1, 2 ** 31),
      mode: this.o.mode,
      timings: this.o.timings,
      limits: {
        compactThreshold: this.o.compactThreshold,
        retainEntries: this.o.retainEntries,
        maxBatchEntries: 16,
        maxInflight: 4,
      },
      onFatal: (err) => {
        this.stats.storageFailures++;
        this.note(`${node.id} STOPPED: ${err.message}`);
        this.crash(node);
      },
    });
    live.driver.onLeadershipChange((leading) => {
      live.readyLeader = leading;
      this.note(`${node.id} ready leader: ${leading}`);
    });
    const onEvent = (e: ReplicaEvent) => {
      if (e.kind === 'safety.violation') this.fail(`${node.id}: ${e.message}`);
      if (e.kind === 'snapshot.installed') {
        node.lastSnapshot = Number(e.details.lastIndex);
        this.stats.snapshots++;
      }
      if (e.kind === 'log.quarantined') this.stats.quarantined += Number(e.details.count);
      // Only a snapshot whose new log start a crash lost may put the state ahead of the log: never applying early.
      if (e.kind === 'log.reset' && e.details.index !== node.lastSnapshot) {
        this.fail(
          `${node.id}'s state is ahead of its log at ${String(e.details.index)}, which is no snapshot it installed (last: ${node.lastSnapshot})`,
        );
      }
      if (e.kind === 'election.won') {
        this.stats.elections++;
        this.invariants.elected(node.id, e.epoch);
      }
      this.note(`${node.id} ${e.kind}: ${e.message}`);
    };
    // What it said while starting (before anyone could subscribe), then everything after.
    for (const e of live.driver.events.since(0)) onEvent(e);
    live.driver.events.subscribe(onEvent);
    live.driver.start();
  }

  fail(message: string): never {
    this.failure ??= new SimulationFailure(
      `${message}\n  replay: DRIVER_SIM_SEED=${this.o.seed} npx vitest run test/replication/driver-simulation.test.ts\n  last events:\n    ${this.trace.slice(-30).join('\n    ')}`,
    );
    throw this.failure;
  }

  private note(line: string): void {
    this.trace.push(`t=${this.now} ${line}`);
    if (this.trace.length > 400) this.trace.splice(0, 200);
  }

  transmit(message: PeerMessage, snapshot?: InFlight['snapshot'], calm = false): void {
    if (this.faults.isBlocked(message.from, message.to) || (!calm && this.rng.chance(this.o.dropRate))) {
      snapshot?.settle(false);
      return;
    }
    const copies = !snapshot && this.rng.chance(this.o.duplicateRate) ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      this.network.push({ at: this.now + 1 + this.rng.int(0, this.o.maxDelayMs), seq: this.seq++, message, snapshot });
    }
  }

  private isPaused(id: NodeId): boolean {
    return this.faults.isPaused(id, this.now);
  }

  private running(): SimNode[] {
    return [...this.nodes.values()].filter((n) => n.live && !this.isPaused(n.id));
  }

  private deliverDue(): void {
    for (const m of takeDue(this.network, this.now, (id) => this.isPaused(id))) {
      const node = this.nodes.get(m.message.to);
      if (!node)
        this.fail(`${m.message.from} sent ${m.message.body.type} to ${m.message.to}, a replica that was never created`);
      if (!node.live) {
        m.snapshot?.settle(false);
        continue;
      }
      node.live.driver.deliver(m.message, m.message.from, m.snapshot ? snapshotInMemory(m.snapshot.data) : undefined);
      m.snapshot?.settle(true);
    }
  }

  private clientStep(chaos: boolean): void {
    for (const client of this.acked.keys()) {
      if (!this.rng.chance(1 / this.o.sendEveryMs)) continue;
      const inflight = this.clientInFlight.get(client);
      if (!chaos && !inflight) continue;
      if (inflight && inflight.since >= 0 && this.now - inflight.since < 400) continue;
      const opId = inflight?.opId ?? `${client}:${this.clientNext.get(client)}`;
      const leaders = this.running().filter((n) => n.live!.readyLeader);
      if (leaders.length === 0) continue;
      const node = this.rng.pick(leaders);
      const attempt = { opId, since: this.now, node: node.id };
      this.clientInFlight.set(client, attempt);
      node.live!.driver.submit(opId).then(
        (outcome) => {
          if (outcome !== opId) this.fail(`${client}'s ${opId} was answered with ${outcome}`);
          this.ack(client, opId);
        },
        () => {
          if (this.clientInFlight.get(client) === attempt) attempt.since = -1; // retry
        },
      );
    }
  }

  private ack(client: string, opId: string): void {
    const list = this.acked.get(client)!;
    if (!list.some((a) => a.opId === opId)) list.push({ opId, lineage: 0, at: this.now });
    if (this.clientInFlight.get(client)?.opId === opId) {
      this.clientInFlight.delete(client);
      this.clientNext.set(client, this.clientNext.get(client)! + 1);
    }
  }

  private faultStep(chaos: boolean): void {
    if (!chaos || !this.rng.chance(1 / this.o.faultEveryMs)) return;
    const all = [...this.nodes.values()];
    rollFault(this.rng, all, {
      isUp: (n) => n.live !== undefined,
      isLeader: (n) => n.live!.readyLeader,
      crash: (n) => this.crash(n),
      restart: (n) => {
        n.restarts++;
        this.stats.restarts++;
        this.boot(n);
      },
      note: (line) => this.note(line),
    });
  }

  /** A power cut under one replica: its process is gone, its disk and database keep what they had made durable, and maybe more. */
  private crash(n: SimNode): void {
    const live = n.live;
    if (!live) return;
    live.clock.dead = true;
    live.transport.close();
    n.live = undefined;
    n.disk.crash();
    n.db.crash(this.rng);
    this.faults.pausedUntil.delete(n.id);
    for (const f of this.clientInFlight.values()) if (f.node === n.id) f.since = -1;
  }

  private networkFaultStep(chaos: boolean): void {
    this.faults.step(this.now, chaos, this.ids, (id) => this.nodes.get(id)!.live !== undefined);
    if (!chaos) this.faults.pausedUntil.clear();
  }

  /** An operator starts a fresh replica and asks the leader to add it, or asks to remove one (perhaps the leader). */
  private membershipStep(chaos: boolean): void {
    if (!chaos || this.o.membershipEveryMs <= 0 || !this.rng.chance(1 / this.o.membershipEveryMs)) return;
    const leader = this.running().find((n) => n.live!.readyLeader);
    if (!leader) return;
    const cfg = leader.live!.driver.status().config;
    const voters = votersOf(cfg);
    const canAdd = this.ids.length < this.o.maxNodes;
    const add = canAdd && (voters.length <= 2 || (voters.length < 5 && this.rng.chance(0.5)));
    if (!add && voters.length <= 1) return;
    let change: MembershipChange;
    if (add) {
      const id = String.fromCharCode(65 + this.ids.length);
      this.ids.push(id);
      this.create(id, true);
      change = { type: 'add', id, address: id };
    } else {
      change = { type: 'remove', id: this.rng.pick(cfg.replicas).id };
    }
    this.stats.membershipChanges++;
    this.note(`MEMBERSHIP ${change.type} ${change.id} asked of ${leader.id}`);
    leader.live!.driver.changeMembership(change).then(
      (r) => this.note(`MEMBERSHIP ${change.type} ${change.id} committed at ${r.index}`),
      (err: Error) => this.note(`MEMBERSHIP ${change.type} ${change.id} refused: ${err.message}`),
    );
  }

  private async step(chaos: boolean): Promise<void> {
    this.now += 1;
    for (const [id, until] of [...this.faults.pausedUntil]) if (until <= this.now) this.faults.pausedUntil.delete(id);
    for (const n of this.running()) n.live!.clock.runTimersAndIo();
    this.deliverDue();
    for (const n of this.running()) n.live?.clock.runImmediates();
    this.clientStep(chaos);
    this.faultStep(chaos);
    this.networkFaultStep(chaos);
    this.membershipStep(chaos);
    // Promise callbacks (answers to clients, snapshot transfers) run now, as at the end of a turn of Node's loop.
    for (let i = 0; i < 4; i++) await null;
    if (this.failure) throw this.failure;
  }

  async run(): Promise<void> {
    while (this.now < this.o.durationMs) await this.step(true);
    for (const n of this.nodes.values()) if (!n.live) this.boot(n);
    this.o.dropRate = 0;
    this.o.duplicateRate = 0;
    this.o.syncFailure = 0;
    for (const n of this.nodes.values()) n.disk.faults.syncFailure = 0;
    const calmUntil = this.now + 10_000;
    while (this.now < calmUntil) {
      await this.step(false);
      // A replica stopped by a failing disk is started again once the disk behaves.
      for (const n of this.nodes.values()) if (!n.live) this.boot(n);
      if (this.now % 500 === 0 && this.converged()) break;
    }
    this.checkFinal();
  }

  private leader(): SimNode | undefined {
    return this.running().find((n) => n.live!.readyLeader);
  }

  private members(): SimNode[] {
    const leader = this.leader();
    if (!leader) return [...this.nodes.values()];
    return leader.live!.driver.status().config.replicas.map((r) => this.nodes.get(r.id)!);
  }

  private converged(): boolean {
    const leader = this.leader();
    if (!leader || this.clientInFlight.size > 0) return false;
    const last = leader.live!.driver.status().lastIndex;
    return this.members().every(
      (n) => n.live && n.live.driver.status().lastIndex === last && n.live.driver.digest().appliedIndex === last,
    );
  }

  private checkFinal(): void {
    if (!this.converged()) {
      const states = [...this.nodes.values()].map((n) => {
        if (!n.live) return `${n.id}: down`;
        const s = n.live.driver.status();
        return `${n.id}: ${s.role} e${s.epoch} last=${s.lastIndex} commit=${s.commitIndex} applied=${s.appliedIndex} caughtUp=${s.caughtUp} isr=${s.inSync.join('')} waiting=${s.waitingReason}`;
      });
      this.fail(`the cluster did not converge after every replica came back:\n    ${states.join('\n    ')}`);
    }
    this.invariants.finalStates(
      this.members().map((n) => ({ id: n.id, applied: n.live!.state.ops() })),
      this.acked,
    );
  }

  summary(): DriverSimulation['stats'] & { acked: number; partitions: number; pauses: number } {
    return {
      ...this.stats,
      partitions: this.faults.partitions,
      pauses: this.faults.pauses,
      acked: [...this.acked.values()].reduce((s, l) => s + l.length, 0),
    };
  }
}

/** A received snapshot held in memory, as the network of the simulator hands it over. */
function snapshotInMemory(data: Buffer): ReceivedSnapshot {
  return { bytes: data.length, read: () => data, discard: () => {} };
}
