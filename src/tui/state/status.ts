/** What the status bar and the cluster panel say about the connection and the replicas. */

import type { ConnectionState, LeaderView, ReplicaProbe, ReplicaStatusView } from '../../client/api.js';
import { formatAgo } from './format.js';

export type Tone = 'ok' | 'warn' | 'error' | 'muted';

export interface StatusText {
  text: string;
  tone: Tone;
}

export function connectionStatus(state: ConnectionState, now: number): StatusText {
  switch (state.kind) {
    case 'connecting':
      return { text: 'connecting…', tone: 'warn' };
    case 'connected':
      // No epoch here: the cluster panel shows the live one (this one is from when the stream or call connected).
      return { text: `connected to ${state.replicaId} (${state.address})`, tone: 'ok' };
    case 'unreachable':
      return { text: `cannot reach the servers (trying for ${formatAgo(now - state.since)})`, tone: 'error' };
    case 'reconnecting':
      return { text: `reconnecting, last contact ${formatAgo(now - state.since)} ago`, tone: 'warn' };
    case 'no-leader':
      return {
        text: state.waitingFor.length
          ? `no leader — waiting for ${state.waitingFor.join(', ')} (for ${formatAgo(now - state.since)})`
          : `no leader — election in progress (for ${formatAgo(now - state.since)})`,
        tone: 'error',
      };
    case 'closed':
      return { text: 'disconnected', tone: 'muted' };
  }
}

export interface ReplicaRow {
  id: string;
  address: string;
  up: boolean;
  leader: boolean;
  role: string;
  epoch: string;
  commit: string;
  applied: string;
  /** Entries behind the leader, `-` for the leader itself, blank when unknown. */
  lag: string;
  /** Round trip of the probe, or why it failed. */
  note: string;
}

/** A probe's failure in a few words: gRPC's "14 UNAVAILABLE: No connection established..." becomes "unreachable". */
export function shortProbeError(error: string): string {
  const text = error.replace(/^\d+ [A-Z_]+: /, '');
  if (/No connection established|ECONNREFUSED|connect/i.test(text)) return 'unreachable';
  if (/deadline/i.test(text)) return 'no answer in time';
  return text;
}

function idFor(
  address: string,
  probes: readonly ReplicaProbe[],
  leader: LeaderView | undefined,
  knownIds: ReadonlyMap<string, string>,
): string {
  for (const p of probes) if (p.up && p.status.address === address) return p.status.id;
  const known = knownIds.get(address);
  if (known) return known;
  const named = leader?.replicas.find((r) => r.address === address);
  if (named) return named.id;
  for (const p of probes) {
    if (!p.up) continue;
    const peer = p.status.peers.find((x) => x.address === address);
    if (peer) return peer.id;
  }
  return '?';
}

function lagOf(status: ReplicaStatusView, leaderStatus: ReplicaStatusView | undefined): string {
  if (status.role === 'leader') return '-';
  if (!leaderStatus) return '';
  const peer = leaderStatus.peers.find((p) => p.id === status.id);
  if (peer) return String(peer.lagEntries);
  return String(Math.max(0, leaderStatus.commitIndex - status.appliedIndex));
}

type UpProbe = Extract<ReplicaProbe, { up: true }>;

/**
 * The leader as the probes see it: a replica that answers and says it leads (the
 * newest epoch if two do). FindLeader's answer only breaks ties: during an
 * election it may still name a replica that is down.
 */
function leaderProbe(probes: readonly ReplicaProbe[], leader: LeaderView | undefined): UpProbe | undefined {
  const leading = probes.filter((p): p is UpProbe => p.up && p.status.role === 'leader');
  leading.sort(
    (a, b) =>
      b.status.epoch - a.status.epoch ||
      Number(b.status.id === leader?.leaderId) - Number(a.status.id === leader?.leaderId),
  );
  return leading[0];
}

/** The configuration: the leader's, else the newest one a replica reports, else what FindLeader listed. */
function configuration(
  probes: readonly ReplicaProbe[],
  leader: LeaderView | undefined,
): { address: string; id: string; learner: boolean }[] {
  const leading = leaderProbe(probes, leader);
  if (leading?.status.members.length) return leading.status.members;
  const newest = probes
    .filter((p): p is UpProbe => p.up && p.status.members.length > 0)
    .sort((a, b) => b.status.epoch - a.status.epoch)[0];
  return newest?.status.members ?? leader?.replicas ?? [];
}

/**
 * One row per probed replica, in the probes' order, for the members of the
 * configuration and replicas that answer outside it ("not a member"); a replica
 * that is down and outside the configuration (removed) is not listed. `knownIds`
 * names replicas seen before, for when they are down.
 */
export function clusterRows(
  probes: readonly ReplicaProbe[],
  leader: LeaderView | undefined,
  knownIds: ReadonlyMap<string, string> = new Map(),
): ReplicaRow[] {
  const leaderStatus = leaderProbe(probes, leader)?.status;
  const members = configuration(probes, leader);
  const rows: ReplicaRow[] = [];
  for (const p of probes) {
    const member = members.find((m) => m.address === p.address);
    const outside = members.length > 0 && !member;
    if (!p.up) {
      if (outside) continue;
      const standing = member?.learner ? 'learner · ' : '';
      rows.push({
        id: idFor(p.address, probes, leader, knownIds),
        address: p.address,
        up: false,
        leader: false,
        role: 'down',
        epoch: '',
        commit: '',
        applied: '',
        lag: '',
        note: standing + shortProbeError(p.error),
      });
      continue;
    }
    const s = p.status;
    const standing = outside ? 'not a member · ' : member?.learner ? 'learner, no vote yet · ' : '';
    rows.push({
      id: s.id,
      address: p.address,
      up: true,
      leader: s === leaderStatus,
      role: s.role,
      epoch: String(s.epoch),
      commit: String(s.commitIndex),
      applied: String(s.appliedIndex),
      lag: lagOf(s, leaderStatus),
      note: `${standing}${Math.round(p.rttMs)} ms`,
    });
  }
  return rows;
}

/** One line over the table: who leads (a replica that answers as leader), or whom the cluster waits for; up counts members only. */
export function clusterSummary(probes: readonly ReplicaProbe[], leader: LeaderView | undefined): StatusText {
  const members = configuration(probes, leader);
  const upAt = new Set(probes.filter((p) => p.up).map((p) => p.address));
  const up = members.length > 0 ? members.filter((m) => upAt.has(m.address)).length : upAt.size;
  const total = members.length > 0 ? members.length : probes.length;
  const learners = members.filter((m) => m.learner).map((m) => m.id);
  const counts = `${up}/${total} up${learners.length > 0 ? ` · learner ${learners.join(', ')}` : ''}`;
  const leading = leaderProbe(probes, leader);
  if (leading) return { text: `leader ${leading.status.id} · epoch ${leading.status.epoch} · ${counts}`, tone: 'ok' };
  const waiting = new Set<string>();
  for (const p of probes) if (p.up) for (const w of p.status.waitingFor) waiting.add(w);
  if (waiting.size)
    return { text: `no leader — waiting for ${[...waiting].sort().join(', ')} · ${counts}`, tone: 'error' };
  if (upAt.size === 0 && probes.length > 0) return { text: `no replica answers · ${counts}`, tone: 'error' };
  return { text: `no leader yet · ${counts}`, tone: 'warn' };
}
