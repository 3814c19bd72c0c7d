import { describe, expect, it } from 'vitest';
import { handleKey, INITIAL_VIEW, type KeyContext, type ViewState } from '../../src/ops/model/controls.js';
import { filteredEvents } from '../../src/ops/model/dashboard.js';
import { isLive } from '../../src/ops/model/scroll.js';
import { event } from './fixtures.js';

const all = Array.from({ length: 30 }, (_, i) => event({ replicaId: i % 2 === 0 ? 'A' : 'B', seq: i + 1, timeMs: i }));
const ctx: KeyContext = {
  rowsFor: (filter) => filteredEvents(all, filter),
  page: 10,
  replicaIds: ['A', 'B'],
  kindGroups: ['election', 'isr'],
};

function press(keys: (string | Record<string, boolean>)[], from: ViewState = INITIAL_VIEW): ViewState | 'quit' {
  let s: ViewState | 'quit' = from;
  for (const k of keys) {
    if (s === 'quit') return s;
    s = typeof k === 'string' ? handleKey(s, k, {}, ctx) : handleKey(s, '', k, ctx);
  }
  return s;
}

const view = (s: ViewState | 'quit') => {
  if (s === 'quit') throw new Error('quit');
  return s;
};

describe('dashboard keys', () => {
  it('quits on q and Ctrl-C, but q only closes the help', () => {
    expect(press(['q'])).toBe('quit');
    expect(handleKey(INITIAL_VIEW, 'c', { ctrl: true }, ctx)).toBe('quit');
    expect(view(press(['?', 'q'])).mode).toBe('normal');
  });

  it('opens and closes the help with ? and Esc', () => {
    expect(view(press(['?'])).mode).toBe('help');
    expect(view(press(['?', '?'])).mode).toBe('normal');
    expect(view(press(['?', { escape: true }])).mode).toBe('normal');
    expect(view(press(['?', 'r'])).filter.replica).toBeUndefined();
  });

  it('pauses with space, resumes with space or End, and scrolls without resuming', () => {
    expect(isLive(view(press([' '])).viewport)).toBe(false);
    expect(isLive(view(press([' ', ' '])).viewport)).toBe(true);
    expect(view(press([{ upArrow: true }])).viewport.anchor?.seq).toBe(29);
    expect(view(press([{ pageUp: true }])).viewport.anchor?.seq).toBe(20);
    expect(view(press([{ pageUp: true }, { downArrow: true }])).viewport.anchor?.seq).toBe(21);
    expect(view(press([{ home: true }])).viewport.anchor?.seq).toBe(10);
    expect(view(press([{ home: true }, { pageDown: true }])).viewport.anchor?.seq).toBe(20);
    expect(isLive(view(press([{ pageUp: true }, { end: true }])).viewport)).toBe(true);
  });

  it('scrolls the timeline of the filter just chosen, even before the screen shows it', () => {
    expect(view(press(['r', { pageUp: true }])).viewport.anchor).toMatchObject({ replicaId: 'A', seq: 19 });
  });

  it('cycles the replica and kind filters and clears them with c', () => {
    expect(view(press(['r'])).filter.replica).toBe('A');
    expect(view(press(['r', 'r'])).filter.replica).toBe('B');
    expect(view(press(['r', 'r', 'r'])).filter.replica).toBeUndefined();
    expect(view(press(['k', 'k'])).filter.kind).toBe('isr');
    expect(view(press(['r', 'k', 'c'])).filter).toEqual(INITIAL_VIEW.filter);
  });

  it('types a filter after /, with backspace, Enter to apply and Esc to cancel', () => {
    const typed = view(press(['/', 'k:isr', ' r:Bx', { backspace: true }, { return: true }]));
    expect(typed.filter.query).toBe('k:isr r:B');
    expect(typed.mode).toBe('normal');
    const cancelled = view(press(['/', 'abc', { escape: true }], typed));
    expect(cancelled.filter.query).toBe('k:isr r:B');
    expect(view(press(['/'], typed)).draft).toBe('k:isr r:B');
    expect(view(press(['/', 'q', 'r'])).mode).toBe('filter');
    expect(view(press(['/', 'pasted\r'])).filter.query).toBe('pasted');
  });
});
