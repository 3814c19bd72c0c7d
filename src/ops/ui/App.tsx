/**
 * The `chat-ops watch` dashboard: polls every replica's status, merges the event
 * feeds into one timeline, and answers keys. All layout happens in
 * model/dashboard.ts; this component holds state and draws lines.
 */
import { Box, useApp, useInput } from 'ink';
import { Text } from '../../terminal/colors.js';
import { useEffect, useMemo, useRef, useState } from 'react';
import type { ClusterApi, ClusterEventView } from '../../client/api.js';
import { handleKey, INITIAL_VIEW, type KeyContext, type ViewState } from '../model/controls.js';
import { buildFrame, filteredEvents, type Line, type Sweep } from '../model/dashboard.js';
import { EventStore } from '../model/events.js';
import { kindGroups } from '../model/filter.js';
import { shortError } from '../model/health.js';
import { timelineRows } from '../model/timeline-rows.js';
import { emptyMemory, learnMembers, remember, unnamedDown } from '../model/replica-table.js';
import type { EventSource, SourceState } from '../sources/event-source.js';
import { useTerminalSize } from '../../terminal/use-terminal-size.js';

export interface AppProps {
  cluster: ClusterApi;
  events: EventSource;
  /** Status refresh interval (ms); default 500. */
  intervalMs?: number;
  /** Fixed terminal size (tests); otherwise the terminal's, following resizes. */
  size?: { columns: number; rows: number };
  /** Called once when the user quits (q, Ctrl-C). */
  onQuit?: () => void;
}

/** Polls statusAll about every `intervalMs`, never two sweeps at once. */
function useSweeps(cluster: ClusterApi, intervalMs: number) {
  const [memory] = useState(emptyMemory);
  const [sweep, setSweep] = useState<Sweep | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  useEffect(() => {
    let stopped = false;
    let timer: NodeJS.Timeout | undefined;
    let lastMembersAsk = 0;
    const tick = async () => {
      const started = Date.now();
      try {
        const probes = await cluster.statusAll();
        if (stopped) return;
        const at = Date.now();
        remember(memory, probes, at);
        // Name replicas that were down from the start: the members list of FindLeader has them.
        if (unnamedDown(memory, probes).length > 0 && at - lastMembersAsk > 5_000) {
          lastMembersAsk = at;
          cluster.findLeader().then(
            (v) => learnMembers(memory, v.replicas),
            () => undefined,
          );
        }
        setSweep({ probes, at });
        setError(undefined);
      } catch (err) {
        if (stopped) return;
        setError(shortError(err instanceof Error ? err.message : String(err)));
      }
      if (!stopped) timer = setTimeout(() => void tick(), Math.max(50, intervalMs - (Date.now() - started)));
    };
    void tick();
    return () => {
      stopped = true;
      if (timer) clearTimeout(timer);
    };
  }, [cluster, intervalMs, memory]);
  return { sweep, error, memory };
}

/** The merged, deduplicated events of the source; re-renders at most every 100 ms however fast they come. */
function useEventFeed(source: EventSource) {
  const [store] = useState(() => new EventStore());
  const [version, setVersion] = useState(0);
  const [states, setStates] = useState<ReadonlyMap<string, SourceState>>(new Map());
  useEffect(() => {
    let pending: NodeJS.Timeout | undefined;
    let stopped = false;
    const bump = () => {
      if (pending || stopped) return;
      pending = setTimeout(() => {
        pending = undefined;
        if (!stopped) setVersion((v) => v + 1);
      }, 100);
    };
    const stop = source.start({
      onEvents: (events: ClusterEventView[]) => {
        if (store.addAll(events) > 0) bump();
      },
      onSourceState: (name, state) => {
        if (!stopped) setStates((prev) => new Map(prev).set(name, state));
      },
    });
    return () => {
      stopped = true;
      if (pending) clearTimeout(pending);
      stop();
    };
  }, [source, store]);
  return { store, version, states };
}

/** Re-renders every second so "ago" texts move even when nothing else does. */
function useClock(): number {
  const [now, setNow] = useState(Date.now);
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, []);
  return now;
}

function LineView({ line }: { line: Line }) {
  return (
    <Text wrap="truncate">
      {line.length === 0 || (line.length === 1 && line[0]!.text === '') ? ' ' : null}
      {line.map((s, i) => (
        <Text key={i} color={s.color} bold={s.bold} dimColor={s.dim} inverse={s.inverse}>
          {s.text}
        </Text>
      ))}
    </Text>
  );
}

export function App({ cluster, events, intervalMs = 500, size, onQuit }: AppProps) {
  const { exit } = useApp();
  const { columns, rows } = useTerminalSize(size);
  const { sweep, error, memory } = useSweeps(cluster, intervalMs);
  const { store, version, states } = useEventFeed(events);
  useClock();

  // Keys can arrive faster than renders: they act on the refs, which always hold the latest state.
  const [view, setView] = useState<ViewState>(INITIAL_VIEW);
  const viewRef = useRef(view);
  const contextRef = useRef<KeyContext>({ rowsFor: () => [], page: 1, replicaIds: [], kindGroups: [] });

  // The store is mutated in place; `version` says when.
  const visible = useMemo(() => filteredEvents(store.all(), view.filter), [store, version, view.filter]);
  // Without filters `visible` is the store's own array, the same object after every change: hence `version`.
  const timeline = useMemo(() => timelineRows(visible), [visible, version]);
  const frame = buildFrame({
    columns,
    rows,
    now: Date.now(),
    intervalMs,
    sweep,
    sweepError: error,
    memory,
    timeline,
    shownEvents: visible.length,
    totalEvents: store.size,
    filter: view.filter,
    viewport: view.viewport,
    sourceLabel: events.label,
    sourceStates: states,
    mode: view.mode,
    draft: view.draft,
  });
  contextRef.current = {
    rowsFor: (filter) => (filter === view.filter ? timeline : timelineRows(filteredEvents(store.all(), filter))),
    page: frame.timelineRows,
    replicaIds: [...new Set([...store.replicaIds(), ...memory.ids.values()])].sort(),
    kindGroups: kindGroups(store.kinds()),
  };

  useInput((input, key) => {
    const next = handleKey(viewRef.current, input, key, contextRef.current);
    if (next === 'quit') {
      onQuit?.();
      exit();
      return;
    }
    if (next === viewRef.current) return;
    viewRef.current = next;
    setView(next);
  });

  return (
    <Box flexDirection="column" width={columns}>
      {frame.lines.map((line, i) => (
        <LineView key={i} line={line} />
      ))}
    </Box>
  );
}
