/**
 * The replica table: one row per replica with its role, log positions, lag and
 * load, laid out for a given width. Less important columns are dropped on narrow
 * terminals; the note column (what a replica waits for, why it is down) takes
 * whatever width is left.
 */
import type { PeerProgressView, ReplicaProbe, ReplicaStatusView } from '../../client/api.js';
import { authoritativeStatus, outsideConfiguration, shortError } from './health.js';
import { fit, formatBytes, formatDuration, formatRate, truncate } from './text.js';
import { buildCell } from './versions.js';

export type ColumnId =
  | 'id'
  | 'address'
  | 'up'
  | 'role'
  | 'epoch'
  | 'isr'
  | 'last'
  | 'commit'
  | 'applied'
  | 'lag'
  | 'ack'
  | 'hb'
  | 'clients'
  | 'wps'
  | 'data'
  | 'rtt'
  | 'version'
  | 'note';

interface ColumnSpec {
  id: ColumnId;
  header: string;
  align: 'left' | 'right';
  /** Lower is kept longer; columns are dropped from the highest number down. */
  priority: number;
  /** Cells are cut to this width at most. */
  max: number;
}

/** In display order. */
export const COLUMNS: readonly ColumnSpec[] = [
  { id: 'id', header: 'id', align: 'left', priority: 0, max: 12 },
  { id: 'address', header: 'address', align: 'left', priority: 15, max: 28 },
  { id: 'up', header: 'up/down', align: 'left', priority: 11, max: 14 },
  { id: 'role', header: 'role', align: 'left', priority: 0, max: 9 },
  { id: 'epoch', header: 'epoch', align: 'right', priority: 1, max: 8 },
  { id: 'isr', header: 'isr', align: 'left', priority: 4, max: 3 },
  { id: 'last', header: 'last', align: 'right', priority: 10, max: 12 },
  { id: 'commit', header: 'commit', align: 'right', priority: 2, max: 12 },
  { id: 'applied', header: 'applied', align: 'right', priority: 6, max: 12 },
  { id: 'lag', header: 'lag', align: 'right', priority: 3, max: 10 },
  { id: 'ack', header: 'ack', align: 'right', priority: 5, max: 7 },
  { id: 'hb', header: 'hb', align: 'right', priority: 9, max: 7 },
  { id: 'clients', header: 'cli/str', align: 'right', priority: 13, max: 11 },
  { id: 'wps', header: 'w/s', align: 'right', priority: 8, max: 6 },
  { id: 'data', header: 'data', align: 'right', priority: 14, max: 7 },
  { id: 'rtt', header: 'rtt', align: 'right', priority: 16, max: 7 },
  { id: 'version', header: 'version', align: 'left', priority: 17, max: 16 },
  { id: 'note', header: 'waiting / note', align: 'left', priority: 7, max: 400 },
];

/** The note column is only kept when it gets at least this many columns. */
const NOTE_MIN = 12;

/** A follower this many entries behind, or not heard from for this long, is shown as lagging. */
export const LAG_ENTRIES_WARN = 50;
export const LAG_MS_WARN = 1000;

/** `learner`: a member being added (no vote yet), or a replica outside the configuration. */
export type RowTone = 'leader' | 'follower' | 'learner' | 'lagging' | 'waiting' | 'down';

export interface ReplicaRow {
  address: string;
  id: string;
  tone: RowTone;
  cells: Record<ColumnId, string>;
}

/** What the dashboard remembers between sweeps, so a replica that went down keeps its name and "last seen". */
export interface ReplicaMemory {
  /** address → replica id, from earlier answers. */
  ids: Map<string, string>;
  /** address → when it last answered (ms). */
  lastUp: Map<string, number>;
}

export function emptyMemory(): ReplicaMemory {
  return { ids: new Map(), lastUp: new Map() };
}

/** Records a sweep's answers into `memory` (mutates it) and returns it. */
export function remember(memory: ReplicaMemory, probes: readonly ReplicaProbe[], now: number): ReplicaMemory {
  for (const p of probes) {
    if (!p.up) continue;
    memory.ids.set(p.address, p.status.id);
    memory.lastUp.set(p.address, now);
    for (const peer of p.status.peers) if (peer.address) memory.ids.set(peer.address, peer.id);
    learnMembers(memory, p.status.members);
  }
  return memory;
}

/** Records the cluster's members as a FindLeader answer lists them (names replicas that never answered a status call). */
export function learnMembers(
  memory: ReplicaMemory,
  members: readonly { id: string; address: string }[],
): ReplicaMemory {
  for (const m of members) if (m.address && m.id && !memory.ids.has(m.address)) memory.ids.set(m.address, m.id);
  return memory;
}

/** Addresses of down replicas whose id is not known yet. */
export function unnamedDown(memory: ReplicaMemory, probes: readonly ReplicaProbe[]): string[] {
  return probes.filter((p) => !p.up && !memory.ids.has(p.address)).map((p) => p.address);
}

function peerOf(leader: ReplicaStatusView | undefined, id: string): PeerProgressView | undefined {
  return leader?.role === 'leader' ? leader.peers.find((p) => p.id === id) : undefined;
}

function msAgo(ms: number): string {
  return ms < 0 ? 'never' : formatDuration(ms);
}

/** The rows of a sweep, in the order of the probes. */
export function replicaRows(
  probes: readonly ReplicaProbe[],
  now: number,
  memory: ReplicaMemory = emptyMemory(),
): ReplicaRow[] {
  const view = authoritativeStatus(probes);
  const leader = view?.role === 'leader' ? view : undefined;
  const members = view?.members ?? [];
  return probes.map((p): ReplicaRow => {
    if (!p.up) {
      const member = members.find((m) => m.address === p.address);
      const id = member?.id ?? memory.ids.get(p.address) ?? view?.peers.find((x) => x.address === p.address)?.id ?? '?';
      const seen = memory.lastUp.get(p.address);
      const since = seen === undefined ? 'never seen up' : `down ${formatDuration(now - seen)}`;
      const inSync = view ? (view.inSync.includes(id) ? 'yes' : 'no') : '-';
      const standing = member?.learner ? 'learner, ' : outsideConfiguration(members, p.address) ? 'not a member, ' : '';
      return {
        address: p.address,
        id,
        tone: 'down',
        cells: {
          id: ` ${id}`,
          address: p.address,
          up: seen === undefined ? 'down' : since,
          role: 'DOWN',
          epoch: '-',
          isr: inSync,
          last: '-',
          commit: '-',
          applied: '-',
          lag: '-',
          ack: peerOf(leader, id) ? msAgo(peerOf(leader, id)!.lastAckMsAgo) : '-',
          hb: '-',
          clients: '-',
          wps: '-',
          data: '-',
          rtt: '-',
          version: '-',
          note:
            standing +
            (seen === undefined
              ? shortError(p.error)
              : `down ${formatDuration(now - seen)}, ${shortError(p.error).replace(/^connection refused$/, 'refused')}`),
        },
      };
    }
    const s = p.status;
    const isLeader = s.role === 'leader';
    const peer = peerOf(leader, s.id);
    const lagEntries = isLeader
      ? 0
      : peer
        ? peer.lagEntries
        : leader
          ? Math.max(0, leader.lastIndex - s.lastIndex)
          : undefined;
    const ackMs = peer ? peer.lastAckMsAgo : undefined;
    const inSync = view ? view.inSync.includes(s.id) : s.inSync.includes(s.id);
    const waiting = s.waitingFor.length > 0;
    const member = members.find((m) => m.id === s.id);
    const outside = members.length > 0 && !member;
    // A learner has no vote and is outside the in-sync set by design: it is shown as such, not as lagging.
    const learner = member?.learner === true || outside || s.role === 'learner';
    const lagging =
      !isLeader &&
      !learner &&
      leader !== undefined &&
      (!inSync ||
        (lagEntries ?? 0) > LAG_ENTRIES_WARN ||
        (ackMs !== undefined && (ackMs < 0 || ackMs > LAG_MS_WARN)) ||
        s.lastHeartbeatMsAgo > LAG_MS_WARN ||
        s.lastHeartbeatMsAgo < 0);
    const tone: RowTone = isLeader
      ? 'leader'
      : waiting
        ? 'waiting'
        : learner
          ? 'learner'
          : lagging
            ? 'lagging'
            : 'follower';
    const notes: string[] = [];
    // The replica's own waiting reason may already say so.
    if (outside && !/member/i.test(s.waitingReason)) notes.push('not a member');
    else if (member?.learner)
      notes.push(
        lagEntries !== undefined && lagEntries > 0
          ? `learner: catching up, ${lagEntries} behind`
          : 'learner: caught up, promoted next',
      );
    if (waiting) notes.push(`waits for ${s.waitingFor.join(',')}${s.waitingReason ? `: ${s.waitingReason}` : ''}`);
    else if (s.waitingReason) notes.push(s.waitingReason);
    if (!isLeader && !s.caughtUp) notes.push('not caught up');
    if (peer && peer.state !== 'replicate') notes.push(`leader sends ${peer.state}`);
    if (!isLeader && s.leaderId === '' && !waiting) notes.push('knows no leader');
    return {
      address: p.address,
      id: s.id,
      tone,
      cells: {
        id: `${isLeader ? '*' : ' '}${s.id}`,
        address: p.address,
        up: `up ${formatDuration(s.uptimeMs)}`,
        role: s.role,
        epoch: String(s.epoch),
        isr: inSync ? 'yes' : 'no',
        last: String(s.lastIndex),
        commit: String(s.commitIndex),
        applied: String(s.appliedIndex),
        lag: lagEntries === undefined ? '-' : String(lagEntries),
        ack: isLeader ? '-' : ackMs === undefined ? '-' : msAgo(ackMs),
        hb: isLeader ? '-' : msAgo(s.lastHeartbeatMsAgo),
        clients: `${s.connectedClients}/${s.openStreams}`,
        wps: formatRate(s.writesPerSecond),
        data: formatBytes(s.dataSizeBytes),
        rtt: formatDuration(p.rttMs),
        version: buildCell(s),
        note: notes.join('; '),
      },
    };
  });
}

export interface TableLayout {
  columns: { id: ColumnId; width: number; align: 'left' | 'right' }[];
  header: string;
  lines: { text: string; tone: RowTone; id: string; address: string }[];
}

/** Lays rows out in at most `maxWidth` columns (one space between columns). */
export function layoutTable(rows: readonly ReplicaRow[], maxWidth: number): TableLayout {
  const natural = new Map<ColumnId, number>();
  for (const c of COLUMNS) {
    const widest = Math.max(c.header.length, ...rows.map((r) => Array.from(r.cells[c.id]).length));
    natural.set(c.id, Math.min(c.max, widest));
  }
  const hasNotes = rows.some((r) => r.cells.note !== '');
  let kept = COLUMNS.filter((c) => c.id !== 'note' || hasNotes);
  const fixedWidth = (cols: readonly ColumnSpec[]) =>
    cols.filter((c) => c.id !== 'note').reduce((sum, c) => sum + natural.get(c.id)!, 0) + Math.max(0, cols.length - 1);
  const needed = (cols: readonly ColumnSpec[]) => fixedWidth(cols) + (cols.some((c) => c.id === 'note') ? NOTE_MIN : 0);
  const byDropOrder = [...kept].sort((a, b) => b.priority - a.priority);
  for (const c of byDropOrder) {
    if (needed(kept) <= maxWidth) break;
    if (c.priority === 0) break;
    kept = kept.filter((k) => k !== c);
  }
  const noteWidth = kept.some((c) => c.id === 'note')
    ? Math.max(0, Math.min(natural.get('note')!, maxWidth - fixedWidth(kept)))
    : 0;
  const columns = kept.map((c) => ({
    id: c.id,
    width: c.id === 'note' ? noteWidth : natural.get(c.id)!,
    align: c.align,
  }));
  const render = (cell: (id: ColumnId) => string) =>
    truncate(
      columns
        .map((c) => fit(cell(c.id), c.width, c.align))
        .join(' ')
        .trimEnd(),
      maxWidth,
    );
  const headerOf = (id: ColumnId) => COLUMNS.find((c) => c.id === id)!.header;
  return {
    columns,
    header: render(headerOf),
    lines: rows.map((r) => ({ text: render((id) => r.cells[id]), tone: r.tone, id: r.id, address: r.address })),
  };
}
