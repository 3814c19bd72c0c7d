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
      return { text: `connected to ${state.replicaId} (${state.address}) · epoch ${state.epoch}`, tone: 'ok' };
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

function idFor(address: string, probes: readonly ReplicaProbe[], leader: LeaderView | undefined, knownIds: ReadonlyMap<string, string>): string {
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

/** One row per probed replica, in the probes' order. `knownIds` names replicas seen before, for when they are down. */
export function clusterRows(probes: readonly ReplicaProbe[], leader: LeaderView | undefined, knownIds: ReadonlyMap<string, string> = new Map()): ReplicaRow[] {
  const leaderStatus = probes.find((p): p is Extract<ReplicaProbe, { up: true }> => p.up && p.status.role === 'leader' && (!leader || p.status.id === leader.leaderId))?.status;
  // The configuration: the leader's, else what FindLeader listed.
  const members = leaderStatus?.members.length ? leaderStatus.members : (leader?.replicas ?? []);
  return probes.map((p) => {
    const member = members.find((m) => m.address === p.address);
    const outside = members.length > 0 && !member;
    if (!p.up) {
      const standing = member?.learner ? 'learner · ' : outside ? 'not a member · ' : '';
      return { id: idFor(p.address, probes, leader, knownIds), address: p.address, up: false, leader: false, role: 'down', epoch: '', commit: '', applied: '', lag: '', note: standing + shortProbeError(p.error) };
    }
    const s = p.status;
    const standing = outside ? 'not a member · ' : member?.learner ? 'learner, no vote yet · ' : '';
    return {
      id: s.id,
      address: p.address,
      up: true,
      leader: s.role === 'leader',
      role: s.role,
      epoch: String(s.epoch),
      commit: String(s.commitIndex),
      applied: String(s.appliedIndex),
      lag: lagOf(s, leaderStatus),
      note: `${standing}${Math.round(p.rttMs)} ms`,
    };
  });
}

/** One line over the table: who leads, or whom the cluster waits for. */
export function clusterSummary(probes: readonly ReplicaProbe[], leader: LeaderView | undefined): StatusText {
  const up = probes.filter((p) => p.up).length;
  const learners = leader?.replicas.filter((r) => r.learner).map((r) => r.id) ?? [];
  const counts = `${up}/${probes.length} up${learners.length > 0 ? ` · learner ${learners.join(', ')}` : ''}`;
  if (leader && leader.leaderId) return { text: `leader ${leader.leaderId} · epoch ${leader.epoch} · ${counts}`, tone: 'ok' };
  const waiting = new Set<string>();
  for (const p of probes) if (p.up) for (const w of p.status.waitingFor) waiting.add(w);
  if (waiting.size) return { text: `no leader — waiting for ${[...waiting].sort().join(', ')} · ${counts}`, tone: 'error' };
  if (up === 0 && probes.length > 0) return { text: `no replica answers · ${counts}`, tone: 'error' };
  return { text: `no leader yet · ${counts}`, tone: 'warn' };
}
