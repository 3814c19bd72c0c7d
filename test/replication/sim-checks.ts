/**
 * What the two simulators share: the invariants they check (the core's,
 * simulator.ts, and the real driver's, driver-simulator.ts) and the faults
 * they schedule besides their own crashes.
 */
import { createHash } from 'node:crypto';
import { decodeConfig, votersOf } from '../../src/server/replication/membership.js';
import type { Rng } from '../../src/server/replication/rng.js';
import type { Config, Entry, NodeId, PeerMessage, ReplicationTimings } from '../../src/server/replication/types.js';

/** What both simulators schedule: the cluster, the clients, and the faults. */
export interface ScheduleOptions {
  seed: number;
  nodes?: number;
  /** Virtual milliseconds of chaos, then a calm phase that must converge. */
  durationMs?: number;
  dropRate?: number;
  duplicateRate?: number;
  maxDelayMs?: number;
  /** Mean ms between crash/restart decisions. */
  faultEveryMs?: number;
  /** Mean ms between client sends. */
  sendEveryMs?: number;
  /** Small limits so compaction and snapshots happen in short runs. */
  compactThreshold?: number;
  retainEntries?: number;
  timings?: Partial<ReplicationTimings>;
  /** Replication mode: 'in-sync' (default) survives crashes and pauses; 'majority' also partitions. */
  mode?: 'in-sync' | 'majority';
  /** Mean ms between network partitions (0 for none; in-sync mode does not survive them). */
  partitionEveryMs?: number;
  /**
   * Mean ms between process pauses of 100 to 1,500 ms (0 for none): the process neither runs nor reads while paused;
   * what was sent to it waits, and it resumes with its timers or with that backlog first.
   */
  pauseEveryMs?: number;
  /** Mean ms between membership changes asked of the leader (0 for none): adding a fresh replica or removing one. */
  membershipEveryMs?: number;
  /** Replicas the run may ever create, the first `nodes` included. */
  maxNodes?: number;
  /**
   * Mean ms between operator forces while no leader serves and a replica is down (0 for none): a random running voter
   * is forced to lead, accepting the loss of what only the missing ones held.
   */
  forceEveryMs?: number;
  /**
   * The chance that a restart uses another data directory (0 for never): a new, empty one (the old set aside), or,
   * when one is set aside, that older one again.
   */
  swapDirChance?: number;
}

/** An acknowledged client op: its id, the lineage (forced epoch) of the leader that acknowledged it, and when. */
export interface Ack {
  opId: string;
  lineage: number;
  at: number;
}

/** An invariant broke; its message names the seed that replays it. */
export class SimulationFailure extends Error {}

export class Invariants {
  /**
   * "lineage:index" → what was applied there first, committed in that lineage; anything else applied there in the
   * same lineage is a violation. (A force may abandon what a superseded lineage committed: see finalStates.)
   */
  private readonly appliedAt = new Map<string, string>();
  private readonly leaderOfEpoch = new Map<number, NodeId>();

  constructor(private readonly fail: (message: string) => never) {}

  /**
   * An entry applied at its index must be the same on every replica that committed it in the same lineage (committed
   * entries never change within a lineage; `lineage` is the core's committedLineage).
   */
  applied(node: NodeId, e: Entry, lineage: number): void {
    const fingerprint = `${e.epoch}/${e.kind}/${createHash('sha1').update(e.data).digest('hex')}`;
    const key = `${lineage}:${e.index}`;
    const first = this.appliedAt.get(key);
    if (first === undefined) this.appliedAt.set(key, fingerprint);
    else if (first !== fingerprint)
      this.fail(`${node} applied a different entry at ${e.index} (lineage ${lineage}): ${fingerprint} vs ${first}`);
  }

  /** At most one leader per epoch. */
  elected(node: NodeId, epoch: number): void {
    const prior = this.leaderOfEpoch.get(epoch);
    if (prior !== undefined && prior !== node) this.fail(`two leaders in epoch ${epoch}: ${prior} and ${node}`);
    this.leaderOfEpoch.set(epoch, node);
  }

  /**
   * One voter added or removed per config entry, relative to the config before it in the same log: the rule that
   * keeps any two majorities of consecutive configurations overlapping. Epoch slots never change.
   */
  configAppended(node: NodeId, prev: Config, entry: Entry): void {
    if (prev.replicas.length === 0) return; // a replica being added learns its first configuration
    const next = decodeConfig(entry);
    // A forced configuration may change many voters at once (majority mode: the forced replica is the only one): the
    // force's lineage, not majorities overlapping, fences the history it supersedes.
    if (next.force > prev.force) return;
    const a = new Set(votersOf(prev));
    const b = new Set(votersOf(next));
    const changed = [...a].filter((v) => !b.has(v)).length + [...b].filter((v) => !a.has(v)).length;
    if (changed > 1)
      this.fail(
        `${node} appended config ${entry.index} changing ${changed} voters at once: {${[...a].join(',')}} -> {${[...b].join(',')}}`,
      );
    for (const r of next.replicas) {
      const old = prev.replicas.find((x) => x.id === r.id);
      if (old && old.slot !== r.slot)
        this.fail(`${r.id}'s epoch slot changed from ${old.slot} to ${r.slot} at ${entry.index}`);
    }
  }

  /**
   * Once converged: every member's state is the same, with every acknowledged op exactly once, in each client's order,
   * except the ops `abandoned` says a force was allowed to lose (see the core simulator's abandonedBy).
   */
  finalStates(
    members: readonly { id: NodeId; applied: readonly string[] }[],
    acked: ReadonlyMap<string, readonly Ack[]>,
    abandoned: (ack: Ack) => boolean = () => false,
  ): void {
    const reference = members[0]!;
    for (const { id, applied } of members) {
      if (applied.join(',') !== reference.applied.join(',')) this.fail(`${id}'s state differs from ${reference.id}'s`);
      const position = new Map(applied.map((op, i) => [op, i]));
      for (const [client, ops] of acked) {
        let last = -1;
        for (const ack of ops) {
          const at = position.get(ack.opId);
          if (at === undefined) {
            if (abandoned(ack)) continue;
            this.fail(`acknowledged op ${ack.opId} of ${client} (lineage ${ack.lineage}) is missing on ${id}`);
          }
          if (at < last) this.fail(`${client}'s ops applied out of send order on ${id}`);
          last = at;
        }
      }
      if (new Set(applied).size !== applied.length) this.fail(`${id} applied an op twice`);
    }
  }
}

/** How a simulator crashes and restarts its replicas. */
export interface FaultTarget<N extends { id: NodeId }> {
  isUp(n: N): boolean;
  isLeader(n: N): boolean;
  crash(n: N): void;
  restart(n: N): void;
  note(line: string): void;
}

/**
 * A crash-or-restart roll, carried out: now and then a total outage (when all are up), more often a restart of a
 * replica that is down, otherwise a crash (the leader half the time: failover is what matters).
 */
export function rollFault<N extends { id: NodeId }>(rng: Rng, all: readonly N[], target: FaultTarget<N>): void {
  const down = all.filter((n) => !target.isUp(n));
  const up = all.filter((n) => target.isUp(n));
  const roll = rng.next();
  if (roll < 0.1 && up.length === all.length) {
    for (const n of all) target.crash(n);
    target.note('TOTAL OUTAGE');
  } else if (down.length > 0 && (roll < 0.55 || up.length === 0)) {
    const n = rng.pick(down);
    target.restart(n);
    target.note(`restart ${n.id}`);
  } else if (up.length > 0) {
    const leader = up.find((n) => target.isLeader(n));
    const n = leader && rng.chance(0.5) ? leader : rng.pick(up);
    target.crash(n);
    target.note(`crash ${n.id}`);
  }
}

/** Partitions (two-way splits and one-way links) and process pauses, as both simulators schedule them. */
export class NetworkFaults {
  /** Directed links that drop everything: "A>B". */
  readonly blocked = new Set<string>();
  private healAt = Number.POSITIVE_INFINITY;
  /** Paused replicas and when they resume. */
  readonly pausedUntil = new Map<NodeId, number>();
  partitions = 0;
  pauses = 0;

  constructor(
    private readonly rng: Rng,
    private readonly every: { partitionMs: number; pauseMs: number },
    private readonly note: (line: string) => void,
  ) {}

  isPaused(id: NodeId, now: number): boolean {
    return (this.pausedUntil.get(id) ?? 0) > now;
  }

  isBlocked(from: NodeId, to: NodeId): boolean {
    return this.blocked.has(`${from}>${to}`);
  }

  /** Heals what is due (everything once calm), and in chaos maybe cuts links or pauses a replica that `canPause`. */
  step(now: number, chaos: boolean, ids: readonly NodeId[], canPause: (id: NodeId) => boolean): void {
    if (now >= this.healAt || !chaos) {
      this.blocked.clear();
      this.healAt = Number.POSITIVE_INFINITY;
    }
    if (!chaos) return;
    if (this.every.partitionMs > 0 && this.blocked.size === 0 && this.rng.chance(1 / this.every.partitionMs)) {
      this.partitions++;
      if (this.rng.chance(0.5)) {
        const side = new Set(ids.filter(() => this.rng.chance(0.5)));
        for (const a of ids) for (const b of ids) if (side.has(a) !== side.has(b)) this.blocked.add(`${a}>${b}`);
        this.note(`PARTITION {${[...side].join('')}} | {${ids.filter((i) => !side.has(i)).join('')}}`);
      } else {
        const a = this.rng.pick(ids);
        const b = this.rng.pick(ids.filter((i) => i !== a));
        this.blocked.add(`${a}>${b}`);
        this.note(`ONE-WAY ${a} -/-> ${b}`);
      }
      this.healAt = now + this.rng.int(200, 2_000);
    }
    if (this.every.pauseMs > 0 && this.rng.chance(1 / this.every.pauseMs)) {
      const n = this.rng.pick(ids);
      if (!canPause(n) || this.isPaused(n, now)) return;
      this.pauses++;
      this.pausedUntil.set(n, now + this.rng.int(100, 1_500));
      this.note(`PAUSE ${n}`);
    }
  }
}

/**
 * Takes the messages due by `now` to replicas that are not paused out of `network`, in delivery order (by due time,
 * then by when they were sent); the rest stay in flight.
 */
export function takeDue<M extends { at: number; seq: number; message: PeerMessage }>(
  network: M[],
  now: number,
  isPaused: (id: NodeId) => boolean,
): M[] {
  const due = network
    .filter((m) => m.at <= now && !isPaused(m.message.to))
    .sort((a, b) => a.at - b.at || a.seq - b.seq);
  if (due.length === 0) return due;
  const delivered = new Set(due);
  const rest = network.filter((m) => !delivered.has(m));
  network.length = 0;
  network.push(...rest);
  return due;
}
