/**
 * The `chat-ops watch` dashboard: polls every replica's status, merges the event
 * feeds into one timeline, and answers keys. All layout happens in
 * model/dashboard.ts; this component holds state and draws lines.
 */
import { Box, Text, useApp, useInput, useStdout } from 'ink';
import { useEffect, useMemo, useRef, useState } from 'react';
import type { ClusterApi, ClusterEventView } from '../../client/api.js';
import { buildFrame, filteredEvents, NO_TIMELINE_FILTER, type Line, type Mode, type Sweep, type TimelineFilterState } from '../model/dashboard.js';
import { EventStore } from '../model/events.js';
import { cycle, kindGroups } from '../model/filter.js';
import { shortError } from '../model/health.js';
import { emptyMemory, remember } from '../model/replica-table.js';
import { isLive, LIVE, pause, scrollBy, scrollToOldest, type Viewport } from '../model/scroll.js';
import type { EventSource, SourceState } from '../sources/event-source.js';

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

function useTerminalSize(fixed: AppProps['size']): { columns: number; rows: number } {
  const { stdout } = useStdout();
  const read = () => ({ columns: stdout.columns || 80, rows: stdout.rows || 24 });
  const [size, setSize] = useState(read);
  useEffect(() => {
    if (fixed) return;
    const onResize = () => setSize(read());
    stdout.on('resize', onResize);
    return () => {
      stdout.off('resize', onResize);
    };
  }, [stdout, fixed]);
  return fixed ?? size;
}

/** Polls statusAll about every `intervalMs`, never two sweeps at once. */
function useSweeps(cluster: ClusterApi, intervalMs: number) {
  const memory = useRef(emptyMemory()).current;
  const [sweep, setSweep] = useState<Sweep | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  useEffect(() => {
    let stopped = false;
    let timer: NodeJS.Timeout | undefined;
    const tick = async () => {
      const started = Date.now();
      try {
        const probes = await cluster.statusAll();
        if (stopped) return;
        const at = Date.now();
        remember(memory, probes, at);
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
  const store = useRef(new EventStore()).current;
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

  const [mode, setMode] = useState<Mode>('normal');
  const [draft, setDraft] = useState('');
  const [filter, setFilter] = useState<TimelineFilterState>(NO_TIMELINE_FILTER);
  const [viewport, setViewport] = useState<Viewport>(LIVE);

  // The store is mutated in place; `version` says when.
  const visible = useMemo(() => filteredEvents(store.all(), filter), [store, version, filter]);
  const now = Date.now();
  const frame = buildFrame({
    columns, rows, now, intervalMs, sweep, sweepError: error, memory,
    events: visible, totalEvents: store.size, filter, viewport,
    sourceLabel: events.label, sourceStates: states, mode, draft,
  });
  const page = Math.max(1, frame.timelineRows);

  const quit = () => {
    onQuit?.();
    exit();
  };

  useInput((input, key) => {
    if (input === 'c' && key.ctrl) {
      quit();
      return;
    }
    if (mode === 'filter') {
      if (key.return) {
        setFilter((f) => ({ ...f, query: draft.trim() }));
        setMode('normal');
      } else if (key.escape) {
        setMode('normal');
      } else if (key.backspace || key.delete) {
        setDraft((d) => Array.from(d).slice(0, -1).join(''));
      } else if (!key.ctrl && !key.meta && input && !key.upArrow && !key.downArrow && !key.tab) {
        setDraft((d) => d + input.replace(/[\r\n\u0000-\u001f]/g, ''));
      }
      return;
    }
    if (mode === 'help') {
      if (input === '?' || key.escape || input === 'q') setMode('normal');
      return;
    }
    if (input === 'q') quit();
    else if (input === '?') setMode('help');
    else if (input === '/') {
      setDraft(filter.query);
      setMode('filter');
    } else if (input === ' ') setViewport((v) => (isLive(v) ? pause(visible, v) : LIVE));
    else if (key.upArrow) setViewport((v) => scrollBy(visible, v, -1, page));
    else if (key.downArrow) setViewport((v) => scrollBy(visible, v, 1, page));
    else if (key.pageUp) setViewport((v) => scrollBy(visible, v, -page, page));
    else if (key.pageDown) setViewport((v) => scrollBy(visible, v, page, page));
    else if (key.home) setViewport(scrollToOldest(visible, page));
    else if (key.end) setViewport(LIVE);
    else if (input === 'r') {
      const ids = [...new Set([...store.replicaIds(), ...memory.ids.values()])].sort();
      setFilter((f) => ({ ...f, replica: cycle(ids, f.replica) }));
    } else if (input === 'k') {
      setFilter((f) => ({ ...f, kind: cycle(kindGroups(store.kinds()), f.kind) }));
    } else if (input === 'c') setFilter(NO_TIMELINE_FILTER);
  });

  return (
    <Box flexDirection="column" width={columns}>
      {frame.lines.map((line, i) => (
        <LineView key={i} line={line} />
      ))}
    </Box>
  );
}
