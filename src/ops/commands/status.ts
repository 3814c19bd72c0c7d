/**
 * `chat-ops status`: one sweep of every replica, as a table or JSON, and an exit
 * status for scripts: 0 with exactly one leader and every replica up, 1 otherwise.
 */
import type { ClusterApi, ReplicaProbe } from '../../client/api.js';
import { assessHealth, statusJson, type ClusterHealth } from '../model/health.js';
import { layoutTable, replicaRows } from '../model/replica-table.js';
import type { CommandIo } from './io.js';

/** The summary line above the table. */
export function summaryLine(probes: readonly ReplicaProbe[], health: ClusterHealth): string {
  const lead = health.leader ? `leader ${health.leader.id} (${health.leader.address}) epoch ${health.leader.epoch}` : health.claimants.length > 1 ? `${health.claimants.length} replicas claim to lead` : 'NO LEADER';
  const mode = probes.flatMap((p) => (p.up ? [p.status.mode] : [])).find((m) => m !== '');
  return `${lead} · ${health.up}/${probes.length} up${mode ? ` · mode ${mode}` : ''} · ${health.healthy ? 'healthy' : 'NOT HEALTHY'}`;
}

/** Prints the report of one sweep; returns the exit status. */
export function printStatus(probes: readonly ReplicaProbe[], io: CommandIo, json: boolean, now = Date.now()): number {
  const health = assessHealth(probes);
  if (json) {
    io.out(`${JSON.stringify(statusJson(probes, health), null, 2)}\n`);
    return health.exitCode;
  }
  const table = layoutTable(replicaRows(probes, now), io.columns);
  const lines = [summaryLine(probes, health), '', table.header, ...table.lines.map((l) => l.text)];
  if (health.problems.length > 0) lines.push('', ...health.problems.map((p) => `problem: ${p}`));
  io.out(`${lines.join('\n')}\n`);
  return health.exitCode;
}

export async function runStatus(cluster: ClusterApi, io: CommandIo, options: { json?: boolean }): Promise<number> {
  const probes = await cluster.statusAll();
  return printStatus(probes, io, options.json === true);
}
