/**
 * Which builds the replicas run, from a status sweep: each replica's own
 * status, and for replicas that do not answer, what the others heard from
 * them. More than one build means mixed versions: expected while a rolling
 * upgrade goes on (README), a finding otherwise.
 */
import type { ReplicaProbe, ReplicaStatusView } from '../../client/api.js';

interface Build {
  version: string;
  commit: string;
  protocolVersion: number;
}

/** How one build reads: "0.1.0 (commit 1234567, peer protocol 2)"; a replica of peer protocol 1 states no commit. */
export function buildLabel(b: Build): string {
  if (b.protocolVersion === 0) return `${b.version || 'an older build'} (peer protocol 1)`;
  const commit =
    b.commit === 'unknown' || b.commit === ''
      ? 'commit unknown'
      : `commit ${b.commit.slice(0, 7)}${b.commit.endsWith('-dirty') ? '-dirty' : ''}`;
  return `${b.version} (${commit}, peer protocol ${b.protocolVersion})`;
}

/** The short form for a table cell: "0.1.0+1234567", or "0.1.0/p1" for a replica of peer protocol 1. */
export function buildCell(s: Pick<ReplicaStatusView, 'version' | 'commit' | 'protocolVersion'>): string {
  if (!s.version) return '-';
  if (s.protocolVersion === 0) return `${s.version}/p1`;
  return s.commit && s.commit !== 'unknown' ? `${s.version}+${s.commit.slice(0, 7)}` : s.version;
}

export interface VersionSpread {
  /** Each build with the replicas that run it, the most common first. */
  builds: { build: string; replicas: string[] }[];
  mixed: boolean;
}

export function versionSpread(probes: readonly ReplicaProbe[]): VersionSpread {
  const byReplica = new Map<string, string>();
  const statuses = probes.flatMap((p) => (p.up ? [p.status] : []));
  for (const s of statuses) byReplica.set(s.id, buildLabel(s));
  // Replicas that did not answer: what their peers last heard from them.
  for (const s of statuses) {
    for (const b of s.peerBuilds) if (!byReplica.has(b.id)) byReplica.set(b.id, buildLabel(b));
  }
  const groups = new Map<string, string[]>();
  for (const [id, build] of byReplica) groups.set(build, [...(groups.get(build) ?? []), id]);
  const builds = [...groups]
    .map(([build, replicas]) => ({ build, replicas: replicas.sort() }))
    .sort((a, b) => b.replicas.length - a.replicas.length || a.build.localeCompare(b.build));
  return { builds, mixed: builds.length > 1 };
}

/** The line `chat-ops status` prints under the table when the builds differ. */
export function mixedVersionsLine(spread: VersionSpread): string | undefined {
  if (!spread.mixed) return undefined;
  return `mixed versions: ${spread.builds.map((b) => `${b.replicas.join(', ')} ${b.replicas.length > 1 ? 'run' : 'runs'} ${b.build}`).join('; ')} (fine during a rolling upgrade; see the README)`;
}
