/** The command table and the main screen's key reducer, as pure functions. */

import type { Key } from 'ink';
import { describe, expect, it } from 'vitest';
import type { ChatMessage } from '../../src/client/api.js';
import { ringsBell, terminalTitle } from '../../src/tui/attention.js';
import { lengthCounter } from '../../src/tui/components/ComposeBox.js';
import { fuzzyFilter } from '../../src/tui/state/fuzzy.js';
import {
  COMMANDS,
  commandFor,
  hintsFor,
  NO_KEY,
  NO_SITUATION,
  type KeyPress,
  type Scope,
} from '../../src/tui/commands.js';
import {
  draftOf,
  initialView,
  reduceKey,
  sentTexts,
  type KeyContext,
  type ScreenState,
} from '../../src/tui/state/controls.js';
import { sortConversations } from '../../src/tui/state/conversations.js';
import { initialSession, sessionReducer, type SessionAction } from '../../src/tui/state/session.js';
import { textOf } from '../../src/tui/state/text-editor.js';
import { buildTimeline, messageSpans } from '../../src/tui/state/timeline.js';

const press = (input: string, key: Partial<Key> = {}): KeyPress => ({ input, key: { ...NO_KEY, ...key } });
const K = {
  enter: press('\r', { return: true }),
  altEnter: press('\r', { return: true, meta: true }),
  shiftEnter: press('\r', { return: true, shift: true }),
  ctrlJ: press('j', { ctrl: true }),
  esc: press('', { escape: true, meta: true }),
  up: press('', { upArrow: true }),
  down: press('', { downArrow: true }),
  ctrlR: press('r', { ctrl: true }),
  ctrlC: press('c', { ctrl: true }),
  ctrlK: press('k', { ctrl: true }),
  alt: (c: string) => press(c, { meta: true }),
  type: (text: string) => press(text),
};

const T0 = new Date(2025, 5, 3, 10, 0).getTime();
function msg(id: number, sender: string, recipient: string, text: string): ChatMessage {
  return { id, sender, recipient, text, sentAt: T0 + id * 1000, read: true, senderDeleted: false };
}

function screen(...actions: SessionAction[]): ScreenState {
  return { session: actions.reduce(sessionReducer, initialSession('alice')), view: initialView(false, undefined) };
}

let keys = 0;
/** The context a render would give the reducer for this state. */
function ctx(state: ScreenState): KeyContext {
  const s = state.session;
  const open = s.openPeer;
  const rows = open
    ? buildTimeline({
        messages: s.histories[open]?.messages ?? [],
        outgoing: s.outbox.filter((m) => m.peer.toLowerCase() === open),
        me: s.me,
        peer: open,
        width: 60,
        gutter: 0,
        now: T0,
      })
    : [];
  return {
    ordered: sortConversations(s.conversations),
    rowKeys: rows.map((r) => r.key),
    spans: messageSpans(rows),
    height: 10,
    composeWidth: 40,
    clusterFits: true,
    now: T0,
    newKey: () => `key-${++keys}`,
  };
}

/** Presses keys in order; returns the final state and every effect. */
function run(state: ScreenState, ...presses: KeyPress[]) {
  const effects: unknown[] = [];
  for (const p of presses) {
    const r = reduceKey(state, p, ctx(state));
    state = r.state;
    effects.push(...r.effects);
  }
  return { state, effects };
}

const withBobAndCarol = () =>
  screen(
    { type: 'conversations', summaries: [] },
    {
      type: 'history',
      peer: 'bob',
      messages: [
        msg(1, 'bob', 'alice', 'hi alice'),
        msg(2, 'alice', 'bob', 'first from me'),
        msg(3, 'alice', 'bob', 'second from me'),
      ],
      hasMore: false,
    },
    { type: 'received', messages: [msg(1, 'bob', 'alice', 'hi alice'), msg(3, 'alice', 'bob', 'second from me')] },
    { type: 'received', messages: [msg(4, 'carol', 'alice', 'from carol')] },
  );

describe('command table', () => {
  it('gives no key two meanings within a scope, or between a focus and the main screen', () => {
    const chordsOf = (scope: Scope) =>
      COMMANDS.filter((c) => c.scope === scope).flatMap((c) => c.keys.map((k) => [k, c.id] as const));
    for (const scopes of [
      ['list', 'app'],
      ['select', 'app'],
      ['compose', 'text', 'app'],
      ['switcher', 'text'],
      ['search', 'text'],
      ['sign-in', 'text'],
    ] as Scope[][]) {
      const seen = new Map<string, string>();
      for (const scope of scopes) {
        for (const [k, id] of chordsOf(scope)) {
          const before = seen.get(k);
          // The same key for the same action in two scopes is fine (End, a for next unread).
          if (before !== undefined && before !== id && !(k === 'End' && scope === 'app'))
            throw new Error(`${k} means ${before} and ${id} in ${scopes.join('+')}`);
          seen.set(k, id);
        }
      }
    }
  });

  it('matches what terminals send: Alt-Enter, Shift-Enter, Ctrl-J, Alt-digits, and Esc is not Alt', () => {
    expect(commandFor(['compose'], K.altEnter)?.id).toBe('newline');
    expect(commandFor(['compose'], K.shiftEnter)?.id).toBe('newline');
    expect(commandFor(['compose'], K.ctrlJ)?.id).toBe('newline');
    expect(commandFor(['compose'], K.enter)?.id).toBe('send');
    expect(commandFor(['app'], K.alt('7'))?.id).toBe('jump');
    expect(commandFor(['app'], K.esc)).toBeUndefined();
    expect(commandFor(['compose'], K.esc)?.id).toBe('focus.list');
    expect(commandFor(['list'], press('L', { shift: true }))?.id).toBe('logout');
    expect(commandFor(['list'], { ...press('q'), paste: true })).toBeUndefined();
  });

  it('shows hints that apply now, without repeats, help last', () => {
    const list = hintsFor(['list', 'app'], NO_SITUATION).map(([, label]) => label);
    expect(list[0]).toBe('open');
    expect(list.at(-1)).toBe('help');
    expect(new Set(list).size).toBe(list.length);
    expect(list).not.toContain('retry');
    expect(hintsFor(['compose', 'app'], { ...NO_SITUATION, failedHere: true }).map(([, l]) => l)).toContain('retry');
  });
});

describe('main screen keys', () => {
  it('moves in the list, opens with Enter or Alt-number, and splits Esc typed with a key', () => {
    let { state } = run(withBobAndCarol(), K.down);
    // carol's conversation is unread: it sorts first.
    expect(ctx(state).ordered.map((e) => e.peer)).toEqual(['carol', 'bob']);
    expect(state.view.cursorKey).toBe('bob');
    ({ state } = run(state, K.enter));
    expect(state.session.openPeer).toBe('bob');
    expect(state.view.focus).toBe('compose');
    ({ state } = run(state, K.alt('1')));
    expect(state.session.openPeer).toBe('carol');
    // In the compose box Alt-V is unknown: it is Esc (to the list), then v (select).
    ({ state } = run(state, K.alt('v')));
    expect(state.view.focus).toBe('select');
  });

  it('writes several lines, refuses a message over the limit, and sends with a fresh key', () => {
    let { state } = run(
      withBobAndCarol(),
      K.down,
      K.enter,
      K.type('one'),
      K.altEnter,
      K.type('two'),
      K.ctrlJ,
      K.type('  three'),
    );
    expect(textOf(draftOf(state, 'bob').text)).toBe('one\ntwo\n  three');
    ({ state } = run(state, K.enter));
    expect(state.session.outbox.map((m) => [m.key, m.text])).toEqual([['key-' + keys, 'one\ntwo\n  three']]);
    expect(textOf(draftOf(state, 'bob').text)).toBe('');
    ({ state } = run(state, { ...press('x'.repeat(4097)), paste: true }, K.enter));
    expect(state.session.outbox).toHaveLength(1);
    expect(state.view.notice?.text).toContain('1 character too long (4097/4096)');
  });

  it('recalls what I sent here with Up, and comes back to the draft with Down', () => {
    let { state } = run(withBobAndCarol(), K.down, K.enter, K.type('draft'));
    expect(sentTexts(state.session, 'bob')).toEqual(['first from me', 'second from me']);
    ({ state } = run(state, K.up));
    expect(textOf(draftOf(state, 'bob').text)).toBe('second from me');
    ({ state } = run(state, K.up, K.up));
    expect(textOf(draftOf(state, 'bob').text)).toBe('first from me');
    ({ state } = run(state, K.down, K.down));
    expect(textOf(draftOf(state, 'bob').text)).toBe('draft');
  });

  it('edits, retries or discards a failed message from the selection, and Ctrl-R retries them all', () => {
    let { state } = run(withBobAndCarol(), K.down, K.enter, K.type('lost words'), K.enter);
    const key = state.session.outbox[0]!.key;
    state = { ...state, session: sessionReducer(state.session, { type: 'send-failed', key, error: 'no leader' }) };
    ({ state } = run(state, K.esc, press('v')));
    expect(state.view.select.cursor).toBe(`o${key}`);
    ({ state } = run(state, press('r')));
    expect(state.session.outbox[0]!.state).toBe('queued');
    state = { ...state, session: sessionReducer(state.session, { type: 'send-failed', key, error: 'no leader' }) };
    ({ state } = run(state, K.ctrlR));
    expect(state.session.outbox[0]).toMatchObject({ key, state: 'queued' });
    state = { ...state, session: sessionReducer(state.session, { type: 'send-failed', key, error: 'no leader' }) };
    ({ state } = run(state, press('v'), press('e')));
    expect(state.session.outbox).toEqual([]);
    expect(state.view.focus).toBe('compose');
    expect(textOf(draftOf(state, 'bob').text)).toBe('lost words');
    ({ state } = run(state, K.enter));
    state = {
      ...state,
      session: sessionReducer(state.session, { type: 'send-failed', key: state.session.outbox[0]!.key, error: 'x' }),
    };
    ({ state } = run(state, K.esc, press('v'), press('d')));
    expect(state.session.outbox).toEqual([]);
    expect(state.view.overlay).toBeUndefined();
  });

  it('asks the screen to quit, to tell the peer I type, and takes a paste in the list to the compose box', () => {
    const opened = run(withBobAndCarol(), K.down, K.enter, K.esc).state;
    expect(run(opened, press('q')).effects).toEqual([{ type: 'quit' }]);
    expect(run(opened, K.ctrlC).effects).toEqual([{ type: 'quit' }]);
    const pasted = run(opened, { ...press('q\rx'), paste: true });
    expect(pasted.effects).toEqual([{ type: 'typing', peer: 'bob' }]);
    expect(pasted.state.view.focus).toBe('compose');
    expect(textOf(draftOf(pasted.state, 'bob').text)).toBe('q\nx');
    expect(run(opened, K.ctrlK).state.view.overlay).toEqual({ kind: 'switcher' });
  });
});

describe('attention, the switcher and the counter', () => {
  it('rings once for messages closer together than 3 s, and titles the terminal with the unread total', () => {
    const arrivals = [0, 500, 1200, 2900, 5800, 9000];
    let last: number | undefined;
    const rings = arrivals.filter((at) => {
      const r = ringsBell(last, at);
      last = at;
      return r;
    });
    expect(rings).toEqual([0, 9000]);
    expect(terminalTitle('alice', 3)).toBe('chat-tui · alice · 3 unread');
    expect(terminalTitle('alice', 0)).toBe('chat-tui · alice');
  });

  it('finds names by letters in order, best matches first', () => {
    const names = ['walter', 'wallaby', 'bob', 'swallow', 'walrus'];
    expect(fuzzyFilter(names, 'wlrs', (n) => n)).toEqual(['walrus']);
    expect(fuzzyFilter(names, 'wal', (n) => n)).toEqual(['walter', 'walrus', 'wallaby', 'swallow']);
    expect(fuzzyFilter(names, '', (n) => n)).toEqual(names);
    expect(fuzzyFilter(names, 'zz', (n) => n)).toEqual([]);
  });

  it('counts characters near the limit, and from the first line break', () => {
    expect(lengthCounter('short', false)).toBeUndefined();
    expect(lengthCounter('two\nlines', true)).toEqual({ label: '9/4096', over: false });
    expect(lengthCounter('x'.repeat(3100), false)).toEqual({ label: '3100/4096', over: false });
    expect(lengthCounter('😀'.repeat(4097), false)).toEqual({ label: '4097/4096', over: true });
  });
});
