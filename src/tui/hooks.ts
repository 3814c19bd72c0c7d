/** React hooks shared by the screens: a store, a ticking clock, the connection, the cluster status. */

import { useCallback, useEffect, useReducer, useRef, useState } from 'react';
import type { ChatApi, ClusterApi, ConnectionState, LeaderView, ReplicaProbe } from '../client/api.js';

/** Date.now(), refreshed every `everyMs` while `active`. */
export function useNow(everyMs: number, active = true): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!active) return;
    setNow(Date.now());
    const timer = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(timer);
  }, [everyMs, active]);
  return now;
}

export function useConnection(chat: ChatApi): ConnectionState {
  const [state, setState] = useState<ConnectionState>(() => chat.connection());
  useEffect(() => {
    setState(chat.connection());
    return chat.onConnectionChange(setState);
  }, [chat]);
  return state;
}

export interface ClusterSnapshot {
  probes: ReplicaProbe[];
  leader: LeaderView | undefined;
  /** Replica ids by address, from every sweep so far: names replicas that are down now. */
  knownIds: ReadonlyMap<string, string>;
  /** When the last sweep finished. */
  at: number;
}

/**
 * Polls `statusAll` and `findLeader` about every `everyMs` while enabled; one sweep at
 * a time, so a slow replica never piles up calls.
 */
export function useClusterStatus(cluster: ClusterApi, enabled: boolean, everyMs = 1000): ClusterSnapshot | undefined {
  const [snapshot, setSnapshot] = useState<ClusterSnapshot | undefined>(undefined);
  const alive = useRef(true);
  const knownIds = useRef(new Map<string, string>());
  useEffect(() => {
    alive.current = true;
    return () => {
      alive.current = false;
    };
  }, []);
  useEffect(() => {
    if (!enabled) return;
    let stopped = false;
    let timer: NodeJS.Timeout | undefined;
    const sweep = async () => {
      const started = Date.now();
      const [probes, leader] = await Promise.all([
        cluster.statusAll().catch((): ReplicaProbe[] => []),
        cluster.findLeader().catch((): LeaderView | undefined => undefined),
      ]);
      if (stopped || !alive.current) return;
      for (const p of probes) if (p.up) knownIds.current.set(p.address, p.status.id);
      for (const r of leader?.replicas ?? []) knownIds.current.set(r.address, r.id);
      setSnapshot({
        probes,
        leader: leader && leader.leaderId ? leader : undefined,
        knownIds: new Map(knownIds.current),
        at: Date.now(),
      });
      timer = setTimeout(() => void sweep(), Math.max(0, everyMs - (Date.now() - started)));
    };
    void sweep();
    return () => {
      stopped = true;
      if (timer) clearTimeout(timer);
    };
  }, [cluster, enabled, everyMs]);
  return snapshot;
}

/**
 * A reducer whose latest state is readable at once through `ref`: key handlers
 * read it, so keys typed faster than React re-renders (a paste, tmux send-keys)
 * still see what the key before them did. `set` replaces the state outright
 * (for reducers that return more than the state, like a key reducer's effects).
 */
export function useStore<S, A>(
  reducer: (state: S, action: A) => S,
  initial: () => S,
): { state: S; ref: { readonly current: S }; dispatch(action: A): void; set(next: S): void } {
  const ref = useRef<S | undefined>(undefined);
  if (ref.current === undefined) ref.current = initial();
  const [, rerender] = useReducer((n: number) => n + 1, 0);
  const set = useCallback((next: S) => {
    if (next === ref.current) return;
    ref.current = next;
    rerender();
  }, []);
  const dispatch = useCallback((action: A) => set(reducer(ref.current as S, action)), [set]);
  return { state: ref.current, ref: ref as { readonly current: S }, dispatch, set };
}

/**
 * State whose latest value is also readable at once through `ref`: key handlers read
 * the ref, so keys typed faster than React re-renders (a paste, tmux send-keys) still
 * see the effect of the key before them.
 */
export function useRefState<T>(
  initial: T | (() => T),
): [T, (next: T | ((old: T) => T)) => void, { readonly current: T }] {
  const [value, setValue] = useState<T>(initial);
  const ref = useRef<T>(value);
  const set = useCallback((next: T | ((old: T) => T)) => {
    const resolved = typeof next === 'function' ? (next as (old: T) => T)(ref.current) : next;
    ref.current = resolved;
    setValue(resolved);
  }, []);
  return [value, set, ref];
}
