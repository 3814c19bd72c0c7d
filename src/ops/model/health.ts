/**
 * What a status sweep says about the cluster as a whole: who leads, who is down,
 * who is waited for, and the exit status `chat-ops status` returns.
 */
import type { ClusterMemberView, ReplicaProbe, ReplicaStatusView } from '../../client/api.js';
import { versionSpread, type VersionSpread } from './versions.js';

import {
  EXIT_CREDENTIALS,
  EXIT_FAILURE,
  EXIT_NO_LEADER,
  EXIT_NOT_SERVING,
  EXIT_OK,
  EXIT_USAGE,
  EXIT_WAIT_TIMEOUT,
} from '../../cli/exit-status.js';

/** Exit statuses of the one-shot commands (documented in `chat-ops --help`), from the one table in cli/exit-status.ts. */
export { EXIT_CREDENTIALS, EXIT_NO_LEADER, EXIT_NOT_SERVING, EXIT_OK, EXIT_USAGE, EXIT_WAIT_TIMEOUT };
/** status: serving (one leader) but degraded; other commands: refused or failed. */
export const EXIT_UNHEALTHY = EXIT_FAILURE;

/** When a member counts as lagging, and a learner as stuck (`chat-ops status --max-lag-entries/--max-lag-seconds`). */
export interface HealthThresholds {
  /** A voting member more entries behind the leader's log than this is lagging. */
  lagEntries: number;
  /** A member that has not held the leader's commit index for this long is lagging (a learner: stuck). */
  lagMs: number;
}

export const DEFAULT_THRESHOLDS: HealthThresholds = { lagEntries: 1_000, lagMs: 10_000 };

export interface LeaderSummary {
  id: string;
  address: string;
  epoch: number;
}

export interface ClusterHealth {
  /** The one replica that leads, or null when none or several claim to. */
  leader: LeaderSummary | null;
  /** Every replica that says it leads (more than one means a stale leader has not stepped down yet). */
  claimants: LeaderSummary[];
  up: number;
  down: number;
  /** Replicas named in some replica's waitingFor (a total outage waits for them), with the reason. */
  waitingFor: string[];
  waitingReason: string;
  /** The configuration as the authoritative status knows it (empty when no replica answers). */
  members: ClusterMemberView[];
  /** Ids of the members that are learners: being added, without a vote yet. */
  learners: string[];
  /**
   * Exactly one leader, every member up, in the in-sync set and within the lag thresholds, no learner stuck, no
   * replica that lost its data or was left behind by a force or has more committed entries to apply than the entry
   * threshold, nobody waiting for a replica (a replica that is no longer a member may be down).
   */
  healthy: boolean;
  /** One leader serves writes (healthy or degraded). */
  serving: boolean;
  /** Human-readable reasons it is not healthy, empty when it is. */
  problems: string[];
  exitCode: typeof EXIT_OK | typeof EXIT_UNHEALTHY | typeof EXIT_NOT_SERVING;
}

function upStatuses(probes: readonly ReplicaProbe[]): ReplicaStatusView[] {
  return probes.flatMap((p) => (p.up ? [p.status] : []));
}

/** The status whose view of the cluster to trust: the leader with the highest epoch, else the highest epoch seen. */
export function authoritativeStatus(probes: readonly ReplicaProbe[]): ReplicaStatusView | undefined {
  const statuses = upStatuses(probes);
  const byEpoch = (a: ReplicaStatusView, b: ReplicaStatusView) => b.epoch - a.epoch;
  return statuses.filter((s) => s.role === 'leader').sort(byEpoch)[0] ?? [...statuses].sort(byEpoch)[0];
}

/** A gRPC error message shortened to what an operator needs. */
export function shortError(error: string): string {
  if (/ECONNREFUSED|connection refused/i.test(error)) return 'connection refused';
  if (/DEADLINE_EXCEEDED|deadline|timed? ?out/i.test(error)) return 'timed out';
  if (/ENOTFOUND|EAI_AGAIN/i.test(error)) return 'unknown host';
  if (/ECONNRESET/i.test(error)) return 'connection reset';
  if (/certificate|SSL|TLS|handshake/i.test(error)) return `TLS: ${error.replace(/^(\d+ )?[A-Z_]+: /, '')}`;
  return error.replace(/^(\d+ )?[A-Z_]+: /, '').split('\n')[0]!;
}

/** The configuration a sweep shows: the authoritative status's members (empty when unknown). */
export function configuration(probes: readonly ReplicaProbe[]): ClusterMemberView[] {
  return authoritativeStatus(probes)?.members ?? [];
}

/**
 * Whether a probed address is outside the configuration: only when the
 * configuration is known (members are probed at their configured addresses,
 * so a member never hides behind another spelling of its address).
 */
export function outsideConfiguration(members: readonly ClusterMemberView[], address: string): boolean {
  return members.length > 0 && !members.some((m) => m.address === address);
}

/** What the leader's view of its followers, and each replica's own state, say is wrong (with one leader serving). */
function standingProblems(
  statuses: readonly ReplicaStatusView[],
  leader: ReplicaStatusView | undefined,
  down: ReadonlySet<string>,
  thresholds: HealthThresholds,
): string[] {
  const problems: string[] = [];
  const seconds = (ms: number) => `${Math.round(ms / 1000)} s`;
  for (const p of leader?.peers ?? []) {
    if (down.has(p.id)) continue; // reported as down
    if (p.dataLost) {
      problems.push(
        `${p.id} lost data it had acknowledged (another data directory, or its log went back): the leader brings it back; see its replica.data_lost event`,
      );
    } else if (p.learner) {
      if (p.behindMs > thresholds.lagMs)
        problems.push(
          `learner ${p.id} is stuck: ${p.lagEntries} entries behind for ${seconds(p.behindMs)} (state ${p.state})`,
        );
    } else if (!p.inSync) {
      problems.push(`${p.id} is out of the in-sync set${p.lagEntries > 0 ? ` (${p.lagEntries} entries behind)` : ''}`);
    } else if (p.lagEntries > thresholds.lagEntries || p.behindMs > thresholds.lagMs) {
      problems.push(
        `${p.id} lags: ${p.lagEntries} entries behind${p.behindMs > 0 ? `, for ${seconds(p.behindMs)}` : ''}`,
      );
    }
  }
  const reported = new Set((leader?.peers ?? []).filter((p) => p.dataLost).map((p) => p.id));
  for (const s of statuses) {
    if (s.leftBehind)
      problems.push(
        `${s.id} was left behind by a forced leader (lineage ${s.lineage}) and waits to be brought up to date`,
      );
    if (s.dataLost && !reported.has(s.id))
      problems.push(`${s.id} lost its data: ${s.waitingReason || 'it waits for the leader to bring it back'}`);
    // In step by its log, but its state trails: a follower back from a long catch-up applies its backlog after it
    // rejoined (the log comes first). Were it to lead now, it would serve only once that backlog is applied.
    const backlog = s.commitIndex - s.appliedIndex;
    if (backlog > thresholds.lagEntries)
      problems.push(`${s.id} is applying a backlog: ${backlog} committed entries not applied yet`);
    if (s.role !== 'leader' && s.waitingFor.length > 0)
      problems.push(`${s.id} waits for ${s.waitingFor.join(', ')}${s.waitingReason ? ` (${s.waitingReason})` : ''}`);
  }
  return problems;
}

export function assessHealth(
  probes: readonly ReplicaProbe[],
  thresholds: HealthThresholds = DEFAULT_THRESHOLDS,
): ClusterHealth {
  const statuses = upStatuses(probes);
  const members = configuration(probes);
  const claimants = statuses
    .filter((s) => s.role === 'leader')
    .map((s) => ({ id: s.id, address: s.address, epoch: s.epoch }));
  const leader = claimants.length === 1 ? claimants[0]! : null;
  const downProbes = probes.filter((p) => !p.up);
  const waiting = new Set<string>();
  let waitingReason = '';
  for (const s of statuses) {
    if (s.waitingFor.length === 0) continue;
    for (const w of s.waitingFor) waiting.add(w);
    if (!waitingReason) waitingReason = s.waitingReason;
  }

  const problems: string[] = [];
  if (probes.length === 0) problems.push('no replicas to ask');
  if (claimants.length === 0 && probes.length > 0) {
    problems.push(
      waiting.size > 0
        ? `no leader: waiting for ${[...waiting].join(', ')}${waitingReason ? ` (${waitingReason})` : ''}`
        : 'no leader',
    );
  }
  if (claimants.length > 1) {
    problems.push(
      `${claimants.length} replicas claim to lead: ${claimants.map((c) => `${c.id} (epoch ${c.epoch})`).join(', ')}`,
    );
  }
  for (const p of downProbes) {
    // A replica removed from the configuration may be stopped for good.
    if (p.up || outsideConfiguration(members, p.address)) continue;
    const member = members.find((m) => m.address === p.address);
    const who = member ? `${member.learner ? 'learner ' : ''}${member.id} (${p.address})` : p.address;
    problems.push(`${who} is down: ${shortError(p.error)}`);
  }

  const serving = claimants.length === 1;
  if (serving) {
    const downIds = new Set(downProbes.flatMap((p) => members.filter((m) => m.address === p.address).map((m) => m.id)));
    problems.push(
      ...standingProblems(
        statuses,
        statuses.find((s) => s.role === 'leader'),
        downIds,
        thresholds,
      ),
    );
  }
  const healthy = problems.length === 0;
  return {
    leader,
    claimants,
    up: statuses.length,
    down: downProbes.length,
    waitingFor: [...waiting].sort(),
    waitingReason,
    members,
    learners: members.filter((m) => m.learner).map((m) => m.id),
    healthy,
    serving,
    problems,
    exitCode: !serving ? EXIT_NOT_SERVING : healthy ? EXIT_OK : EXIT_UNHEALTHY,
  };
}

export interface StatusJson {
  leader: LeaderSummary | null;
  healthy: boolean;
  /** One leader serves writes (true also when degraded). */
  serving: boolean;
  problems: string[];
  waitingFor: string[];
  /** The configuration: voting members and learners. */
  members: ClusterMemberView[];
  learners: string[];
  /** The builds the replicas run (their own statuses, else what their peers heard); more than one: mixed. */
  versions: VersionSpread['builds'];
  mixedVersions: boolean;
  replicas: (
    | ({ address: string; up: true; rttMs: number } & Omit<ReplicaStatusView, 'address'>)
    /** A replica that is down: its id as the configuration (or an earlier answer) names it, '' when unknown. */
    | { id: string; address: string; up: false; error: string }
  )[];
}

/**
 * The `status --json` document: `leader`, `healthy`, `serving`, `problems`, `waitingFor` and one entry per replica in
 * server-list order, each with its id (a down one's from the configuration or `ids`, address → id from earlier answers).
 */
export function statusJson(
  probes: readonly ReplicaProbe[],
  health: ClusterHealth = assessHealth(probes),
  ids: ReadonlyMap<string, string> = new Map(),
): StatusJson {
  const idOf = (address: string) => health.members.find((m) => m.address === address)?.id ?? ids.get(address) ?? '';
  const spread = versionSpread(probes);
  return {
    leader: health.leader,
    healthy: health.healthy,
    serving: health.serving,
    problems: health.problems,
    waitingFor: health.waitingFor,
    members: health.members,
    learners: health.learners,
    versions: spread.builds,
    mixedVersions: spread.mixed,
    replicas: probes.map((p) =>
      p.up
        ? { ...p.status, address: p.address, up: true as const, rttMs: p.rttMs }
        : { id: idOf(p.address), address: p.address, up: false as const, error: p.error },
    ),
  };
}
