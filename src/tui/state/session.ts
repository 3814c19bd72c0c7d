/**
 * Everything the main screen knows about a logged-in session, as one reducer:
 * conversations with unread counts, the messages of each conversation seen so
 * far, the outbox, and which conversation is open. Side effects (calls, timers)
 * live in the components; they dispatch what came back.
 */

import type { ChatMessage, ConversationSummary } from '../../client/api.js';
import {
  applyFetchedUnread,
  applyMessage,
  applySummaries,
  emptyEntry,
  setOnline,
  setUnread,
  type ConversationMap,
} from './conversations.js';
import { markReadUpTo, mergeMessages, nameKey, peerOf, removeMessages } from './messages.js';
import { enqueue, matchDelivered, requeueFailed, setState, settle, type OutgoingMessage } from './outbox.js';

/** How long a typing notice shows (the peer's client repeats it every few seconds while typing). */
export const TYPING_SHOWN_MS = 6_000;

/** Where the unread messages of the open conversation started when it was opened: the "new messages" line. */
export interface UnreadMarker {
  peerKey: string;
  /** Unread messages when it was opened. */
  count: number;
  /** The first of them among the loaded messages; undefined while the history loads. */
  fromId: number | undefined;
}

export interface History {
  /** Sorted by id. */
  messages: readonly ChatMessage[];
  /** The first page of history was fetched (until then only real-time messages are here). */
  loaded: boolean;
  /** Older messages wait on the server. */
  hasMore: boolean;
  loading: boolean;
}

export interface SessionState {
  me: string;
  conversations: ConversationMap;
  /** By peer key (lower-cased name). */
  histories: Readonly<Record<string, History>>;
  outbox: readonly OutgoingMessage[];
  /** Key of the open conversation. */
  openPeer: string | undefined;
  marker: UnreadMarker | undefined;
}

export type SessionAction =
  | { type: 'conversations'; summaries: readonly ConversationSummary[] }
  /** Real-time messages from the subscription. */
  | { type: 'received'; messages: readonly ChatMessage[] }
  | { type: 'history-loading'; peer: string }
  | { type: 'history'; peer: string; messages: readonly ChatMessage[]; hasMore: boolean }
  | { type: 'history-failed'; peer: string }
  /** `online` when known (e.g. from an account search). */
  | { type: 'open'; peer: string; online?: boolean }
  | { type: 'close' }
  | { type: 'deleted'; ids: readonly number[] }
  | { type: 'marked-read'; peer: string; upToId: number }
  | { type: 'fetched-unread'; messages: readonly ChatMessage[] }
  | { type: 'send'; key: string; peer: string; text: string; at: number }
  | { type: 'send-started'; key: string }
  | { type: 'send-ok'; key: string; message: ChatMessage }
  | { type: 'send-failed'; key: string; error: string }
  /** Failed messages of a conversation (or only the one with `key`) are sent again with their keys. */
  | { type: 'retry'; peer: string; key?: string }
  /** A failed message is dropped (to edit it, or for good). */
  | { type: 'discard'; key: string }
  | { type: 'presence'; peer: string; online: boolean }
  | { type: 'typing'; peer: string; at: number };

export function initialSession(me: string): SessionState {
  return { me, conversations: {}, histories: {}, outbox: [], openPeer: undefined, marker: undefined };
}

const EMPTY_HISTORY: History = { messages: [], loaded: false, hasMore: false, loading: false };

export function historyOf(state: SessionState, peerKey: string): History {
  return state.histories[peerKey] ?? EMPTY_HISTORY;
}

function withHistory(state: SessionState, peerKey: string, update: (h: History) => History): SessionState {
  const before = historyOf(state, peerKey);
  const after = update(before);
  if (after === before) return state;
  return { ...state, histories: { ...state.histories, [peerKey]: after } };
}

function isKnown(state: SessionState, message: ChatMessage): boolean {
  const key = nameKey(peerOf(message, state.me));
  return historyOf(state, key).messages.some((m) => m.id === message.id);
}

function addMessages(state: SessionState, messages: readonly ChatMessage[], markRead: boolean): SessionState {
  let next = state;
  for (const raw of messages) {
    const message = markRead ? { ...raw, read: true } : raw;
    const key = nameKey(peerOf(message, next.me));
    const known = isKnown(next, message);
    next = {
      ...next,
      conversations: applyMessage(next.conversations, message, next.me, next.openPeer, known || markRead),
      outbox: nameKey(message.sender) === nameKey(next.me) ? matchDelivered(next.outbox, message) : next.outbox,
    };
    next = withHistory(next, key, (h) => {
      const merged = mergeMessages(h.messages, [message]);
      return merged === h.messages ? h : { ...h, messages: merged };
    });
  }
  return next;
}

export function sessionReducer(state: SessionState, action: SessionAction): SessionState {
  switch (action.type) {
    case 'conversations':
      return {
        ...state,
        conversations: applySummaries(
          state.conversations,
          action.summaries,
          (k) => historyOf(state, k).messages,
          state.me,
          state.openPeer,
        ),
      };
    case 'received':
      return addMessages(state, action.messages, false);
    case 'history-loading':
      return withHistory(state, nameKey(action.peer), (h) => ({ ...h, loading: true }));
    case 'history-failed':
      return withHistory(state, nameKey(action.peer), (h) => ({ ...h, loading: false }));
    case 'history': {
      const key = nameKey(action.peer);
      const next = withHistory(state, key, (h) => ({
        messages: mergeMessages(h.messages, action.messages),
        loaded: true,
        // Whether messages older than this page wait on the server.
        hasMore: action.hasMore,
        loading: false,
      }));
      return placeMarker(next);
    }
    case 'open': {
      const key = nameKey(action.peer);
      const known = state.conversations[key] ?? emptyEntry(action.peer);
      const entry = action.online === undefined ? known : { ...known, online: action.online };
      const marker =
        key === state.openPeer
          ? state.marker
          : entry.unread > 0
            ? { peerKey: key, count: entry.unread, fromId: undefined }
            : undefined;
      return placeMarker({
        ...state,
        openPeer: key,
        marker,
        conversations: setUnread({ ...state.conversations, [key]: entry }, key, 0),
      });
    }
    case 'close':
      return { ...state, openPeer: undefined, marker: undefined };
    case 'deleted': {
      const ids = new Set(action.ids);
      let conversations = state.conversations;
      const histories: Record<string, History> = {};
      for (const [key, h] of Object.entries(state.histories)) {
        const remaining = removeMessages(h.messages, ids);
        histories[key] = remaining === h.messages ? h : { ...h, messages: remaining };
        if (remaining === h.messages) continue;
        const withdrawnUnread = h.messages.filter(
          (m) => ids.has(m.id) && !m.read && nameKey(m.sender) === key && key !== nameKey(state.me),
        ).length;
        const entry = conversations[key];
        if (!entry) continue;
        const lastGone = entry.lastMessage !== undefined && ids.has(entry.lastMessage.id);
        conversations = {
          ...conversations,
          [key]: {
            ...entry,
            unread: Math.max(0, entry.unread - withdrawnUnread),
            lastMessage: lastGone ? remaining[remaining.length - 1] : entry.lastMessage,
          },
        };
      }
      return { ...state, histories, conversations };
    }
    case 'marked-read': {
      const key = nameKey(action.peer);
      const next = withHistory(state, key, (h) => {
        const marked = markReadUpTo(h.messages, key, action.upToId);
        return marked === h.messages ? h : { ...h, messages: marked };
      });
      return { ...next, conversations: setUnread(next.conversations, key, 0) };
    }
    case 'fetched-unread': {
      const withMessages = addMessages(state, action.messages, true);
      return {
        ...withMessages,
        conversations: applyFetchedUnread(withMessages.conversations, action.messages, state.me),
      };
    }
    case 'send': {
      const key = nameKey(action.peer);
      const conversations = state.conversations[key]
        ? state.conversations
        : { ...state.conversations, [key]: emptyEntry(action.peer) };
      return {
        ...state,
        conversations,
        outbox: enqueue(state.outbox, { key: action.key, peer: action.peer, text: action.text, createdAt: action.at }),
      };
    }
    case 'send-started':
      return { ...state, outbox: setState(state.outbox, action.key, 'sending') };
    case 'send-ok': {
      const added = addMessages(state, [action.message], false);
      return { ...added, outbox: settle(added.outbox, action.key) };
    }
    case 'send-failed': {
      // Its copy came on the stream: it is stored, whatever the call's last attempt said.
      const delivered = state.outbox.some((m) => m.key === action.key && m.deliveredId !== undefined);
      return {
        ...state,
        outbox: delivered
          ? settle(state.outbox, action.key)
          : setState(state.outbox, action.key, 'failed', action.error),
      };
    }
    case 'retry':
      return { ...state, outbox: requeueFailed(state.outbox, nameKey(action.peer), action.key) };
    case 'discard':
      return { ...state, outbox: state.outbox.filter((m) => !(m.key === action.key && m.state === 'failed')) };
    case 'presence':
      return { ...state, conversations: setOnline(state.conversations, nameKey(action.peer), action.online) };
    case 'typing': {
      const key = nameKey(action.peer);
      const entry = state.conversations[key];
      if (!entry) return state;
      return {
        ...state,
        conversations: { ...state.conversations, [key]: { ...entry, typingUntil: action.at + TYPING_SHOWN_MS } },
      };
    }
  }
}

/** Once the open conversation's history is there, the marker goes before its first unread message from the peer. */
function placeMarker(state: SessionState): SessionState {
  const marker = state.marker;
  if (!marker || marker.fromId !== undefined || marker.peerKey !== state.openPeer) return state;
  const h = historyOf(state, marker.peerKey);
  if (!h.loaded) return state;
  const first = h.messages.find((m) => !m.read && nameKey(m.sender) === marker.peerKey);
  return { ...state, marker: first ? { ...marker, fromId: first.id } : undefined };
}

/** The id to mark the open conversation read up to: its newest message from the peer that is still unread, if any. */
export function unreadUpTo(state: SessionState, peerKey: string): number | undefined {
  const entry = state.conversations[peerKey];
  const h = historyOf(state, peerKey);
  let upTo: number | undefined;
  for (const m of h.messages)
    if (!m.read && nameKey(m.sender) === peerKey && peerKey !== nameKey(state.me)) upTo = m.id;
  if (
    entry?.lastMessage &&
    nameKey(entry.lastMessage.sender) === peerKey &&
    !entry.lastMessage.read &&
    peerKey !== nameKey(state.me)
  ) {
    upTo = Math.max(upTo ?? 0, entry.lastMessage.id);
  }
  return upTo;
}
