/**
 * One replica group in the multi-group simulation: real ReplicaCores (the
 * production replication core), each with durable state that survives its
 * crashes (hard state, log, and a state machine applied from committed
 * entries, as SQLite holds them in a real replica), driven by a shared
 * virtual clock and the shared simulated network.
 *
 * The group checks the replication invariants it relies on as it goes: one
 * leader per epoch, the same entry applied at an index on every replica,
 * entries applied once and in order. The state machine is the caller's.
 */
import { ReplicaCore } from '../../src/server/replication/core.js';
import { policyFor } from '../../src/server/replication/quorum.js';
import type { Rng } from '../../src/server/replication/rng.js';
import type {
  Entry,
  LogBase,
  NodeId,
  PeerMessage,
  PersistedState,
  ReplicationLimits,
  ReplicationTimings,
} from '../../src/server/replication/types.js';

/** A deterministic state machine: applied to committed ops in log order on every replica. */
export interface StateMachine<S, R> {
  initial(): S;
  /** Applies one committed op to `state` (in place) and returns what the proposer answers. */
  apply(state: S, op: Uint8Array): R;
  /** A deep copy: a snapshot sent to a peer, which must not share anything with the sender's state. */
  clone(state: S): S;
}

interface Durable<S> {
  hard: PersistedState['hard'];
  base: LogBase;
  entries: Entry[];
  appliedIndex: number;
  state: S;
}

export interface GroupNode<S> {
  readonly id: NodeId;
  /** "group/replica": its network address. */
  readonly address: string;
  durable: Durable<S>;
  /** undefined while crashed. */
  core: ReplicaCore | undefined;
}

/** A peer message between two replicas of a group, with the state machine image when it carries a snapshot. */
export interface PeerPacket<S> {
  kind: 'peer';
  message: PeerMessage;
  snapshot?: S;
}

export interface GroupHooks<S, R> {
  /** Puts a peer message on the network (it may be lost); returns false when it was dropped on the way out. */
  send(from: GroupNode<S>, to: string, packet: PeerPacket<S>): boolean;
  /** An op was applied on `node` with this result; `first` when no replica of the group had applied that index before. */
  applied(node: GroupNode<S>, entry: Entry, result: R, first: boolean): void;
  /** `node` stopped leading (or crashed): whatever it was about to answer will not be answered by it. */
  leadershipLost(node: GroupNode<S>): void;
  note(line: string): void;
  fail(message: string): never;
}

export interface GroupOptions {
  timings?: Partial<ReplicationTimings>;
  limits?: Partial<ReplicationLimits>;
  mode?: 'in-sync' | 'majority';
}

const dec = new TextDecoder();
/** The text of an op entry, decoded once however many replicas apply it. */
const texts = new WeakMap<Uint8Array, string>();
function text(data: Uint8Array): string {
  let t = texts.get(data);
  if (t === undefined) texts.set(data, (t = dec.decode(data)));
  return t;
}

function describe(e: Entry): string {
  return `${e.kind} of epoch ${e.epoch}${e.kind === 'op' ? ` ${text(e.data)}` : ''}`;
}

export class ReplicaGroup<S, R> {
  readonly nodes: GroupNode<S>[];
  private readonly byId = new Map<NodeId, GroupNode<S>>();
  /** index → the entry first applied there, anywhere in the group. */
  private readonly appliedAt = new Map<number, Entry>();
  private readonly leaderOfEpoch = new Map<number, NodeId>();
  /** Snapshots received and not installed yet, by receiver. */
  private readonly snapshotInbox = new Map<NodeId, S>();
  elections = 0;
  snapshots = 0;
  crashes = 0;
  outages = 0;

  constructor(
    readonly name: string,
    ids: readonly NodeId[],
    private readonly machine: StateMachine<S, R>,
    private readonly rng: Rng,
    private readonly hooks: GroupHooks<S, R>,
    private readonly options: GroupOptions,
    now: number,
  ) {
    const bootstrap = ids.map((id) => ({ id, address: id }));
    this.nodes = ids.map((id) => {
      const init = ReplicaCore.initialState(bootstrap);
      const node: GroupNode<S> = {
        id,
        address: `${name}/${id}`,
        core: undefined,
        durable: { ...init, state: machine.initial() },
      };
      this.byId.set(id, node);
      return node;
    });
    for (const n of this.nodes) this.boot(n, now);
  }

  node(id: NodeId): GroupNode<S> {
    const n = this.byId.get(id);
    if (!n) this.hooks.fail(`${this.name} has no replica ${id}`);
    return n;
  }

  /** The replicas that lead and serve (normally one; in majority mode an old leader may not know yet). */
  readyLeaders(): GroupNode<S>[] {
    return this.nodes.filter((n) => n.core?.isReadyLeader);
  }

  boot(node: GroupNode<S>, now: number): void {
    const d = node.durable;
    node.core = new ReplicaCore(
      {
        id: node.id,
        bootstrap: [],
        seed: this.rng.int(1, 2 ** 31),
        timings: this.options.timings,
        limits: this.options.limits,
        policy: policyFor(this.options.mode ?? 'in-sync'),
      },
      { hard: { ...d.hard }, base: d.base, entries: [...d.entries], appliedIndex: d.appliedIndex },
      now,
    );
    this.drain(node, now);
  }

  crash(node: GroupNode<S>): void {
    if (!node.core) return;
    node.core = undefined;
    this.crashes++;
    this.snapshotInbox.delete(node.id);
    this.hooks.leadershipLost(node);
  }

  tick(now: number): void {
    for (const n of this.nodes) {
      if (!n.core) continue;
      n.core.tick(now);
      this.drain(n, now);
    }
  }

  /** Proposes ops on `node` (a ready leader); returns where they will be, or undefined when it cannot. */
  propose(node: GroupNode<S>, ops: Uint8Array[], now: number): { firstIndex: number; epoch: number } | undefined {
    if (!node.core?.isReadyLeader) return undefined;
    const r = node.core.propose(ops, now);
    if (!r.ok) return undefined;
    this.drain(node, now);
    return { firstIndex: r.firstIndex, epoch: r.epoch };
  }

  /** A peer packet arrived at `node` (dropped when it is down). */
  receive(node: GroupNode<S>, packet: PeerPacket<S>, now: number): void {
    const sender = this.byId.get(packet.message.from);
    if (!node.core) {
      if (packet.snapshot !== undefined && sender) this.snapshotLost(sender, node.id, now);
      return;
    }
    if (packet.snapshot !== undefined) this.snapshotInbox.set(node.id, packet.snapshot);
    node.core.receive(packet.message, now);
    this.drain(node, now);
    if (packet.snapshot !== undefined && sender?.core) {
      // The transport tells the sender a live peer got the whole snapshot.
      sender.core.snapshotDelivered(node.id, now);
      this.drain(sender, now);
    }
  }

  /** Every replica up, one ready leader, and every replica's log and state at the leader's last index. */
  converged(): boolean {
    const leaders = this.readyLeaders();
    if (leaders.length !== 1) return false;
    const last = leaders[0]!.core!.lastIndex;
    return this.nodes.every(
      (n) => n.core !== undefined && n.core.lastIndex === last && n.durable.appliedIndex === last,
    );
  }

  private snapshotLost(sender: GroupNode<S>, to: NodeId, now: number): void {
    if (!sender.core) return;
    sender.core.snapshotFailed(to, now);
    this.drain(sender, now);
  }

  /** Carries out a replica's actions in order against its durable state. */
  private drain(node: GroupNode<S>, now: number): void {
    const core = node.core;
    if (!core) return;
    for (const a of core.takeActions()) {
      const d = node.durable;
      switch (a.type) {
        case 'persist':
          if (a.truncateFrom !== undefined) d.entries = d.entries.filter((e) => e.index < a.truncateFrom!);
          d.entries.push(...a.entries);
          if (a.hard) d.hard = { ...a.hard };
          break;
        case 'apply':
          for (const e of a.entries) this.applyEntry(node, e);
          break;
        case 'compact':
          d.base = a.base;
          d.entries = d.entries.filter((e) => e.index > a.base.index);
          break;
        case 'installSnapshot': {
          const image = this.snapshotInbox.get(node.id);
          if (image === undefined) this.hooks.fail(`${node.address} installs a snapshot it never received`);
          this.snapshotInbox.delete(node.id);
          d.state = image;
          d.appliedIndex = a.base.index;
          d.base = a.base;
          d.entries = d.entries.filter((e) => e.index >= a.keepFrom);
          this.snapshots++;
          this.hooks.note(`${node.address} installed a snapshot @${a.base.index}`);
          break;
        }
        case 'sendSnapshot': {
          if (d.appliedIndex !== a.lastIndex)
            this.hooks.fail(`${node.address} snapshots at ${a.lastIndex} but applied ${d.appliedIndex}`);
          const message: PeerMessage = {
            from: node.id,
            to: a.to,
            epoch: core.epoch,
            force: a.force,
            incarnation: '',
            body: { type: 'snapshot', lastIndex: a.lastIndex, lastEpoch: a.lastEpoch, config: a.config },
          };
          if (
            !this.hooks.send(node, `${this.name}/${a.to}`, {
              kind: 'peer',
              message,
              snapshot: this.machine.clone(d.state),
            })
          )
            this.snapshotLost(node, a.to, now);
          break;
        }
        case 'send':
          this.hooks.send(node, `${this.name}/${a.message.to}`, { kind: 'peer', message: a.message });
          break;
        case 'leadership':
          this.hooks.note(`${node.address} ${a.leading ? 'leads' : 'stops leading'} in epoch ${a.epoch}`);
          if (!a.leading) this.hooks.leadershipLost(node);
          break;
        case 'event':
          if (a.kind === 'safety.violation') this.hooks.fail(`${node.address}: ${a.message}`);
          if (a.kind === 'election.won') {
            this.elections++;
            const epoch = a.fields.epoch as number;
            const prior = this.leaderOfEpoch.get(epoch);
            if (prior !== undefined && prior !== node.id)
              this.hooks.fail(`${this.name}: two leaders in epoch ${epoch}: ${prior} and ${node.id}`);
            this.leaderOfEpoch.set(epoch, node.id);
            this.hooks.note(`${node.address} won epoch ${epoch}`);
          }
          break;
      }
    }
  }

  private applyEntry(node: GroupNode<S>, e: Entry): void {
    const d = node.durable;
    if (e.index !== d.appliedIndex + 1) this.hooks.fail(`${node.address} applies ${e.index} after ${d.appliedIndex}`);
    d.appliedIndex = e.index;
    const first = this.appliedAt.get(e.index);
    if (first === undefined) this.appliedAt.set(e.index, e);
    else if (
      first.epoch !== e.epoch ||
      first.kind !== e.kind ||
      (first.data !== e.data && text(first.data) !== text(e.data))
    ) {
      this.hooks.fail(
        `${node.address} applied a different entry at ${e.index} than another replica of ${this.name}: ${describe(e)} vs ${describe(first)}`,
      );
    }
    if (e.kind !== 'op') return;
    this.hooks.applied(node, e, this.machine.apply(d.state, e.data), first === undefined);
  }
}
