/**
 * A small interpreter for the scenario scripts of scenarios.test.ts: replicas
 * of the pure replication core on a network of our own, in virtual time, where
 * a script says exactly what happens — who campaigns, which messages arrive or
 * are lost, who crashes, pauses, restarts — and each command prints what the
 * replicas reported (their events) or what was asked (status, logs, messages).
 *
 * Commands (`X` is a replica id; `[...]` optional):
 *   cluster A B C [mode=majority] [compact=N retain=M] [window=N]   a new cluster of these replicas (window: entries
 *                          in flight to a follower before the leader waits for its acks)
 *   run MS                 time passes; every message arrives at once (except to crashed, paused or cut-off replicas)
 *   tick MS [X ...]        time passes, every replica's timers run (or only those named), nothing arrives
 *   stabilize              deliver messages until there are none, no time passing
 *   deliver [from=X] [to=X] [type=T]   deliver what is queued (matching), once; replies are queued
 *   drop [from=X] [to=X] [type=T]      lose what is queued (matching)
 *   queue                  the messages in flight
 *   campaign X             X campaigns now (as if its election timeout had passed)
 *   propose X TEXT [count=N]   X is asked to append a client op (N of them: TEXT-1 .. TEXT-N)
 *   add X [on=Y] / remove X [on=Y]    a membership change asked of the leader (or of Y)
 *   force X                an operator forces X to lead
 *   crash X / restart X    kill the process / start it again on its data
 *   wipe X                 X (crashed) gets a new, empty data directory (a new incarnation); the old one is set aside
 *   restore X              X (crashed) gets back the data directory wipe set aside (older now)
 *   pause X / resume X     stop the process (SIGSTOP) / let it run again (SIGCONT)
 *   cut X [Y ...]          isolate these replicas from the others (both ways)
 *   block X Y              lose what X sends to Y (one way)
 *   heal                   end every cut and block
 *   status [X ...]         each replica's state in a line
 *   log X                  X's log: index@epoch kind
 *
 * Messages to a paused replica wait for it (a socket's buffer); messages to a
 * crashed one are lost. Every replica's seed is fixed, so a script replays exactly.
 */
import { ReplicaCore } from '../../../src/server/replication/core.js';
import { decodeConfig, describeConfig, votersOf } from '../../../src/server/replication/membership.js';
import { policyFor } from '../../../src/server/replication/quorum.js';
import type {
  Action,
  Entry,
  LogBase,
  NodeId,
  PeerMessage,
  PersistedState,
  ReplicationLimits,
} from '../../../src/server/replication/types.js';

/** What survives a crash: the log, the hard state, the state machine (op texts in apply order), the directory's incarnation. */
type Durable = Omit<PersistedState, 'entries'> & { entries: Entry[]; applied: string[]; incarnation: string };

interface Replica {
  id: NodeId;
  core: ReplicaCore | undefined;
  paused: boolean;
  durable: Durable;
  /** The data directory `wipe` set aside. */
  aside?: Durable;
  /** How many data directories it has had (incarnations are X1, X2, ...). */
  directories: number;
  /** Its bootstrap list, for a new empty directory. */
  bootstrap: { id: NodeId; address: string }[];
}

interface InFlight {
  message: PeerMessage;
  /** For a snapshot: the state machine it carries. */
  state?: string[];
}

const STEP_MS = 5;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class ScenarioCluster {
  private now = 0;
  private readonly replicas = new Map<NodeId, Replica>();
  private queue: InFlight[] = [];
  /** Links that lose everything: "A>B". */
  private readonly blocked = new Set<string>();
  private mode: 'in-sync' | 'majority' = 'in-sync';
  private limits: Partial<ReplicationLimits> = { compactThreshold: 1_000_000, retainEntries: 1_000 };
  private readonly snapshotInbox = new Map<NodeId, string[]>();
  private out: string[] = [];

  /** Runs one command line; returns what it printed. */
  run(line: string): string {
    this.out = [];
    const [command, ...words] = line.trim().split(/\s+/);
    const args = words.filter((w) => !w.includes('='));
    const opts = Object.fromEntries(words.filter((w) => w.includes('=')).map((w) => w.split('=') as [string, string]));
    switch (command) {
      case 'cluster':
        this.cluster(args, opts);
        break;
      case 'run':
        this.advance(Number(args[0]), true);
        break;
      case 'tick':
        this.advance(Number(args[0]), false, args.slice(1));
        break;
      case 'stabilize':
        this.stabilize();
        break;
      case 'deliver':
        this.deliver(opts);
        break;
      case 'drop':
        this.queue = this.queue.filter((m) => !matches(m.message, opts));
        break;
      case 'queue':
        for (const m of this.queue) this.out.push(describeMessage(m.message));
        if (this.queue.length === 0) this.out.push('(empty)');
        break;
      case 'campaign':
        this.onCore(args[0]!, (core) => {
          if (!core.campaignNow(this.now))
            this.out.push(
              `${core.id} does not campaign: ${core.status(this.now).waitingReason || `it is a ${core.currentRole}${core.isCaughtUp ? '' : ', not caught up'}`}`,
            );
        });
        break;
      case 'propose':
        this.onCore(args[0]!, (core) => {
          const text = args.slice(1).join(' ');
          const ops = opts.count ? Array.from({ length: Number(opts.count) }, (_, i) => `${text}-${i + 1}`) : [text];
          const r = core.propose(
            ops.map((op) => encoder.encode(op)),
            this.now,
          );
          this.out.push(
            r.ok
              ? `${core.id} appended it at ${r.firstIndex} in epoch ${r.epoch}`
              : `${core.id} refused: not the leader (${r.leaderId || 'none known'} is)`,
          );
        });
        break;
      case 'add':
      case 'remove': {
        const id = args[0]!;
        const on = opts.on ?? [...this.replicas.values()].find((r) => r.core?.isReadyLeader)?.id ?? '';
        this.onCore(on, (core) => {
          const r = core.changeMembership(
            command === 'add' ? { type: 'add', id, address: id } : { type: 'remove', id },
            this.now,
          );
          this.out.push(
            r.ok ? `${core.id} appended the change at ${r.index}` : `${core.id} refused (${r.reason}): ${r.message}`,
          );
          if (r.ok && command === 'add') this.create(id, []);
        });
        break;
      }
      case 'force':
        this.onCore(args[0]!, (core) => {
          const r = core.forceLeader(this.now);
          if (!r.ok) this.out.push(`refused: ${r.reason}`);
        });
        break;
      case 'crash':
        for (const id of args) {
          const r = this.replica(id);
          r.core = undefined;
          r.paused = false;
          this.queue = this.queue.filter((m) => m.message.to !== id);
        }
        break;
      case 'restart':
        for (const id of args) this.boot(this.replica(id));
        break;
      case 'wipe':
        for (const id of args) {
          const r = this.crashed(id);
          r.aside ??= r.durable;
          r.durable = this.emptyDirectory(r);
        }
        break;
      case 'restore':
        for (const id of args) {
          const r = this.crashed(id);
          if (!r.aside) throw new Error(`${id} has no data directory set aside`);
          r.durable = r.aside;
          r.aside = undefined;
        }
        break;
      case 'pause':
        for (const id of args) this.replica(id).paused = true;
        break;
      case 'resume':
        for (const id of args) this.replica(id).paused = false;
        break;
      case 'cut':
        for (const a of args)
          for (const b of this.replicas.keys()) if (!args.includes(b)) this.blocked.add(`${a}>${b}`).add(`${b}>${a}`);
        break;
      case 'block':
        this.blocked.add(`${args[0]}>${args[1]}`);
        break;
      case 'heal':
        this.blocked.clear();
        break;
      case 'status':
        for (const id of args.length > 0 ? args : [...this.replicas.keys()])
          this.out.push(this.statusLine(this.replica(id)));
        break;
      case 'log':
        this.onCore(args[0]!, (core) => {
          const entries: string[] = [];
          for (let i = this.replica(core.id).durable.base.index + 1; i <= core.lastIndex; i++) {
            const e = core.entryAt(i)!;
            entries.push(
              `${e.index}@${e.epoch} ${e.kind === 'config' ? `config(${describeConfig(decodeConfig(e))}; in sync ${decodeConfig(e).inSync.join(',')})` : decoder.decode(e.data)}`,
            );
          }
          this.out.push(entries.length > 0 ? entries.join('\n') : '(empty)');
        });
        break;
      default:
        throw new Error(`unknown command "${command}"`);
    }
    return this.out.join('\n');
  }

  // ------------------------------------------------------------------ commands

  private cluster(ids: string[], opts: Record<string, string>): void {
    if (opts.mode === 'majority' || opts.mode === 'in-sync') this.mode = opts.mode;
    if (opts.compact)
      this.limits = { ...this.limits, compactThreshold: Number(opts.compact), retainEntries: Number(opts.retain ?? 0) };
    if (opts.window) this.limits = { ...this.limits, maxInflight: 1, maxBatchEntries: Number(opts.window) };
    for (const id of ids)
      this.create(
        id,
        ids.map((i) => ({ id: i, address: i })),
      );
  }

  /** Time passes in small steps; every replica's timers run; with `deliverAll`, every message arrives at once. */
  private advance(ms: number, deliverAll: boolean, only: string[] = []): void {
    for (const end = this.now + ms; this.now < end;) {
      this.now = Math.min(end, this.now + STEP_MS);
      for (const r of this.replicas.values()) {
        if (!r.core || r.paused || (only.length > 0 && !only.includes(r.id))) continue;
        r.core.tick(this.now);
        this.carryOut(r);
      }
      if (deliverAll) this.stabilize();
    }
  }

  private stabilize(): void {
    for (let round = 0; round < 100 && this.deliver({}) > 0; round++);
  }

  /**
   * Delivers the queued messages that match, once; returns how many left the queue. A message to a crashed replica,
   * or over a cut or blocked link, is lost; one to a paused replica waits for it.
   */
  private deliver(filter: Record<string, string>): number {
    const due = this.queue.filter((m) => matches(m.message, filter) && !this.replica(m.message.to).paused);
    this.queue = this.queue.filter((m) => !due.includes(m));
    for (const m of due) {
      const to = this.replica(m.message.to);
      if (!to.core || this.blocked.has(`${m.message.from}>${to.id}`)) continue;
      if (m.state) this.snapshotInbox.set(to.id, m.state);
      to.core.receive(m.message, this.now);
      this.carryOut(to);
    }
    return due.length;
  }

  // -------------------------------------------------------------- replicas

  private create(id: NodeId, bootstrap: { id: NodeId; address: string }[]): void {
    const replica: Replica = {
      id,
      core: undefined,
      paused: false,
      directories: 0,
      bootstrap,
      durable: undefined as unknown as Durable,
    };
    replica.durable = this.emptyDirectory(replica);
    this.replicas.set(id, replica);
    this.boot(replica);
  }

  /** A new, empty data directory for `r`, with the next incarnation. */
  private emptyDirectory(r: Replica): Durable {
    r.directories++;
    return { ...ReplicaCore.initialState(r.bootstrap), applied: [], incarnation: `${r.id}${r.directories}` };
  }

  private crashed(id: string): Replica {
    const r = this.replica(id);
    if (r.core) throw new Error(`${id} is running: crash it first`);
    return r;
  }

  private boot(r: Replica): void {
    const d = r.durable;
    r.paused = false;
    r.core = new ReplicaCore(
      {
        id: r.id,
        bootstrap: [],
        seed: 7 * r.id.charCodeAt(0),
        policy: policyFor(this.mode),
        limits: this.limits,
        incarnation: d.incarnation,
      },
      { hard: { ...d.hard }, base: d.base, entries: [...d.entries], appliedIndex: d.appliedIndex },
      this.now,
    );
    this.carryOut(r);
  }

  private replica(id: string | undefined): Replica {
    const r = id ? this.replicas.get(id) : undefined;
    if (!r) throw new Error(`no replica "${id}"`);
    return r;
  }

  private onCore(id: string, act: (core: ReplicaCore) => void): void {
    const r = this.replica(id);
    if (!r.core) throw new Error(`${id} is crashed`);
    if (r.paused) throw new Error(`${id} is paused`);
    act(r.core);
    this.carryOut(r);
  }

  /** What a driver does with the core's actions, against the replica's durable state; events are printed. */
  private carryOut(r: Replica): void {
    const d = r.durable;
    for (const a of r.core!.takeActions()) {
      switch (a.type) {
        case 'persist':
          if (a.truncateFrom !== undefined) d.entries = d.entries.filter((e) => e.index < a.truncateFrom!);
          d.entries.push(...a.entries);
          if (a.hard) d.hard = { ...a.hard };
          break;
        case 'apply':
          for (const e of a.entries) if (e.kind === 'op') d.applied.push(decoder.decode(e.data));
          d.appliedIndex = a.entries.at(-1)?.index ?? d.appliedIndex;
          break;
        case 'compact':
          d.base = a.base;
          d.entries = d.entries.filter((e) => e.index > a.base.index);
          break;
        case 'installSnapshot':
          this.install(r, a);
          break;
        case 'sendSnapshot':
          this.queue.push({
            message: {
              from: r.id,
              to: a.to,
              epoch: r.core!.epoch,
              force: a.force,
              incarnation: d.incarnation,
              body: { type: 'snapshot', lastIndex: a.lastIndex, lastEpoch: a.lastEpoch, config: a.config },
            },
            state: [...d.applied],
          });
          break;
        case 'send':
          this.queue.push({ message: a.message });
          break;
        case 'event':
          this.out.push(`${r.id} ${a.kind}: ${a.message}`);
          break;
        case 'leadership':
          break;
      }
    }
  }

  private install(r: Replica, a: Extract<Action, { type: 'installSnapshot' }>): void {
    const state = this.snapshotInbox.get(r.id);
    if (!state) throw new Error(`${r.id} installs a snapshot it never received`);
    const base: LogBase = a.base;
    r.durable = {
      ...r.durable,
      base,
      appliedIndex: base.index,
      applied: [...state],
      entries: r.durable.entries.filter((e) => e.index >= a.keepFrom),
    };
  }

  private statusLine(r: Replica): string {
    if (!r.core) return `${r.id}: crashed`;
    const s = r.core.status(this.now);
    const parts = [`${r.id}: ${s.role}${r.paused ? ' (paused)' : ''}`, `epoch ${s.epoch}`];
    if (s.role !== 'leader') parts.push(`leader ${s.leaderId || 'none'}`);
    parts.push(`last ${s.lastIndex}@${s.lastEpoch}`, `commit ${s.commitIndex}`);
    if (s.role !== 'leader') parts.push(s.caughtUp ? 'caught up' : 'not caught up');
    parts.push(`in sync {${s.inSync.join(',')}}`);
    if (votersOf(s.config).join(',') !== [...this.replicas.keys()].sort().join(','))
      parts.push(`voters {${votersOf(s.config).join(',')}}`);
    if (s.force > 0) parts.push(`lineage ${s.force}`);
    if (s.leftBehind) parts.push('left behind');
    if (s.dataLost) parts.push(`lost its data (it is ${s.incarnation}, the cluster knows ${s.recordedIncarnation})`);
    if (s.waitingReason) parts.push(`waiting: ${s.waitingReason}`);
    return parts.join(', ');
  }
}

function matches(m: PeerMessage, filter: Record<string, string>): boolean {
  return (
    (!filter.from || filter.from === m.from) &&
    (!filter.to || filter.to === m.to) &&
    (!filter.type || filter.type === m.body.type)
  );
}

/** A message in a line: sender, receiver, the sender's epoch, the type and what matters in it (not the session numbers). */
function describeMessage(m: PeerMessage): string {
  const b = m.body;
  const head = `${m.from}->${m.to} e${m.epoch} ${b.type}`;
  switch (b.type) {
    case 'append':
      return `${head} after ${b.prevIndex}@${b.prevEpoch} [${b.entries.map((e) => `${e.index}@${e.epoch} ${e.kind}`).join(', ')}] commit ${b.commitIndex}${b.confirmedSession ? ' (vouches)' : ''}`;
    case 'appendReply':
      return `${head} ${b.success ? `match ${b.matchIndex}` : `rejected, hint ${b.hintIndex}${b.rewind ? ' (needs a snapshot)' : ''}`}`;
    case 'promise':
      return `${head}${b.preVote ? ' (pre-vote)' : ''}${b.recovery ? ' (recovery)' : ''} last ${b.lastIndex}@${b.lastEpoch}`;
    case 'promiseReply':
      return `${head}${b.preVote ? ' (pre-vote)' : ''} ${b.granted ? 'granted' : `refused: ${b.reason}`}`;
    case 'snapshot':
    case 'snapshotReply':
      return `${head} ${b.lastIndex}`;
    default:
      return head;
  }
}
