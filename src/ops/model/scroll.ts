/**
 * The timeline's viewport: live (following the newest event) or held at an
 * anchor event (paused or scrolled back). The anchor is a timeline position, not
 * an index, so it stays put while new events arrive or a filter changes.
 */
import { upperBound, type EventPosition } from './events.js';

export interface Viewport {
  /** The bottom row's event; undefined while live. */
  anchor: EventPosition | undefined;
}

export const LIVE: Viewport = { anchor: undefined };

export function isLive(v: Viewport): boolean {
  return v.anchor === undefined;
}

function positionOf(e: EventPosition): EventPosition {
  return { timeMs: e.timeMs, replicaId: e.replicaId, seq: e.seq };
}

/** Index of the bottom row: the newest event while live, else the last event at or before the anchor. */
export function bottomIndex(list: readonly EventPosition[], v: Viewport): number {
  if (list.length === 0) return -1;
  if (v.anchor === undefined) return list.length - 1;
  return Math.max(0, upperBound(list, v.anchor) - 1);
}

export interface VisibleWindow<T> {
  rows: T[];
  /** Events above the window. */
  older: number;
  /** Events below the window (arrived while paused, or scrolled past). */
  newer: number;
}

/** The `height` rows ending at the bottom row. */
export function visibleWindow<T extends EventPosition>(
  list: readonly T[],
  v: Viewport,
  height: number,
): VisibleWindow<T> {
  if (list.length === 0 || height <= 0) return { rows: [], older: 0, newer: list.length };
  const bottom = bottomIndex(list, v);
  const start = Math.max(0, bottom - height + 1);
  return { rows: list.slice(start, bottom + 1), older: start, newer: list.length - 1 - bottom };
}

/** Holds the view where it is (space while live). */
export function pause(list: readonly EventPosition[], v: Viewport): Viewport {
  if (!isLive(v) || list.length === 0) return v;
  return { anchor: positionOf(list[list.length - 1]!) };
}

/**
 * Moves the bottom row by `delta` events (negative: back in time). The window stays
 * full: it never moves above the first page. Scrolling never resumes live on its own.
 */
export function scrollBy(list: readonly EventPosition[], v: Viewport, delta: number, height: number): Viewport {
  if (list.length === 0) return v;
  const lowest = Math.min(list.length - 1, Math.max(0, height - 1));
  const target = Math.min(list.length - 1, Math.max(lowest, bottomIndex(list, v) + delta));
  return { anchor: positionOf(list[target]!) };
}

/** The oldest page. */
export function scrollToOldest(list: readonly EventPosition[], height: number): Viewport {
  if (list.length === 0) return LIVE;
  return { anchor: positionOf(list[Math.min(list.length - 1, Math.max(0, height - 1))]!) };
}
