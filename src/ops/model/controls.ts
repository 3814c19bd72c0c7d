/**
 * What each key does to the dashboard's view state, as a pure function, so keys
 * pressed faster than the screen redraws still act on the latest state.
 */
import type { TimelineFilterState } from './dashboard.js';
import { NO_TIMELINE_FILTER, type Mode } from './dashboard.js';
import type { EventPosition } from './events.js';
import { cycle } from './filter.js';
import { isLive, LIVE, pause, scrollBy, scrollToOldest, type Viewport } from './scroll.js';

export interface ViewState {
  mode: Mode;
  /** The filter being typed after `/`. */
  draft: string;
  filter: TimelineFilterState;
  viewport: Viewport;
}

export const INITIAL_VIEW: ViewState = { mode: 'normal', draft: '', filter: NO_TIMELINE_FILTER, viewport: LIVE };

/** The key flags the dashboard uses (a subset of Ink's Key). */
export interface KeyFlags {
  ctrl?: boolean;
  meta?: boolean;
  return?: boolean;
  escape?: boolean;
  backspace?: boolean;
  delete?: boolean;
  upArrow?: boolean;
  downArrow?: boolean;
  leftArrow?: boolean;
  rightArrow?: boolean;
  pageUp?: boolean;
  pageDown?: boolean;
  home?: boolean;
  end?: boolean;
  tab?: boolean;
}

export interface KeyContext {
  /** The timeline rows a filter shows (keys can change the filter before the screen catches up). */
  rowsFor(filter: TimelineFilterState): readonly EventPosition[];
  /** Timeline rows on screen. */
  page: number;
  /** Values `r` and `k` cycle through. */
  replicaIds: readonly string[];
  kindGroups: readonly string[];
}

const CONTROL = /[\u0000-\u001f\u007f]/g;

/** The next view state, or 'quit'. */
export function handleKey(s: ViewState, input: string, key: KeyFlags, ctx: KeyContext): ViewState | 'quit' {
  if (key.ctrl && input === 'c') return 'quit';
  if (s.mode === 'filter') {
    if (key.return) return { ...s, mode: 'normal', filter: { ...s.filter, query: s.draft.trim() } };
    if (key.escape) return { ...s, mode: 'normal' };
    if (key.backspace || key.delete) return { ...s, draft: Array.from(s.draft).slice(0, -1).join('') };
    if (
      key.ctrl ||
      key.meta ||
      key.upArrow ||
      key.downArrow ||
      key.leftArrow ||
      key.rightArrow ||
      key.tab ||
      key.pageUp ||
      key.pageDown
    )
      return s;
    // A paste can end with Enter: take the text, then apply.
    const text = input.replace(/\r?\n$|\r$/, '');
    const next = { ...s, draft: s.draft + text.replace(CONTROL, '') };
    return text !== input ? handleKey(next, '', { return: true }, ctx) : next;
  }
  if (s.mode === 'help') {
    return input === '?' || input === 'q' || key.escape ? { ...s, mode: 'normal' } : s;
  }
  const page = Math.max(1, ctx.page);
  const rows = () => ctx.rowsFor(s.filter);
  if (input === 'q') return 'quit';
  if (input === '?') return { ...s, mode: 'help' };
  if (input === '/') return { ...s, mode: 'filter', draft: s.filter.query };
  if (input === ' ') return { ...s, viewport: isLive(s.viewport) ? pause(rows(), s.viewport) : LIVE };
  if (key.upArrow) return { ...s, viewport: scrollBy(rows(), s.viewport, -1, page) };
  if (key.downArrow) return { ...s, viewport: scrollBy(rows(), s.viewport, 1, page) };
  if (key.pageUp) return { ...s, viewport: scrollBy(rows(), s.viewport, -page, page) };
  if (key.pageDown) return { ...s, viewport: scrollBy(rows(), s.viewport, page, page) };
  if (key.home) return { ...s, viewport: scrollToOldest(rows(), page) };
  if (key.end) return { ...s, viewport: LIVE };
  if (input === 'r') return { ...s, filter: { ...s.filter, replica: cycle(ctx.replicaIds, s.filter.replica) } };
  if (input === 'k') return { ...s, filter: { ...s.filter, kind: cycle(ctx.kindGroups, s.filter.kind) } };
  if (input === 'c') return { ...s, filter: NO_TIMELINE_FILTER };
  return s;
}
