/**
 * `chat-ops force-leader`: the operator override after a total outage. Shows what
 * is known, says what will be lost, asks for the replica id as confirmation, and
 * reports the new epoch.
 */
import { ChatError, type ClusterApi, type ReplicaProbe, type ReplicaStatusView } from '../../client/api.js';
import { assessHealth, EXIT_CREDENTIALS, EXIT_OK, EXIT_UNHEALTHY, shortError } from '../model/health.js';
import type { ReplicaMemory } from '../model/replica-table.js';
import { printStatus, sweep } from './status.js';
import { askLine, type Ask } from './confirm.js';
import { credentialRefusal, isCredentialRefusal } from './credentials.js';
import type { CommandIo } from './io.js';

export interface ForceLeaderOptions {
  yes?: boolean;
  /** Reads the confirmation; default: a line from standard input. */
  ask?: Ask;
}

/** The replica a target names: its address as listed, or its id. */
export function findTarget(probes: readonly ReplicaProbe[], target: string): ReplicaProbe | undefined {
  return (
    probes.find((p) => p.address === target) ??
    probes.find((p) => p.up && p.status.id.toLowerCase() === target.toLowerCase())
  );
}

/** (lastEpoch, lastIndex) order: which log is more up to date. */
function logAhead(a: ReplicaStatusView, b: ReplicaStatusView): boolean {
  return a.lastEpoch !== b.lastEpoch ? a.lastEpoch > b.lastEpoch : a.lastIndex > b.lastIndex;
}

/** What forcing `target` means, as lines for the operator. */
export function forceWarning(
  probes: readonly ReplicaProbe[],
  target: ReplicaStatusView,
  ids: ReadonlyMap<string, string> = new Map(),
): string[] {
  const health = assessHealth(probes);
  const unreachable = probes.filter((p) => !p.up).map((p) => ids.get(p.address) ?? p.address);
  const waited = health.waitingFor.filter((id) => id !== target.id);
  const lines = [
    `Forcing ${target.id} (${target.address}) to lead:`,
    `  - ${target.id} starts a new epoch with itself as the only member of the in-sync set; the others rejoin as they catch up.`,
    `  - Its log ends at index ${target.lastIndex} (epoch ${target.lastEpoch}); committed up to ${target.commitIndex}.`,
  ];
  const lossFrom = [...new Set([...waited, ...unreachable])];
  lines.push(
    lossFrom.length > 0
      ? `  - Writes held only by ${lossFrom.join(', ')} (unreachable or waited for) are LOST, even ones clients saw acknowledged.`
      : '  - Writes held only by replicas that cannot be reached are LOST, even ones clients saw acknowledged.',
  );
  const better = probes
    .flatMap((p) => (p.up && p.status.id !== target.id ? [p.status] : []))
    .filter((s) => logAhead(s, target))
    .sort((a, b) => (logAhead(a, b) ? -1 : 1))[0];
  if (better) {
    lines.push(
      `  - ${better.id} is reachable and its log is further ahead (index ${better.lastIndex}, epoch ${better.lastEpoch}); ` +
        `forcing ${target.id} discards those entries there (they go to quarantine). Consider forcing ${better.id} instead.`,
    );
  }
  return lines;
}

export async function runForceLeader(
  cluster: ClusterApi,
  io: CommandIo,
  target: string,
  o: ForceLeaderOptions,
): Promise<number> {
  const swept = await sweep(cluster);
  const memory: ReplicaMemory = swept.memory;
  let probes = swept.probes;
  let probe = findTarget(probes, target);
  if (!probe) {
    // Not in the server list: ask it directly.
    try {
      const status = await cluster.status(target);
      probe = { address: target, up: true, status, rttMs: 0 };
    } catch (err) {
      probe = { address: target, up: false, error: err instanceof Error ? err.message : String(err) };
    }
    probes = [...probes, probe];
  }
  printStatus(probes, { ...io, out: io.err }, false, memory);
  io.err('\n');
  if (!probe.up) {
    io.err(`chat-ops: cannot force ${target}: it does not answer (${shortError(probe.error)}). Start it first.\n`);
    return EXIT_UNHEALTHY;
  }
  const status = probe.status;
  const health = assessHealth(probes);
  if (health.leader) {
    io.err(
      `chat-ops: ${health.leader.id} leads epoch ${health.leader.epoch}; force-leader is only for a total outage, when no leader can be elected.\n`,
    );
    return EXIT_UNHEALTHY;
  }
  if (health.waitingFor.length > 0)
    io.err(
      `The cluster waits for ${health.waitingFor.join(', ')}${health.waitingReason ? `: ${health.waitingReason}` : ''}.\n`,
    );
  io.err(`${forceWarning(probes, status, memory.ids).join('\n')}\n\n`);

  if (!o.yes) {
    const answer = await (o.ask ?? askLine)(`Type ${status.id} to force it to lead, anything else aborts: `);
    if (answer === undefined || answer.trim() !== status.id) {
      io.err('aborted: nothing was changed.\n');
      return EXIT_UNHEALTHY;
    }
  }
  try {
    const { epoch } = await cluster.forceLeader(probe.address);
    io.out(`${status.id} now leads epoch ${epoch}. Check with: chat-ops status\n`);
    return EXIT_OK;
  } catch (err) {
    if (isCredentialRefusal(err)) {
      io.err(`chat-ops force-leader: ${credentialRefusal(err).join('\n')}\n`);
      return EXIT_CREDENTIALS;
    }
    const reason =
      err instanceof ChatError ? `${err.code}: ${err.message}` : err instanceof Error ? err.message : String(err);
    io.err(`chat-ops: ${status.id} refused: ${reason}\n`);
    return EXIT_UNHEALTHY;
  }
}
