/**
 * Scrollback over a list of rows, each with a stable key. Following the newest rows
 * is the default; once scrolled up, the window is anchored to the key of its first
 * row, so rows arriving below or older history loaded above do not move it.
 */

export type Scroll = { follow: true } | { follow: false; anchor: string; top: number };

export const FOLLOW: Scroll = { follow: true };

export interface ScrollWindow {
  /** Rows [start, end) are visible. */
  start: number;
  end: number;
  /** Rows above and below the window. */
  above: number;
  below: number;
}

function maxTop(total: number, height: number): number {
  return Math.max(0, total - height);
}

export function resolveScroll(keys: readonly string[], height: number, scroll: Scroll): ScrollWindow {
  const total = keys.length;
  const h = Math.max(0, height);
  let start: number;
  if (scroll.follow) {
    start = maxTop(total, h);
  } else {
    const found = keys.indexOf(scroll.anchor);
    start = Math.min(found >= 0 ? found : scroll.top, maxTop(total, h));
  }
  start = Math.max(0, start);
  const end = Math.min(total, start + h);
  return { start, end, above: start, below: total - end };
}

function at(keys: readonly string[], height: number, top: number): Scroll {
  const limit = maxTop(keys.length, height);
  const t = Math.max(0, Math.min(top, limit));
  if (t >= limit) return FOLLOW;
  return { follow: false, anchor: keys[t]!, top: t };
}

/** Moves the window by `delta` rows (negative: up, towards older rows). Reaching the bottom resumes following. */
export function scrollBy(keys: readonly string[], height: number, scroll: Scroll, delta: number): Scroll {
  const { start } = resolveScroll(keys, height, scroll);
  return at(keys, height, start + delta);
}

/** The smallest move that shows rows [first, last] (as much of them as fits, the first row preferred). */
export function scrollToShow(
  keys: readonly string[],
  height: number,
  scroll: Scroll,
  first: number,
  last: number,
): Scroll {
  const { start, end } = resolveScroll(keys, height, scroll);
  if (first >= start && last < end) return scroll;
  if (first < start) return at(keys, height, first);
  return at(keys, height, Math.min(first, last - height + 1));
}
