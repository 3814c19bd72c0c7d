/**
 * Every server call of the main screen, in one hook: the subscription (messages,
 * deletions, presence and typing pushed by the server), the conversation list
 * (read when a stream opens, first and after each failover, and after
 * deletions), a conversation's history as it is opened or scrolled back, read
 * marks, the outbox sent one message at a time with its idempotency key, and
 * typing notices. Results go into the screen's store as actions.
 */

import { useEffect, useRef } from 'react';
import type { ChatApi, ChatMessage, Subscription } from '../client/api.js';
import type { Attention } from './attention.js';
import { errorText } from './errors.js';
import type { ScreenAction, ScreenState } from './state/controls.js';
import { nameKey, peerOf } from './state/messages.js';
import { historyOf, unreadUpTo } from './state/session.js';

const HISTORY_PAGE = 100;
/** A typing notice goes out at most this often per peer while typing. */
export const TYPING_NOTICE_MS = 3_000;

export interface ChatSession {
  /** Tells the peer I am typing (at most every TYPING_NOTICE_MS). */
  typing(peer: string): void;
  /** Reads the conversation list again (after deleting messages). */
  refresh(): void;
}

export interface ChatSessionOptions {
  chat: ChatApi;
  me: string;
  store: { readonly current: ScreenState };
  dispatch(action: ScreenAction): void;
  attention: Attention;
  /** The session is over (logged out elsewhere, account deleted). */
  onEnded(notice: string): void;
  /** The open conversation is scrolled to the top of what is loaded. */
  atTop: boolean;
}

export function useChatSession(o: ChatSessionOptions): ChatSession {
  const { chat, me, store, dispatch } = o;
  const latest = useRef(o);
  latest.current = o;
  const notifyError = (text: string) => dispatch({ type: 'notice', notice: { text, tone: 'error' } });
  const session = () => store.current.session;

  const refresh = (loud = false) =>
    chat.listConversations().then(
      (summaries) => {
        dispatch({ type: 'session', action: { type: 'conversations', summaries } });
        return summaries;
      },
      (err: unknown) => {
        // A background refresh stays quiet: the status bar already says when the cluster cannot answer.
        if (loud) notifyError(`could not load the conversations: ${errorText(err)}`);
        return undefined;
      },
    );

  // The subscription, for the screen's life.
  useEffect(() => {
    let closed = false;
    let subscription: Subscription | undefined;
    const onMessage = (message: ChatMessage) => {
      const s = session();
      const peerKey = nameKey(peerOf(message, me));
      const fresh = !historyOf(s, peerKey).messages.some((m) => m.id === message.id);
      dispatch({ type: 'session', action: { type: 'received', messages: [message] } });
      if (fresh && nameKey(message.sender) !== nameKey(me) && !message.read && peerKey !== s.openPeer)
        latest.current.attention.message(Date.now());
    };
    void (async () => {
      const summaries = await refresh(true);
      if (closed) return;
      const after = Math.max(0, ...(summaries ?? []).map((c) => c.lastMessage?.id ?? 0));
      subscription = chat.subscribe(
        {
          onMessage,
          onDeleted: (ids) => {
            dispatch({ type: 'session', action: { type: 'deleted', ids } });
            void refresh();
          },
          onPresence: (peer, online) => dispatch({ type: 'session', action: { type: 'presence', peer, online } }),
          onTyping: (peer) => dispatch({ type: 'session', action: { type: 'typing', peer, at: Date.now() } }),
          // Presence changes come on the stream from now on: read the state they change.
          onOpen: () => void refresh(),
          onEnd: (err) => {
            if (!closed) latest.current.onEnded(`the session ended: ${errorText(err)}`);
          },
        },
        { afterMessageId: after },
      );
    })();
    return () => {
      closed = true;
      subscription?.close();
    };
  }, [chat]);

  const s = store.current.session;
  const openKey = s.openPeer;
  const openEntry = openKey ? s.conversations[openKey] : undefined;
  const history = openKey ? historyOf(s, openKey) : undefined;

  const loadHistory = (peer: string, beforeId?: number) => {
    dispatch({ type: 'session', action: { type: 'history-loading', peer } });
    chat.getHistory(peer, { beforeId, limit: HISTORY_PAGE }).then(
      (page) =>
        dispatch({
          type: 'session',
          action: { type: 'history', peer, messages: page.messages, hasMore: page.hasMore },
        }),
      (err: unknown) => {
        dispatch({ type: 'session', action: { type: 'history-failed', peer } });
        notifyError(`could not load the history with ${peer}: ${errorText(err)}`);
      },
    );
  };

  // Opening a conversation loads its history.
  useEffect(() => {
    if (openEntry && history && !history.loaded && !history.loading) loadHistory(openEntry.peer);
  }, [openKey]);

  // Scrolled to the top of what is loaded: older history.
  useEffect(() => {
    if (!o.atTop || !openEntry || !history?.loaded || !history.hasMore || history.loading) return;
    const oldest = history.messages[0]?.id;
    if (oldest !== undefined) loadHistory(openEntry.peer, oldest);
  }, [o.atTop, openKey, history?.hasMore, history?.loading]);

  // The open conversation is marked read up to its newest message, also as new ones arrive.
  const markingUpTo = useRef({ peer: '', upTo: 0 });
  const upTo = openKey && history?.loaded ? unreadUpTo(s, openKey) : undefined;
  useEffect(() => {
    if (!openKey || !openEntry || upTo === undefined) return;
    if (markingUpTo.current.peer === openKey && upTo <= markingUpTo.current.upTo) return;
    markingUpTo.current = { peer: openKey, upTo };
    const peer = openEntry.peer;
    chat.markRead(peer, upTo).then(
      () => dispatch({ type: 'session', action: { type: 'marked-read', peer, upToId: upTo } }),
      (err: unknown) => {
        markingUpTo.current = { peer: '', upTo: 0 };
        notifyError(`could not mark ${peer} read: ${errorText(err)}`);
      },
    );
  }, [openKey, upTo]);

  // The outbox is sent one message at a time, in order; each keeps its idempotency key.
  const sending = useRef(false);
  useEffect(() => {
    if (sending.current) return;
    const next = s.outbox.find((m) => m.state === 'queued');
    if (!next) return;
    sending.current = true;
    dispatch({ type: 'session', action: { type: 'send-started', key: next.key } });
    chat.sendMessage(next.peer, next.text, { idempotencyKey: next.key }).then(
      (message) => {
        sending.current = false;
        dispatch({ type: 'session', action: { type: 'send-ok', key: next.key, message } });
      },
      (err: unknown) => {
        sending.current = false;
        dispatch({ type: 'session', action: { type: 'send-failed', key: next.key, error: errorText(err) } });
        // In the open conversation the failure shows under the message; elsewhere it is said here.
        if (nameKey(next.peer) !== session().openPeer)
          notifyError(`a message to ${next.peer} failed: ${errorText(err)}`);
      },
    );
  }, [s.outbox]);

  const typingSent = useRef(new Map<string, number>());
  return {
    typing(peer) {
      const now = Date.now();
      const key = nameKey(peer);
      if (now - (typingSent.current.get(key) ?? 0) < TYPING_NOTICE_MS) return;
      typingSent.current.set(key, now);
      chat.notifyTyping(peer).catch(() => undefined);
    },
    refresh: () => void refresh(),
  };
}
