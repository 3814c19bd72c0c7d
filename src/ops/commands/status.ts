/**
 * `chat-ops status`: one sweep of every replica, as a table or JSON, and an exit
 * status for scripts: 0 healthy, 1 serving but degraded, 6 not serving (see
 * assessHealth and `chat-ops --help`).
 */
import type { ClusterApi, ReplicaProbe } from '../../client/api.js';
import {
  assessHealth,
  DEFAULT_THRESHOLDS,
  statusJson,
  type ClusterHealth,
  type HealthThresholds,
} from '../model/health.js';
import { mixedVersionsLine, versionSpread } from '../model/versions.js';
import {
  emptyMemory,
  layoutTable,
  learnMembers,
  remember,
  replicaRows,
  type ReplicaMemory,
} from '../model/replica-table.js';
import type { CommandIo } from './io.js';

/** The summary line above the table. */
export function summaryLine(probes: readonly ReplicaProbe[], health: ClusterHealth): string {
  const lead = health.leader
    ? `leader ${health.leader.id} (${health.leader.address}) epoch ${health.leader.epoch}`
    : health.claimants.length > 1
      ? `${health.claimants.length} replicas claim to lead`
      : 'NO LEADER';
  const mode = probes.flatMap((p) => (p.up ? [p.status.mode] : [])).find((m) => m !== '');
  const restored = probes.flatMap((p) => (p.up ? [p.status.clusterId] : [])).find((id) => id !== '');
  const learners =
    health.learners.length > 0
      ? ` · learner${health.learners.length > 1 ? 's' : ''} ${health.learners.join(', ')} (being added)`
      : '';
  const verdict = health.healthy ? 'healthy' : health.serving ? 'DEGRADED' : 'NOT SERVING';
  return `${lead} · ${health.up}/${probes.length} up${mode ? ` · mode ${mode}` : ''}${restored ? ` · cluster id ${restored}` : ''}${learners} · ${verdict}`;
}

/** One sweep, plus the members' ids (from FindLeader) so replicas that are down still show their names. */
export async function sweep(cluster: ClusterApi): Promise<{ probes: ReplicaProbe[]; memory: ReplicaMemory }> {
  const [probes, members] = await Promise.all([
    cluster.statusAll(),
    cluster.findLeader().then(
      (v) => v.replicas,
      () => [],
    ),
  ]);
  const memory = remember(learnMembers(emptyMemory(), members), probes, Date.now());
  return { probes, memory };
}

/** Prints the report of one sweep; returns the exit status. */
export function printStatus(
  probes: readonly ReplicaProbe[],
  io: CommandIo,
  json: boolean,
  memory: ReplicaMemory = emptyMemory(),
  now = Date.now(),
  thresholds: HealthThresholds = DEFAULT_THRESHOLDS,
): number {
  const health = assessHealth(probes, thresholds);
  if (json) {
    io.out(`${JSON.stringify(statusJson(probes, health, memory.ids), null, 2)}\n`);
    return health.exitCode;
  }
  const table = layoutTable(replicaRows(probes, now, memory), io.columns);
  const lines = [summaryLine(probes, health), '', table.header, ...table.lines.map((l) => l.text)];
  if (health.problems.length > 0) lines.push('', ...health.problems.map((p) => `problem: ${p}`));
  const mixed = mixedVersionsLine(versionSpread(probes));
  if (mixed) lines.push('', `note: ${mixed}`);
  io.out(`${lines.join('\n')}\n`);
  return health.exitCode;
}

export async function runStatus(
  cluster: ClusterApi,
  io: CommandIo,
  options: { json?: boolean; thresholds?: HealthThresholds },
): Promise<number> {
  const { probes, memory } = await sweep(cluster);
  return printStatus(probes, io, options.json === true, memory, Date.now(), options.thresholds);
}
