/**
 * The whole dashboard frame as lines of coloured segments, built from plain
 * state, so the Ink component only draws it. Every line fits the width and the
 * frame fits the height (see layout.ts).
 */
import { basename } from 'node:path';
import type { ClusterEventView, ReplicaProbe } from '../../client/api.js';
import type { SourceState } from '../sources/event-source.js';
import { KEY_HELP, FOOTER_HINT } from '../ui/keys.js';
import { clipParts, eventTone, timelineParts, type EventTone } from './event-format.js';
import { applyFilters, parseFilterQuery, type EventFilter } from './filter.js';
import { assessHealth } from './health.js';
import { screenLayout } from './layout.js';
import { layoutTable, replicaRows, type ReplicaMemory, type RowTone } from './replica-table.js';
import { isLive, visibleWindow, type Viewport } from './scroll.js';
import { throughputSummary, type TimelineRow } from './timeline-rows.js';
import { formatClock, formatDuration, truncate, width, wrapWords } from './text.js';

export type Color = 'green' | 'red' | 'yellow' | 'magenta' | 'cyan' | 'blue' | 'gray';

export interface Segment {
  text: string;
  color?: Color;
  bold?: boolean;
  dim?: boolean;
  inverse?: boolean;
}

export type Line = Segment[];

export interface Sweep {
  probes: ReplicaProbe[];
  /** When it was answered (ms). */
  at: number;
}

export interface TimelineFilterState {
  /** From `r`: one replica id, or all. */
  replica: string | undefined;
  /** From `k`: one kind group, or all. */
  kind: string | undefined;
  /** From `/`. */
  query: string;
}

export const NO_TIMELINE_FILTER: TimelineFilterState = { replica: undefined, kind: undefined, query: '' };

export type Mode = 'normal' | 'help' | 'filter';

export interface FrameInput {
  columns: number;
  rows: number;
  now: number;
  intervalMs: number;
  sweep: Sweep | undefined;
  /** The last sweep's failure, if the last attempt failed as a whole. */
  sweepError: string | undefined;
  memory: ReplicaMemory;
  /** The timeline rows after filters (see filteredEvents and timelineRows). */
  timeline: readonly TimelineRow[];
  /** How many events pass the filters, and how many there are. */
  shownEvents: number;
  totalEvents: number;
  filter: TimelineFilterState;
  viewport: Viewport;
  sourceLabel: string;
  sourceStates: ReadonlyMap<string, SourceState>;
  mode: Mode;
  /** The filter being typed after `/`. */
  draft: string;
}

export interface Frame {
  lines: Line[];
  /** Rows the timeline gets (the page size of PgUp/PgDn). */
  timelineRows: number;
}

export function timelineFilters(f: TimelineFilterState): EventFilter[] {
  const fromKeys: EventFilter = { replicas: f.replica ? [f.replica] : [], kinds: f.kind ? [f.kind] : [], words: [] };
  return [fromKeys, parseFilterQuery(f.query)];
}

export function filteredEvents(all: readonly ClusterEventView[], f: TimelineFilterState): readonly ClusterEventView[] {
  return applyFilters(all, timelineFilters(f));
}

/** "r:A k:election "words"" — what is filtered, or "" when nothing is. */
export function describeFilter(f: TimelineFilterState): string {
  const parts: string[] = [];
  if (f.replica) parts.push(`r:${f.replica}`);
  if (f.kind) parts.push(`k:${f.kind}`);
  if (f.query.trim()) parts.push(`/${f.query.trim()}`);
  return parts.join(' ');
}

const ROW_STYLE: Record<RowTone, Omit<Segment, 'text'>> = {
  leader: { color: 'green', bold: true },
  follower: {},
  learner: { color: 'cyan' },
  lagging: { color: 'yellow' },
  waiting: { color: 'magenta' },
  down: { color: 'red', bold: true },
};

const EVENT_COLOR: Record<EventTone, Omit<Segment, 'text'>> = {
  danger: { color: 'red', bold: true },
  warn: { color: 'yellow' },
  election: { color: 'magenta' },
  good: { color: 'green' },
  info: { color: 'cyan' },
  quiet: { dim: true },
};

/** Pads a line of segments with spaces to `columns` (for inverse bars) and cuts it to fit. */
function fitLine(segments: Segment[], columns: number, padStyle?: Omit<Segment, 'text'>): Line {
  const clipped = clipParts(segments, columns);
  const used = clipped.reduce((n, s) => n + width(s.text), 0);
  if (padStyle && used < columns) clipped.push({ text: ' '.repeat(columns - used), ...padStyle });
  return clipped;
}

function titleLine(input: FrameInput): Line {
  const { sweep, now, columns } = input;
  const segs: Segment[] = [{ text: ' chat-ops ', bold: true, inverse: true }, { text: ' ' }];
  if (!sweep) {
    segs.push({
      text: input.sweepError ? `no answer yet: ${input.sweepError}` : 'asking the replicas…',
      color: 'yellow',
    });
    return fitLine(segs, columns);
  }
  const health = assessHealth(sweep.probes);
  const total = sweep.probes.length;
  if (health.leader)
    segs.push({ text: `leader ${health.leader.id} epoch ${health.leader.epoch}`, color: 'green', bold: true });
  else if (health.claimants.length > 1)
    segs.push({ text: `${health.claimants.length} leaders claimed`, color: 'red', bold: true });
  else segs.push({ text: 'NO LEADER', color: 'red', bold: true, inverse: true });
  segs.push({ text: '  ' });
  segs.push({
    text: `${health.up}/${total} up`,
    ...(health.down > 0 ? { color: 'red' as const, bold: true } : { color: 'green' as const }),
  });
  const mode = sweep.probes.flatMap((p) => (p.up ? [p.status.mode] : [])).find((m) => m !== '');
  if (mode) segs.push({ text: `  ${mode}`, dim: true });
  if (health.learners.length > 0)
    segs.push({
      text: `  learner${health.learners.length > 1 ? 's' : ''} ${health.learners.join(',')}`,
      color: 'cyan',
    });
  if (health.serving)
    segs.push(
      health.healthy ? { text: '  healthy', color: 'green' } : { text: '  DEGRADED', color: 'yellow', bold: true },
    );
  const age = now - sweep.at;
  const stale = age > Math.max(3 * input.intervalMs, 2000);
  const right = stale
    ? `no answer for ${formatDuration(age)}${input.sweepError ? ` (${input.sweepError})` : ''}`
    : formatClock(sweep.at).slice(0, 8);
  const used = segs.reduce((n, s) => n + width(s.text), 0);
  const gap = columns - used - width(right);
  if (gap >= 2)
    segs.push(
      { text: ' '.repeat(gap) },
      { text: right, ...(stale ? { color: 'yellow' as const, bold: true } : { dim: true }) },
    );
  else if (stale) segs.push({ text: `  ${right}`, color: 'yellow', bold: true });
  return fitLine(segs, columns);
}

function bannerLines(input: FrameInput): Line[] {
  if (!input.sweep) return [];
  const health = assessHealth(input.sweep.probes);
  if (health.leader || health.up === 0) {
    if (health.up === 0 && input.sweep.probes.length > 0)
      return [fitLine([{ text: 'every replica is down or unreachable', color: 'red', bold: true }], input.columns)];
    // Serving but degraded: the first problem, as `chat-ops status` lists them.
    const [first, ...rest] = health.problems;
    return first
      ? [
          fitLine(
            [
              {
                text: `degraded: ${first}${rest.length > 0 ? ` (+${rest.length} more: chat-ops status)` : ''}`,
                color: 'yellow',
                bold: true,
              },
            ],
            input.columns,
          ),
        ]
      : [];
  }
  if (health.claimants.length > 1)
    return [fitLine([{ text: health.problems[0] ?? 'several leaders', color: 'red', bold: true }], input.columns)];
  const text =
    health.waitingFor.length > 0
      ? `total outage: waiting for ${health.waitingFor.join(', ')}${health.waitingReason ? ` (${health.waitingReason})` : ''}; chat-ops force-leader overrides (data loss)`
      : 'no leader yet: an election should finish within a second';
  return [fitLine([{ text, color: health.waitingFor.length > 0 ? 'magenta' : 'yellow', bold: true }], input.columns)];
}

function sourceSummary(input: FrameInput): Segment {
  const states = [...input.sourceStates.entries()];
  const down = states.filter(([, st]) => !st.up);
  const text = `${input.sourceLabel} ${states.length - down.length}/${states.length}`;
  if (down.length === 0) return { text, dim: true };
  const names = down.map(([name, st]) => `${basename(name)}${st.detail ? ` ${st.detail}` : ''}`).join(', ');
  return { text: `${text} (${names})`, color: 'yellow' };
}

function timelineHeader(input: FrameInput, newer: number, older: number): Line {
  const segs: Segment[] = [{ text: '─ events ', dim: true }, sourceSummary(input)];
  const filter = describeFilter(input.filter);
  if (filter)
    segs.push(
      { text: '  filter ', dim: true },
      { text: filter, color: 'cyan', bold: true },
      { text: ` ${input.shownEvents}/${input.totalEvents}`, dim: true },
    );
  segs.push({ text: '  ' });
  if (isLive(input.viewport)) segs.push({ text: 'LIVE', color: 'green', bold: true });
  else
    segs.push(
      { text: ' PAUSED ', color: 'yellow', bold: true, inverse: true },
      { text: newer > 0 ? ` ${newer} newer (End: live)` : ' (End: live)', color: 'yellow' },
    );
  if (older > 0) segs.push({ text: `  ${older} older`, dim: true });
  const used = segs.reduce((n, s) => n + width(s.text), 0);
  if (used < input.columns - 1) segs.push({ text: ' ' + '─'.repeat(input.columns - used - 1), dim: true });
  return fitLine(segs, input.columns);
}

/** The event a row shows: its only event, or a throughput round summed up (replica `*`). */
function rowEvent(row: TimelineRow): ClusterEventView {
  const last = row.events[row.events.length - 1]!;
  if (row.events.length === 1) return last;
  return { ...last, replicaId: '*', message: throughputSummary(row.events), details: {} };
}

function eventLine(e: ClusterEventView, columns: number, replicaWidth: number): Line {
  const parts = timelineParts(e, columns, replicaWidth);
  const kindStyle = EVENT_COLOR[eventTone(e.kind)];
  return parts.map((p): Segment => {
    switch (p.role) {
      case 'time':
        return { text: p.text, dim: true };
      case 'replica':
        return { text: p.text, bold: true };
      case 'epoch':
        return { text: p.text, dim: true };
      case 'kind':
        return { text: p.text, ...kindStyle };
      case 'details':
        return { text: p.text, dim: true };
      default:
        return kindStyle.dim ? { text: p.text, dim: true } : { text: p.text };
    }
  });
}

function helpLines(columns: number, rows: number): Line[] {
  const keyWidth = Math.max(...KEY_HELP.map((k) => k.keys.length)) + 4;
  const textWidth = Math.max(10, columns - keyWidth);
  const lines: Line[] = [
    fitLine(
      [
        { text: 'Keys', bold: true, color: 'cyan' },
        { text: '  (? or Esc closes this help)', dim: true },
      ],
      columns,
    ),
  ];
  for (const k of KEY_HELP) {
    wrapWords(k.does, textWidth).forEach((text, i) =>
      lines.push(
        fitLine(
          [{ text: i === 0 ? `  ${k.keys}`.padEnd(keyWidth) : ' '.repeat(keyWidth), bold: true }, { text }],
          columns,
        ),
      ),
    );
  }
  for (const [title, text] of HELP_NOTES) {
    lines.push([{ text: '' }]);
    lines.push(fitLine([{ text: title, bold: true, color: 'cyan' }], columns));
    for (const l of wrapWords(text, columns - 2)) lines.push([{ text: `  ${l}` }]);
  }
  return lines.slice(0, rows);
}

const HELP_NOTES: readonly [string, string][] = [
  [
    'Table',
    '* marks the leader. Red: down. Yellow: lagging (behind, unheard of for over a second, or out of the in-sync set). Magenta: waiting for other replicas after a total outage. Cyan: a learner (being added: it catches up without a vote, then the leader makes it a voting member) or a replica that is not a member.',
  ],
  [
    'Timeline',
    "One line per event: time, replica, epoch, kind, message, details. Throughput (replication.batch, one per replica per second) is summed up in one line per round, replica *; filter r:ID to see one replica's own.",
  ],
  [
    'Columns',
    'isr: in the in-sync set. last/commit/applied: log indexes. lag: entries behind the leader. ack: since the leader last heard from it. hb: since it last heard from the leader. cli/str: clients and open streams. w/s: writes per second. rtt: status round trip. Narrow terminals drop the less important columns.',
  ],
];

function footerLine(input: FrameInput): Line {
  if (input.mode === 'filter') {
    return fitLine(
      [
        { text: 'filter> ', bold: true, color: 'cyan' },
        { text: input.draft },
        { text: '█', dim: true },
        { text: '   Enter apply · Esc cancel · r:ID k:KIND words', dim: true },
      ],
      input.columns,
    );
  }
  return fitLine([{ text: FOOTER_HINT, dim: true }], input.columns);
}

/** Which rows a table cut to `n` rows keeps: the leader and troubled replicas first, in their order. */
const TONE_RANK: Record<RowTone, number> = { leader: 0, down: 1, waiting: 2, lagging: 3, learner: 4, follower: 5 };
function shownRows<R extends { tone: RowTone }>(rows: readonly R[], n: number): R[] {
  if (rows.length <= n) return [...rows];
  const keep = new Set(
    rows
      .map((r, i) => ({ r, i }))
      .sort((a, b) => TONE_RANK[a.r.tone] - TONE_RANK[b.r.tone] || a.i - b.i)
      .slice(0, Math.max(0, n))
      .map((x) => x.i),
  );
  return rows.filter((_, i) => keep.has(i));
}

export function buildFrame(input: FrameInput): Frame {
  const columns = Math.max(10, input.columns);
  const sized = { ...input, columns };
  const probes = input.sweep?.probes ?? [];
  const banner = bannerLines(sized);
  const layout = screenLayout(input.rows, probes.length, banner.length);
  const lines: Line[] = [];
  if (layout.title) lines.push(titleLine(sized));

  const table = layoutTable(replicaRows(probes, input.now, input.memory), columns);
  const tableBlock: Line[] = [];
  if (layout.tableHeader) tableBlock.push([{ text: table.header, dim: true, bold: true }]);
  const cut = table.lines.length > layout.tableRows && layout.tableRows > 0;
  for (const row of shownRows(table.lines, cut ? layout.tableRows - 1 : layout.tableRows))
    tableBlock.push([{ text: row.text, ...ROW_STYLE[row.tone] }]);
  if (cut) {
    const hidden = table.lines.length - layout.tableRows + 1;
    tableBlock.push(
      fitLine(
        [{ text: `+${hidden} more replica${hidden > 1 ? 's' : ''}: the terminal is too short`, color: 'yellow' }],
        columns,
      ),
    );
  }
  const bannerBlock = banner.slice(0, layout.banner);

  const bodyRows = layout.tableHeader + layout.tableRows + layout.banner + layout.timelineHeader + layout.timelineRows;
  const bodyStart = lines.length;
  if (input.mode === 'help') {
    lines.push(...helpLines(columns, bodyRows));
  } else {
    lines.push(...tableBlock, ...bannerBlock);
    const window = visibleWindow(input.timeline, input.viewport, layout.timelineRows);
    if (layout.timelineHeader) lines.push(timelineHeader(sized, window.newer, window.older));
    const shown = window.rows.map(rowEvent);
    const replicaWidth = Math.max(1, ...shown.map((e) => e.replicaId.length));
    for (const e of shown) lines.push(eventLine(e, columns, replicaWidth));
    if (window.rows.length === 0 && layout.timelineRows > 0) {
      const why =
        input.totalEvents > 0
          ? 'no event matches the filter (c clears it)'
          : `waiting for events from the ${input.sourceLabel}…`;
      lines.push([{ text: truncate(why, columns), dim: true }]);
    }
  }
  while (lines.length - bodyStart < bodyRows) lines.push([{ text: '' }]);
  if (layout.footer) lines.push(footerLine(sized));
  return { lines: lines.slice(0, layout.total), timelineRows: layout.timelineRows };
}
