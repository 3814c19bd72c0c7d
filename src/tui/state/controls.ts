/**
 * The main screen's state besides the session (focus, dialogs, drafts, scroll,
 * selection) and what each key does to it, as pure functions: keys arrive one
 * at a time (see keys.tsx) and each is reduced against the latest state, so a
 * burst of keys acts exactly as the same keys typed slowly. Which key means
 * what comes from the command table (commands.ts); what the screen must do
 * besides changing state (quit, log out, tell the peer I am typing) comes back
 * as effects.
 */

import { messageSize, MESSAGE_MAX_CHARACTERS, MESSAGE_MAX_UTF8_BYTES } from '../../client/limits.js';
import { commandFor, NO_KEY, type KeyPress, type Scope } from '../commands.js';
import { nextUnread, type ConversationEntry } from './conversations.js';
import { plural } from './format.js';
import { nameKey } from './messages.js';
import { FOLLOW, scrollBy, scrollToShow, type Scroll } from './scroll.js';
import { sessionReducer, type SessionAction, type SessionState } from './session.js';
import type { Tone } from './status.js';
import {
  EMPTY_TEXT,
  editText,
  insertable,
  moveVertically,
  textFrom,
  textOf,
  type EditKey,
  type TextState,
} from './text-editor.js';
import { refKey, type MessageSpan } from './timeline.js';

export type Focus = 'list' | 'compose' | 'select';

export type Overlay =
  | { kind: 'help' }
  | { kind: 'search' }
  | { kind: 'switcher' }
  | { kind: 'inbox' }
  | { kind: 'settings' }
  | { kind: 'delete-account' }
  | { kind: 'delete-messages'; ids: number[] };

export interface Notice {
  text: string;
  tone: Tone;
}

export interface Draft {
  text: TextState;
  /** Browsing the input history (Up/Down): which entry shows, and the draft to come back to. */
  recall?: { index: number; saved: TextState };
}

export interface ViewState {
  focus: Focus;
  overlay: Overlay | undefined;
  /** The list cursor (a peer key); undefined: the first conversation. */
  cursorKey: string | undefined;
  /** By peer key. */
  drafts: Readonly<Record<string, Draft>>;
  scroll: Scroll;
  /** Selection mode: the message under the cursor (a timeline ref key) and the stored messages chosen. */
  select: { cursor: string | undefined; chosen: ReadonlySet<number> };
  showCluster: boolean;
  notice: Notice | undefined;
}

export interface ScreenState {
  session: SessionState;
  view: ViewState;
}

export function initialView(showCluster: boolean, notice: Notice | undefined): ViewState {
  return {
    focus: 'list',
    overlay: undefined,
    cursorKey: undefined,
    drafts: {},
    scroll: FOLLOW,
    select: { cursor: undefined, chosen: new Set() },
    showCluster,
    notice,
  };
}

/** What the latest render laid out, for keys that depend on it. */
export interface KeyContext {
  /** Conversations in list order. */
  ordered: readonly ConversationEntry[];
  /** Keys of the open conversation's timeline rows, and its messages. */
  rowKeys: readonly string[];
  spans: readonly MessageSpan[];
  /** Rows of the message window. */
  height: number;
  /** Columns of the compose box's text. */
  composeWidth: number;
  /** The cluster panel would have room. */
  clusterFits: boolean;
  now: number;
  /** A fresh idempotency key. */
  newKey(): string;
}

export type Effect = { type: 'quit' } | { type: 'logout' } | { type: 'typing'; peer: string };

export interface Reduced {
  state: ScreenState;
  effects: Effect[];
}

// ------------------------------------------------------------------ actions that are not keys

export type ScreenAction =
  | { type: 'session'; action: SessionAction }
  | { type: 'open'; peer: string; online?: boolean }
  | { type: 'overlay'; overlay: Overlay | undefined }
  | { type: 'notice'; notice: Notice | undefined }
  | { type: 'scroll'; scroll: Scroll }
  | { type: 'cluster'; show: boolean }
  /** Messages were deleted from the open conversation through the dialog. */
  | { type: 'deleted'; ids: readonly number[] };

export function screenReducer(state: ScreenState, action: ScreenAction): ScreenState {
  switch (action.type) {
    case 'session': {
      const session = sessionReducer(state.session, action.action);
      return session === state.session ? state : { ...state, session };
    }
    case 'open':
      return open(state, action.peer, 'compose', action.online);
    case 'overlay':
      return withView(state, { overlay: action.overlay });
    case 'notice':
      return withView(state, { notice: action.notice });
    case 'scroll':
      return withView(state, { scroll: action.scroll });
    case 'cluster':
      return withView(state, { showCluster: action.show });
    case 'deleted': {
      const session = sessionReducer(state.session, { type: 'deleted', ids: action.ids });
      return {
        session,
        view: {
          ...state.view,
          focus: 'list',
          select: { cursor: undefined, chosen: new Set() },
          notice: { text: `deleted ${plural(action.ids.length, 'message')}`, tone: 'ok' },
        },
      };
    }
  }
}

function withView(state: ScreenState, patch: Partial<ViewState>): ScreenState {
  return { ...state, view: { ...state.view, ...patch } };
}

function session(state: ScreenState, action: SessionAction): ScreenState {
  return { ...state, session: sessionReducer(state.session, action) };
}

function notice(state: ScreenState, text: string, tone: Tone = 'muted'): ScreenState {
  return withView(state, { notice: { text, tone } });
}

function open(state: ScreenState, peer: string, focus: Focus, online?: boolean): ScreenState {
  const key = nameKey(peer);
  const fresh = key !== state.session.openPeer;
  const next = session(state, { type: 'open', peer, online });
  return withView(next, {
    cursorKey: key,
    focus,
    ...(fresh ? { scroll: FOLLOW, select: { cursor: undefined, chosen: new Set<number>() } } : {}),
  });
}

// ------------------------------------------------------------------ keys

const none = (state: ScreenState): Reduced => ({ state, effects: [] });

/** What a key does on the main screen (while no dialog is open). */
export function reduceKey(state: ScreenState, press: KeyPress, ctx: KeyContext): Reduced {
  const focus = state.view.focus;
  const scopes: Scope[] = focus === 'compose' ? ['compose', 'text', 'app'] : [focus, 'app'];
  const cmd = commandFor(scopes, press);
  // Esc typed together with the next key arrives as Alt+key: take it as both (Alt-A and Esc A agree).
  if (!cmd && press.key.meta && !press.key.escape && !press.key.ctrl && Array.from(press.input).length === 1) {
    const escaped = reduceKey(state, { input: '', key: { ...press.key, meta: false, escape: true } }, ctx);
    const then = reduceKey(escaped.state, { input: press.input, key: { ...press.key, meta: false } }, ctx);
    return { state: then.state, effects: [...escaped.effects, ...then.effects] };
  }
  // Outside the compose box a key also dismisses the notice.
  const base = focus !== 'compose' && state.view.notice ? withView(state, { notice: undefined }) : state;
  if (focus === 'compose') return composeKey(base, press, cmd?.id, ctx);
  if (!cmd) return press.paste ? pasteIntoCompose(base, press.input, ctx) : none(base);
  if (cmd.scope === 'app') return appCommand(base, cmd.id, press, ctx);
  return focus === 'select' ? selectCommand(base, cmd.id, ctx) : listCommand(base, cmd.id, ctx);
}

function appCommand(state: ScreenState, id: string, press: KeyPress, ctx: KeyContext): Reduced {
  const { view } = state;
  const openKey = state.session.openPeer;
  switch (id) {
    case 'quit':
      return { state, effects: [{ type: 'quit' }] };
    case 'focus.toggle':
      if (view.focus !== 'list') return none(withView(state, { focus: 'list' }));
      if (openKey) return none(withView(state, { focus: 'compose' }));
      return none(notice(state, 'open a conversation first: ↑ ↓ and Enter, or n for a new one'));
    case 'scroll.page-up':
      return none(scrollLines(state, -Math.max(1, ctx.height - 1), ctx));
    case 'scroll.page-down':
      return none(scrollLines(state, Math.max(1, ctx.height - 1), ctx));
    case 'scroll.newest':
      return none(withView(state, { scroll: FOLLOW }));
    case 'unread.next':
      return none(jumpToNextUnread(state, ctx));
    case 'switcher':
      return none(withView(state, { overlay: { kind: 'switcher' } }));
    case 'jump': {
      const entry = ctx.ordered[Number(press.input) - 1];
      if (!entry) return none(notice(state, `there is no conversation ${press.input} in the list`));
      return none(open(state, entry.peer, 'compose'));
    }
    case 'retry': {
      if (!openKey || !state.session.outbox.some((m) => m.state === 'failed' && nameKey(m.peer) === openKey)) {
        return none(notice(state, 'no failed messages here'));
      }
      const next = session(state, { type: 'retry', peer: openKey });
      return none(
        notice(next, 'retrying the failed messages (same idempotency keys: none can be stored twice)', 'warn'),
      );
    }
    default:
      return none(state);
  }
}

function listCommand(state: ScreenState, id: string, ctx: KeyContext): Reduced {
  const { ordered } = ctx;
  const current = listCursor(state, ordered);
  const index = Math.max(
    0,
    ordered.findIndex((e) => nameKey(e.peer) === current),
  );
  const moveTo = (i: number) => {
    const entry = ordered[Math.max(0, Math.min(ordered.length - 1, i))];
    return none(entry ? withView(state, { cursorKey: nameKey(entry.peer) }) : state);
  };
  switch (id) {
    case 'list.up':
      return moveTo(index - 1);
    case 'list.down':
      return moveTo(index + 1);
    case 'list.first':
      return moveTo(0);
    case 'list.open': {
      const entry = ordered[index];
      return none(entry ? open(state, entry.peer, 'compose') : notice(state, 'no conversations yet: n starts one'));
    }
    case 'compose':
      return none(state.session.openPeer ? withView(state, { focus: 'compose' }) : state);
    case 'search':
      return none(withView(state, { overlay: { kind: 'search' } }));
    case 'unread.next':
      return none(jumpToNextUnread(state, ctx));
    case 'inbox':
      return none(withView(state, { overlay: { kind: 'inbox' } }));
    case 'select.start':
      return none(startSelecting(state, ctx));
    case 'cluster': {
      const next = withView(state, { showCluster: !state.view.showCluster });
      return none(
        !state.view.showCluster && !ctx.clusterFits ? notice(next, 'the cluster panel needs a taller terminal') : next,
      );
    }
    case 'settings':
      return none(withView(state, { overlay: { kind: 'settings' } }));
    case 'help':
      return none(withView(state, { overlay: { kind: 'help' } }));
    case 'quit':
      return { state, effects: [{ type: 'quit' }] };
    case 'logout':
      return { state, effects: [{ type: 'logout' }] };
    case 'delete-account':
      return none(withView(state, { overlay: { kind: 'delete-account' } }));
    default:
      return none(state);
  }
}

/** The list cursor: the chosen conversation while it is listed, else the first. */
export function listCursor(state: ScreenState, ordered: readonly ConversationEntry[]): string | undefined {
  const k = state.view.cursorKey;
  return k !== undefined && state.session.conversations[k] ? k : ordered[0] ? nameKey(ordered[0].peer) : undefined;
}

function jumpToNextUnread(state: ScreenState, ctx: KeyContext): ScreenState {
  // From the open conversation onwards; with none open, the first unread one.
  const key = nextUnread(ctx.ordered, state.session.openPeer);
  const entry = key ? state.session.conversations[key] : undefined;
  if (!entry) return notice(state, 'no unread conversations');
  return open(state, entry.peer, state.view.focus === 'select' ? 'list' : state.view.focus);
}

function scrollLines(state: ScreenState, delta: number, ctx: KeyContext): ScreenState {
  return withView(state, { scroll: scrollBy(ctx.rowKeys, ctx.height, state.view.scroll, delta) });
}

// ------------------------------------------------------------------ compose

/** The draft of the open conversation. */
export function draftOf(state: ScreenState, peerKey: string | undefined): Draft {
  return (peerKey && state.view.drafts[peerKey]) || { text: EMPTY_TEXT };
}

function setDraft(state: ScreenState, peerKey: string, draft: Draft): ScreenState {
  return withView(state, { drafts: { ...state.view.drafts, [peerKey]: draft } });
}

const TEXT_EDITS: Record<string, EditKey['type']> = {
  left: 'left',
  right: 'right',
  home: 'home',
  end: 'end',
  'word-left': 'word-left',
  'word-right': 'word-right',
  backspace: 'backspace',
  'delete-forward': 'delete-forward',
  'kill-to-start': 'kill-to-start',
  'kill-word': 'kill-word',
};

/** The edit a press means in a text field (commands of the `text` scope, or typed text), if any. */
export function editFor(press: KeyPress, multiline: boolean): EditKey | undefined {
  if (press.paste) return { type: 'insert', text: insertable(press.input, multiline) };
  const cmd = commandFor(['text'], press);
  if (cmd) return { type: TEXT_EDITS[cmd.id]! } as EditKey;
  const { key, input } = press;
  if (
    key.ctrl ||
    key.meta ||
    key.return ||
    key.escape ||
    key.tab ||
    key.upArrow ||
    key.downArrow ||
    key.pageUp ||
    key.pageDown ||
    !input
  )
    return undefined;
  return { type: 'insert', text: insertable(input, multiline) };
}

function composeKey(state: ScreenState, press: KeyPress, id: string | undefined, ctx: KeyContext): Reduced {
  const peerKey = state.session.openPeer;
  if (!peerKey) return none(withView(state, { focus: 'list' }));
  const draft = draftOf(state, peerKey);
  switch (id) {
    case 'send':
      return none(send(state, peerKey, ctx));
    case 'focus.list':
      return none(withView(state, { focus: 'list' }));
    case 'history.up':
    case 'history.down': {
      const direction = id === 'history.up' ? -1 : 1;
      const moved = moveVertically(draft.text, ctx.composeWidth, direction);
      return none(
        setDraft(state, peerKey, moved ? { ...draft, text: moved } : recall(state, peerKey, draft, direction)),
      );
    }
    case 'newline':
      return typed(state, peerKey, { text: editText(draft.text, { type: 'newline' }) });
    default:
      break;
  }
  if (id !== undefined && !(id in TEXT_EDITS)) {
    // End also follows the newest message; other commands of the main screen act as anywhere.
    return appCommand(state, id, press, ctx);
  }
  const edit = editFor(press, true);
  if (!edit) return none(state);
  const next: Draft = { text: editText(draft.text, edit) };
  const moved = id === 'end' ? withView(state, { scroll: FOLLOW }) : state;
  return edit.type === 'insert' ? typed(moved, peerKey, next) : none(setDraft(moved, peerKey, next));
}

/** Text went into the draft: the peer may be told I am typing. */
function typed(state: ScreenState, peerKey: string, draft: Draft): Reduced {
  const entry = state.session.conversations[peerKey];
  const next = setDraft(state, peerKey, draft);
  const tell = entry && !entry.peerDeleted && peerKey !== nameKey(state.session.me);
  return { state: next, effects: tell ? [{ type: 'typing', peer: entry.peer }] : [] };
}

function pasteIntoCompose(state: ScreenState, text: string, ctx: KeyContext): Reduced {
  if (!state.session.openPeer) return none(notice(state, 'open a conversation to paste into its compose box'));
  return composeKey(
    withView(state, { focus: 'compose' }),
    { input: text, key: { ...NO_KEY }, paste: true },
    undefined,
    ctx,
  );
}

/** What I sent in a conversation, oldest first: stored messages of mine, then those still in the outbox. */
export function sentTexts(s: SessionState, peerKey: string): string[] {
  const me = nameKey(s.me);
  const stored = (s.histories[peerKey]?.messages ?? []).filter((m) => nameKey(m.sender) === me).map((m) => m.text);
  const pending = s.outbox.filter((m) => nameKey(m.peer) === peerKey && m.deliveredId === undefined).map((m) => m.text);
  const all = [...stored, ...pending];
  return all.filter((t, i) => i === 0 || all[i - 1] !== t);
}

function recall(state: ScreenState, peerKey: string, draft: Draft, direction: -1 | 1): Draft {
  const entries = sentTexts(state.session, peerKey);
  if (entries.length === 0) return draft;
  if (!draft.recall) {
    if (direction === 1) return draft;
    return { text: textFrom(entries[entries.length - 1]!), recall: { index: entries.length - 1, saved: draft.text } };
  }
  const index = draft.recall.index + direction;
  if (index < 0) return draft;
  if (index >= entries.length) return { text: draft.recall.saved };
  return { text: textFrom(entries[index]!), recall: { ...draft.recall, index } };
}

/** The text a draft sends: without blank lines before it and white space after it (indentation kept). */
export function outgoingText(draft: TextState): string {
  return textOf(draft)
    .replace(/^(?:[ \t]*\n)+/, '')
    .trimEnd();
}

/** Why a draft cannot be sent as it is, or undefined. */
export function overLimit(text: string): string | undefined {
  const size = messageSize(text);
  if (size.charactersOver > 0) {
    return `the message is ${plural(size.charactersOver, 'character')} too long (${size.characters}/${MESSAGE_MAX_CHARACTERS}); shorten it to send it`;
  }
  if (size.bytesOver > 0) {
    return `the message is ${plural(size.bytesOver, 'byte')} of UTF-8 too long (${size.bytes}/${MESSAGE_MAX_UTF8_BYTES} bytes); shorten it to send it`;
  }
  return undefined;
}

function send(state: ScreenState, peerKey: string, ctx: KeyContext): ScreenState {
  const entry = state.session.conversations[peerKey];
  const draft = draftOf(state, peerKey);
  const text = outgoingText(draft.text);
  if (!entry || text.trim() === '') return state;
  if (entry.peerDeleted) return notice(state, `${entry.peer} deleted the account; messages cannot reach it`, 'error');
  const problem = overLimit(text);
  if (problem) return notice(state, problem, 'error');
  const queued = session(state, { type: 'send', key: ctx.newKey(), peer: entry.peer, text, at: ctx.now });
  return withView(setDraft(queued, peerKey, { text: EMPTY_TEXT }), { scroll: FOLLOW, notice: undefined });
}

// ------------------------------------------------------------------ selection

function startSelecting(state: ScreenState, ctx: KeyContext): ScreenState {
  if (!state.session.openPeer) return notice(state, 'open a conversation first');
  const last = ctx.spans[ctx.spans.length - 1];
  if (!last) return notice(state, 'no messages to select here');
  return withView(state, {
    focus: 'select',
    select: { cursor: refKey(last.ref), chosen: new Set() },
    scroll: scrollToShow(ctx.rowKeys, ctx.height, state.view.scroll, last.first, last.last),
  });
}

/** The message under the selection cursor. */
export function selectedSpan(state: ScreenState, spans: readonly MessageSpan[]): MessageSpan | undefined {
  return spans.find((s) => refKey(s.ref) === state.view.select.cursor);
}

function stopSelecting(state: ScreenState): ScreenState {
  return withView(state, { focus: 'list', select: { cursor: undefined, chosen: new Set() } });
}

function selectCommand(state: ScreenState, id: string, ctx: KeyContext): Reduced {
  const { spans } = ctx;
  const current = selectedSpan(state, spans);
  const moveBy = (step: number) => {
    const i = current ? spans.indexOf(current) : spans.length;
    const next = spans[Math.max(0, Math.min(spans.length - 1, i + step))];
    if (!next) return none(state);
    return none(
      withView(state, {
        select: { ...state.view.select, cursor: refKey(next.ref) },
        scroll: scrollToShow(ctx.rowKeys, ctx.height, state.view.scroll, next.first, next.last),
      }),
    );
  };
  const failedKey = current?.failed && current.ref.kind === 'outgoing' ? current.ref.key : undefined;
  switch (id) {
    case 'select.up':
      return moveBy(-1);
    case 'select.down':
      return moveBy(1);
    case 'select.newest': {
      const last = spans[spans.length - 1];
      return none(
        withView(state, {
          scroll: FOLLOW,
          select: { ...state.view.select, cursor: last ? refKey(last.ref) : undefined },
        }),
      );
    }
    case 'select.done':
      return none(stopSelecting(state));
    case 'help':
      return none(withView(state, { overlay: { kind: 'help' } }));
    case 'select.toggle': {
      if (!current || current.ref.kind !== 'stored') return none(state);
      const chosen = new Set(state.view.select.chosen);
      if (chosen.has(current.ref.id)) chosen.delete(current.ref.id);
      else chosen.add(current.ref.id);
      return none(withView(state, { select: { ...state.view.select, chosen } }));
    }
    case 'select.delete': {
      if (failedKey)
        return none(
          notice(stopSelecting(session(state, { type: 'discard', key: failedKey })), 'discarded the failed message'),
        );
      const chosen = state.view.select.chosen;
      const ids = chosen.size
        ? [...chosen].sort((a, b) => a - b)
        : current?.ref.kind === 'stored'
          ? [current.ref.id]
          : [];
      return none(ids.length ? withView(state, { overlay: { kind: 'delete-messages', ids } }) : state);
    }
    case 'select.edit': {
      const entry = failedKey ? state.session.outbox.find((m) => m.key === failedKey) : undefined;
      const peerKey = state.session.openPeer;
      if (!entry || !peerKey) return none(notice(state, 'only a message that failed to send can be edited'));
      const edited = setDraft(session(state, { type: 'discard', key: entry.key }), peerKey, {
        text: textFrom(entry.text),
      });
      return none(
        withView(edited, { focus: 'compose', select: { cursor: undefined, chosen: new Set() }, scroll: FOLLOW }),
      );
    }
    case 'select.retry': {
      const peerKey = state.session.openPeer;
      if (!failedKey || !peerKey) return none(notice(state, 'only a message that failed to send can be retried'));
      return none(stopSelecting(session(state, { type: 'retry', peer: peerKey, key: failedKey })));
    }
    default:
      return none(state);
  }
}
