/**
 * What a status sweep says about the cluster as a whole: who leads, who is down,
 * who is waited for, and the exit status `chat-ops status` returns.
 */
import type { ClusterMemberView, ReplicaProbe, ReplicaStatusView } from '../../client/api.js';
import { versionSpread, type VersionSpread } from './versions.js';

import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from '../../cli/exit-status.js';

/** Exit statuses of the one-shot commands (documented in `chat-ops --help`); 0, 1 and 2 as for every program. */
export { EXIT_OK, EXIT_USAGE };
export const EXIT_UNHEALTHY = EXIT_FAILURE;
/** add-replica/remove-replica: no leader could be reached, or its answer did not come in time. */
export const EXIT_NO_LEADER = 3;
/** add-replica: the learner was added but is not a voting member within --timeout. */
export const EXIT_WAIT_TIMEOUT = 4;
/** force-leader, add-replica, remove-replica: no operator credentials, or the cluster refused them. */
export const EXIT_CREDENTIALS = 5;

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
  /** Exactly one leader and every member up (a replica that is no longer a member may be down). */
  healthy: boolean;
  /** Human-readable reasons it is not healthy, empty when it is. */
  problems: string[];
  exitCode: typeof EXIT_OK | typeof EXIT_UNHEALTHY;
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

export function assessHealth(probes: readonly ReplicaProbe[]): ClusterHealth {
  const statuses = upStatuses(probes);
  const members = configuration(probes);
  const claimants = statuses.filter((s) => s.role === 'leader').map((s) => ({ id: s.id, address: s.address, epoch: s.epoch }));
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
    problems.push(waiting.size > 0 ? `no leader: waiting for ${[...waiting].join(', ')}${waitingReason ? ` (${waitingReason})` : ''}` : 'no leader');
  }
  if (claimants.length > 1) {
    problems.push(`${claimants.length} replicas claim to lead: ${claimants.map((c) => `${c.id} (epoch ${c.epoch})`).join(', ')}`);
  }
  for (const p of downProbes) {
    // A replica removed from the configuration may be stopped for good.
    if (p.up || outsideConfiguration(members, p.address)) continue;
    const member = members.find((m) => m.address === p.address);
    const who = member ? `${member.learner ? 'learner ' : ''}${member.id} (${p.address})` : p.address;
    problems.push(`${who} is down: ${shortError(p.error)}`);
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
    problems,
    exitCode: healthy ? EXIT_OK : EXIT_UNHEALTHY,
  };
}

export interface StatusJson {
  leader: LeaderSummary | null;
  healthy: boolean;
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
    | { address: string; up: false; error: string }
  )[];
}

/** The `status --json` document: `leader`, `healthy`, `problems`, `waitingFor` and one entry per replica in server-list order. */
export function statusJson(probes: readonly ReplicaProbe[], health: ClusterHealth = assessHealth(probes)): StatusJson {
  const spread = versionSpread(probes);
  return {
    leader: health.leader,
    healthy: health.healthy,
    problems: health.problems,
    waitingFor: health.waitingFor,
    members: health.members,
    learners: health.learners,
    versions: spread.builds,
    mixedVersions: spread.mixed,
    replicas: probes.map((p) => (p.up ? { ...p.status, address: p.address, up: true as const, rttMs: p.rttMs } : { address: p.address, up: false as const, error: p.error })),
  };
}
