/**
 * `chat-ops status`: one sweep of every replica, as a table or JSON, and an exit
 * status for scripts: 0 with exactly one leader and every replica up, 1 otherwise.
 */
import type { ClusterApi, ReplicaProbe } from '../../client/api.js';
import { assessHealth, statusJson, type ClusterHealth } from '../model/health.js';
import { mixedVersionsLine, versionSpread } from '../model/versions.js';
import { emptyMemory, layoutTable, learnMembers, remember, replicaRows, type ReplicaMemory } from '../model/replica-table.js';
import type { CommandIo } from './io.js';

/** The summary line above the table. */
export function summaryLine(probes: readonly ReplicaProbe[], health: ClusterHealth): string {
  const lead = health.leader ? `leader ${health.leader.id} (${health.leader.address}) epoch ${health.leader.epoch}` : health.claimants.length > 1 ? `${health.claimants.length} replicas claim to lead` : 'NO LEADER';
  const mode = probes.flatMap((p) => (p.up ? [p.status.mode] : [])).find((m) => m !== '');
  const restored = probes.flatMap((p) => (p.up ? [p.status.clusterId] : [])).find((id) => id !== '');
  const learners = health.learners.length > 0 ? ` · learner${health.learners.length > 1 ? 's' : ''} ${health.learners.join(', ')} (being added)` : '';
  return `${lead} · ${health.up}/${probes.length} up${mode ? ` · mode ${mode}` : ''}${restored ? ` · cluster id ${restored}` : ''}${learners} · ${health.healthy ? 'healthy' : 'NOT HEALTHY'}`;
}

/** One sweep, plus the members' ids (from FindLeader) so replicas that are down still show their names. */
export async function sweep(cluster: ClusterApi): Promise<{ probes: ReplicaProbe[]; memory: ReplicaMemory }> {
  const [probes, members] = await Promise.all([cluster.statusAll(), cluster.findLeader().then((v) => v.replicas, () => [])]);
  const memory = remember(learnMembers(emptyMemory(), members), probes, Date.now());
  return { probes, memory };
}

/** Prints the report of one sweep; returns the exit status. */
export function printStatus(probes: readonly ReplicaProbe[], io: CommandIo, json: boolean, memory: ReplicaMemory = emptyMemory(), now = Date.now()): number {
  const health = assessHealth(probes);
  if (json) {
    io.out(`${JSON.stringify(statusJson(probes, health), null, 2)}\n`);
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

export async function runStatus(cluster: ClusterApi, io: CommandIo, options: { json?: boolean }): Promise<number> {
  const { probes, memory } = await sweep(cluster);
  return printStatus(probes, io, options.json === true, memory);
}
