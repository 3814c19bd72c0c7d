import { Box, useStdout, type Key } from 'ink';
import { Text } from '../../terminal/colors.js';
import { randomUUID } from 'node:crypto';
import { useEffect, useMemo, useReducer, useRef, useState } from 'react';
import type { ChatApi, ChatMessage, ClusterApi, ConnectionState, Subscription } from '../../client/api.js';
import { errorText } from '../errors.js';
import { useClusterStatus, useRefState, type TerminalSize } from '../hooks.js';
import type { Preferences, SettingsStore } from '../settings.js';
import { nextUnread, sortConversations, totalUnread } from '../state/conversations.js';
import { plural } from '../state/format.js';
import { mainLayout } from '../state/layout.js';
import { EMPTY_LINE, editKeyFor, editLine, lineText, type LineState } from '../state/line-editor.js';
import { nameKey, peerOf } from '../state/messages.js';
import { visibleOutgoing } from '../state/outbox.js';
import { FOLLOW, resolveScroll, scrollBy, scrollToShow, type Scroll } from '../state/scroll.js';
import { historyOf, initialSession, sessionReducer, unreadUpTo } from '../state/session.js';
import { connectionStatus, type Tone } from '../state/status.js';
import { textWidth, truncate } from '../state/text-width.js';
import { buildTimeline, messageSpans, timelineColumns } from '../state/timeline.js';
import { ChatPane } from './ChatPane.js';
import { ClusterPanel } from './ClusterPanel.js';
import { ConfirmDialog } from './ConfirmDialog.js';
import { ConversationList } from './ConversationList.js';
import { DeleteAccountDialog } from './DeleteAccountDialog.js';
import { HelpOverlay } from './HelpOverlay.js';
import { InboxDialog } from './InboxDialog.js';
import { SearchDialog } from './SearchDialog.js';
import { SettingsDialog } from './SettingsDialog.js';
import { StatusBar } from './StatusBar.js';
import { theme, toneColor } from './theme.js';
import { useKeys } from '../keys.js';

export interface MainScreenProps {
  chat: ChatApi;
  cluster: ClusterApi;
  settings: SettingsStore;
  me: string;
  unreadAtLogin: number;
  size: TerminalSize;
  connection: ConnectionState;
  now: number;
  /** False with --no-bell. */
  bellAllowed: boolean;
  servers: readonly string[];
  onSignedOut(notice: string): void;
  onQuit(): void;
}

type Focus = 'list' | 'compose' | 'select';
type Overlay =
  | { kind: 'help' }
  | { kind: 'search' }
  | { kind: 'inbox' }
  | { kind: 'settings' }
  | { kind: 'delete-account' }
  | { kind: 'delete-messages'; ids: number[] };

interface Notice {
  text: string;
  tone: Tone;
}

/** How often the conversation list (presence, unread counts) is refreshed from the server. */
const REFRESH_MS = 5000;
const HISTORY_PAGE = 100;
const NOTICE_MS = 8000;

function preferencesOf(settings: SettingsStore): Preferences {
  const s = settings.read();
  return { bell: s.bell, unreadBatchSize: s.unreadBatchSize, showClusterPanel: s.showClusterPanel };
}

export function MainScreen(props: MainScreenProps) {
  const { chat, cluster, settings, me, size, now } = props;
  const [session, dispatch] = useReducer(sessionReducer, me, initialSession);
  const [prefs, setPrefs] = useState<Preferences>(() => preferencesOf(settings));
  // What key handlers decide on lives in ref-backed state: keys typed faster than a
  // re-render (a paste, tmux send-keys) still see the effect of the key before them.
  const [focus, setFocus, focusRef] = useRefState<Focus>('list');
  const [cursorKey, setCursorKey, cursorKeyRef] = useRefState<string | undefined>(undefined);
  const [drafts, setDrafts, draftsRef] = useRefState<Readonly<Record<string, LineState>>>({});
  const [scroll, setScroll] = useState<Scroll>(FOLLOW);
  const [selectCursor, setSelectCursor, selectCursorRef] = useRefState<number | undefined>(undefined);
  const [selected, setSelected, selectedRef] = useRefState<ReadonlySet<number>>(new Set());
  const [overlay, setOverlay, overlayRef] = useRefState<Overlay | undefined>(undefined);
  const [showCluster, setShowCluster] = useState(prefs.showClusterPanel);
  const [notice, setNotice] = useState<Notice | undefined>({
    text: `Logged in as ${me} · ${plural(props.unreadAtLogin, 'unread message')}${props.unreadAtLogin ? ` · u reads ${prefs.unreadBatchSize} at a time · a next unread` : ''}`,
    tone: props.unreadAtLogin ? 'warn' : 'ok',
  });
  const { stdout } = useStdout();
  const snapshot = useClusterStatus(cluster, showCluster);

  // Callbacks of the subscription and timers read the latest values through refs.
  const latest = useRef({ session, prefs, props });
  latest.current = { session, prefs, props };
  const mounted = useRef(true);
  useEffect(
    () => () => {
      mounted.current = false;
    },
    [],
  );

  const notify = (text: string, tone: Tone = 'ok') => setNotice({ text, tone });

  useEffect(() => {
    if (!notice) return;
    const timer = setTimeout(() => setNotice(undefined), NOTICE_MS);
    return () => clearTimeout(timer);
  }, [notice]);

  // ---------------------------------------------------------------- server → state

  /** `quiet`: a background refresh; the status bar already says when the cluster cannot answer. */
  const refreshConversations = (quiet = true) =>
    chat.listConversations().then(
      (summaries) => {
        if (mounted.current) dispatch({ type: 'conversations', summaries });
        return summaries;
      },
      (err: unknown) => {
        if (mounted.current && !quiet) notify(`could not load the conversations: ${errorText(err)}`, 'error');
        return undefined;
      },
    );

  useEffect(() => {
    let closed = false;
    let subscription: Subscription | undefined;
    const onMessage = (message: ChatMessage) => {
      if (!mounted.current) return;
      const { session: s, prefs: p, props: pr } = latest.current;
      const fromOther = nameKey(message.sender) !== nameKey(me);
      const peerKey = nameKey(peerOf(message, me));
      const fresh = !historyOf(s, peerKey).messages.some((m) => m.id === message.id);
      dispatch({ type: 'received', messages: [message] });
      if (fresh && fromOther && !message.read && peerKey !== s.openPeer && p.bell && pr.bellAllowed) stdout.write('\x07');
    };
    void (async () => {
      const summaries = await refreshConversations(false);
      if (closed) return;
      const after = Math.max(0, ...(summaries ?? []).map((c) => c.lastMessage?.id ?? 0));
      subscription = chat.subscribe(
        {
          onMessage,
          onDeleted: (ids) => {
            if (!mounted.current) return;
            dispatch({ type: 'deleted', ids });
            void refreshConversations();
          },
          onEnd: (err) => {
            if (mounted.current) latest.current.props.onSignedOut(`the session ended: ${errorText(err)}`);
          },
        },
        { afterMessageId: after },
      );
    })();
    const timer = setInterval(() => void refreshConversations(), REFRESH_MS);
    return () => {
      closed = true;
      clearInterval(timer);
      subscription?.close();
    };
  }, [chat]);

  // After a failover, catch up on presence and unread counts at once.
  const connectedTo = props.connection.kind === 'connected' ? props.connection.replicaId : undefined;
  const firstConnection = useRef(true);
  useEffect(() => {
    if (firstConnection.current) {
      firstConnection.current = false;
      return;
    }
    if (connectedTo) void refreshConversations();
  }, [connectedTo]);

  const openKey = session.openPeer;
  // Set at once by `open`, so keys right after opening go to the new conversation.
  const openRef = useRef<string | undefined>(openKey);
  const renderedOpen = useRef<string | undefined>(openKey);
  if (renderedOpen.current !== openKey) {
    renderedOpen.current = openKey;
    openRef.current = openKey;
  }
  const openEntry = openKey ? session.conversations[openKey] : undefined;
  const openHistory = openKey ? historyOf(session, openKey) : undefined;

  const loadHistory = (peer: string, beforeId?: number) => {
    dispatch({ type: 'history-loading', peer });
    chat.getHistory(peer, { beforeId, limit: HISTORY_PAGE }).then(
      (page) => mounted.current && dispatch({ type: 'history', peer, messages: page.messages, hasMore: page.hasMore }),
      (err: unknown) => {
        if (!mounted.current) return;
        dispatch({ type: 'history-failed', peer });
        notify(`could not load the history with ${peer}: ${errorText(err)}`, 'error');
      },
    );
  };

  // Opening a conversation loads its history.
  useEffect(() => {
    if (!openKey || !openEntry || openHistory?.loaded || openHistory?.loading) return;
    loadHistory(openEntry.peer);
  }, [openKey]);

  // The open conversation is marked read up to its newest message, also as new ones arrive.
  const markingUpTo = useRef(0);
  const upTo = openKey && openHistory?.loaded ? unreadUpTo(session, openKey) : undefined;
  useEffect(() => {
    if (!openKey || !openEntry || upTo === undefined || upTo <= markingUpTo.current) return;
    markingUpTo.current = upTo;
    const peer = openEntry.peer;
    chat.markRead(peer, upTo).then(
      () => mounted.current && dispatch({ type: 'marked-read', peer, upToId: upTo }),
      (err: unknown) => {
        markingUpTo.current = 0;
        if (mounted.current) notify(`could not mark ${peer} read: ${errorText(err)}`, 'error');
      },
    );
  }, [openKey, upTo]);

  // The outbox is sent one message at a time, in order; each keeps its idempotency key.
  const sending = useRef(false);
  useEffect(() => {
    if (sending.current) return;
    const next = session.outbox.find((m) => m.state === 'queued');
    if (!next) return;
    sending.current = true;
    dispatch({ type: 'send-started', key: next.key });
    chat.sendMessage(next.peer, next.text, { idempotencyKey: next.key }).then(
      (message) => {
        sending.current = false;
        if (mounted.current) dispatch({ type: 'send-ok', key: next.key, message });
      },
      (err: unknown) => {
        sending.current = false;
        if (!mounted.current) return;
        dispatch({ type: 'send-failed', key: next.key, error: errorText(err) });
        notify(`a message to ${next.peer} failed: ${errorText(err)} — Ctrl-R retries it`, 'error');
      },
    );
  }, [session.outbox]);

  // ---------------------------------------------------------------- layout

  const ordered = useMemo(() => sortConversations(session.conversations), [session.conversations]);
  const orderedRef = useRef(ordered);
  orderedRef.current = ordered;
  const latestView = () => ({ session: latest.current.session, ordered: orderedRef.current });
  // The list cursor rests on the first conversation until moved.
  const cursorOf = (k: string | undefined) => {
    const { session, ordered } = latestView();
    return k !== undefined && session.conversations[k] ? k : ordered[0] ? nameKey(ordered[0].peer) : undefined;
  };
  const listCursor = cursorOf(cursorKey);
  const layout = mainLayout(size.columns, size.rows, showCluster ? Math.max(1, snapshot?.probes.length ?? props.servers.length) : undefined);
  const gutter = focus === 'select' ? 2 : 0;
  const columns = timelineColumns(layout.chatWidth, gutter, me, openEntry?.peer ?? me);
  const timeline = useMemo(
    () =>
      openKey && openEntry
        ? buildTimeline({
            messages: openHistory?.messages ?? [],
            outgoing: visibleOutgoing(session.outbox, openKey),
            me,
            peer: openEntry.peer,
            width: layout.chatWidth,
            gutter,
            now,
          })
        : [],
    // `now` matters only for the day labels: refresh them once a minute.
    [openKey, openEntry?.peer, openHistory?.messages, session.outbox, layout.chatWidth, gutter, Math.floor(now / 60000)],
  );
  const keys = useMemo(() => timeline.map((r) => r.key), [timeline]);
  const window = resolveScroll(keys, layout.messagesHeight, scroll);
  const spans = useMemo(() => messageSpans(timeline), [timeline]);
  // The latest rows for key handlers (see useRefState).
  const view = useRef({ keys, spans, height: layout.messagesHeight, ordered });
  view.current = { keys, spans, height: layout.messagesHeight, ordered };

  // Scrolled to the top of what is loaded: fetch older history.
  useEffect(() => {
    if (!openEntry || !openHistory || scroll.follow || window.above > 0) return;
    if (!openHistory.hasMore || openHistory.loading || !openHistory.loaded) return;
    const oldest = openHistory.messages[0]?.id;
    if (oldest !== undefined) loadHistory(openEntry.peer, oldest);
  }, [window.above, scroll, openHistory?.hasMore, openHistory?.loading]);

  // ---------------------------------------------------------------- actions

  const open = (peer: string, then: Focus = 'compose', online?: boolean) => {
    const key = nameKey(peer);
    if (key !== openKey) {
      markingUpTo.current = 0;
      setScroll(FOLLOW);
      setSelected(new Set());
      setSelectCursor(undefined);
    }
    dispatch({ type: 'open', peer, online });
    openRef.current = key;
    setCursorKey(key);
    setFocus(then);
  };

  const jumpToNextUnread = () => {
    const { session, ordered } = latestView();
    // From the open conversation onwards; with none open, the first unread one.
    const key = nextUnread(ordered, openRef.current);
    if (!key) {
      notify('no unread conversations', 'muted');
      return;
    }
    const entry = session.conversations[key];
    if (entry) open(entry.peer, focusRef.current === 'select' ? 'list' : focusRef.current);
  };

  const send = () => {
    const openKey = openRef.current;
    const openEntry = openKey ? latest.current.session.conversations[openKey] : undefined;
    if (!openKey || !openEntry) return;
    const draft = draftsRef.current[openKey] ?? EMPTY_LINE;
    const text = lineText(draft).trim();
    if (!text) return;
    if (openEntry.peerDeleted) {
      notify(`${openEntry.peer} deleted the account; messages cannot reach it`, 'error');
      return;
    }
    dispatch({ type: 'send', key: randomUUID(), peer: openEntry.peer, text, at: Date.now() });
    setDrafts((d) => ({ ...d, [openKey]: EMPTY_LINE }));
    setScroll(FOLLOW);
  };

  const retry = () => {
    const openKey = openRef.current;
    if (!openKey) return;
    const { session } = latestView();
    if (!session.outbox.some((m) => m.state === 'failed' && nameKey(m.peer) === openKey)) {
      notify('no failed messages here', 'muted');
      return;
    }
    dispatch({ type: 'retry', peer: openKey });
    notify('retrying the failed messages (same idempotency keys: none can be stored twice)', 'warn');
  };

  const scrollLines = (delta: number) => setScroll((s) => scrollBy(view.current.keys, view.current.height, s, delta));
  const scrollPage = (direction: 1 | -1) => scrollLines(direction * Math.max(1, view.current.height - 1));
  const startSelecting = () => {
    if (!openRef.current) {
      notify('open a conversation first', 'muted');
      return;
    }
    const { spans, keys, height } = view.current;
    const last = spans[spans.length - 1];
    if (!last) {
      notify('no messages to select here', 'muted');
      return;
    }
    setSelectCursor(last.id);
    setFocus('select');
    setScroll((s) => scrollToShow(keys, height, s, last.first, last.last));
  };

  const moveSelect = (step: number) => {
    const { spans, keys, height } = view.current;
    const i = spans.findIndex((s) => s.id === selectCursorRef.current);
    const next = spans[Math.max(0, Math.min(spans.length - 1, (i < 0 ? spans.length : i) + step))];
    if (!next) return;
    setSelectCursor(next.id);
    setScroll((s) => scrollToShow(keys, height, s, next.first, next.last));
  };

  const logout = () => {
    const done = () => props.onSignedOut(`logged out ${me}`);
    chat.logout().then(done, done);
  };

  const changePrefs = (next: Preferences) => {
    if (next.showClusterPanel !== prefs.showClusterPanel) setShowCluster(next.showClusterPanel);
    setPrefs(next);
    settings.update(next);
  };

  // ---------------------------------------------------------------- keys

  const handleKey = (input: string, key: Key): void => {
    if (overlayRef.current) return;
    if (key.meta && !key.escape && !key.ctrl && input !== '' && !(focusRef.current === 'compose' && (input === 'b' || input === 'f'))) {
      // Esc typed together with the next key arrives as Alt+key: take it as both (Alt-A and Esc A agree).
      handleKey('', { ...key, meta: false, escape: true });
      handleKey(input, { ...key, meta: false });
      return;
    }
    if (key.ctrl && input === 'c') {
      props.onQuit();
      return;
    }
    const focus = focusRef.current;
    const openKey = openRef.current;
    if (notice && focus !== 'compose') setNotice(undefined);
    if (key.pageUp) return scrollPage(-1);
    if (key.pageDown) return scrollPage(1);
    if (key.end && focus !== 'select') {
      setScroll(FOLLOW);
      if (focus === 'compose' && openKey) setDrafts((d) => ({ ...d, [openKey]: editLine(d[openKey] ?? EMPTY_LINE, { type: 'end' }) }));
      return;
    }
    if (key.ctrl && input === 'n') return jumpToNextUnread();
    if (key.ctrl && input === 'r') return retry();
    if (key.tab) {
      if (focus === 'compose') setFocus('list');
      else if (openKey) setFocus('compose');
      else notify('open a conversation first: ↑ ↓ and Enter, or n for a new one', 'muted');
      return;
    }

    if (focus === 'compose') {
      if (key.escape) return setFocus('list');
      if (key.return) return send();
      if (key.upArrow) return scrollLines(-1);
      if (key.downArrow) return scrollLines(1);
      const edit = editKeyFor(input, key);
      if (edit && openKey) setDrafts((d) => ({ ...d, [openKey]: editLine(d[openKey] ?? EMPTY_LINE, edit) }));
      return;
    }

    if (focus === 'select') {
      if (key.escape || input === 'v') {
        setFocus('list');
        setSelected(new Set());
        setSelectCursor(undefined);
        return;
      }
      if (key.upArrow || input === 'k') return moveSelect(-1);
      if (key.downArrow || input === 'j') return moveSelect(1);
      if (key.end) {
        const last = view.current.spans[view.current.spans.length - 1];
        if (last) setSelectCursor(last.id);
        return setScroll(FOLLOW);
      }
      const cursorId = selectCursorRef.current;
      if (input === ' ' && cursorId !== undefined) {
        setSelected((s) => {
          const next = new Set(s);
          if (next.has(cursorId)) next.delete(cursorId);
          else next.add(cursorId);
          return next;
        });
        return;
      }
      if (input === 'd' || key.delete || key.backspace) {
        const chosen = selectedRef.current;
        const ids = chosen.size ? [...chosen].sort((a, b) => a - b) : cursorId !== undefined ? [cursorId] : [];
        if (ids.length) setOverlay({ kind: 'delete-messages', ids });
        return;
      }
      if (input === '?') return setOverlay({ kind: 'help' });
      return;
    }

    // focus === 'list'
    const { ordered } = view.current;
    const current = cursorOf(cursorKeyRef.current);
    const index = Math.max(0, ordered.findIndex((e) => nameKey(e.peer) === current));
    if (key.upArrow || input === 'k') {
      const next = ordered[Math.max(0, index - 1)];
      if (next) setCursorKey(nameKey(next.peer));
      return;
    }
    if (key.downArrow || input === 'j') {
      const next = ordered[Math.min(ordered.length - 1, index + 1)];
      if (next) setCursorKey(nameKey(next.peer));
      return;
    }
    if (key.home) {
      if (ordered[0]) setCursorKey(nameKey(ordered[0].peer));
      return;
    }
    if (key.return || key.rightArrow) {
      const entry = ordered[index];
      if (entry) open(entry.peer);
      else notify('no conversations yet: n starts one', 'muted');
      return;
    }
    switch (input) {
      case 'n':
      case '/':
        return setOverlay({ kind: 'search' });
      case 'a':
        return jumpToNextUnread();
      case 'u':
        return setOverlay({ kind: 'inbox' });
      case 'v':
        return startSelecting();
      case 'c':
        if (!showCluster && layout.height - 2 - 3 - 5 < 3) notify('the cluster panel needs a taller terminal', 'muted');
        return setShowCluster((v) => !v);
      case 's':
        return setOverlay({ kind: 'settings' });
      case '?':
        return setOverlay({ kind: 'help' });
      case 'L':
        return logout();
      case 'X':
        return setOverlay({ kind: 'delete-account' });
      case 'q':
        return props.onQuit();
      case 'i':
        if (openKey) setFocus('compose');
        return;
      default:
        return;
    }
  };
  // Outside the compose box every letter is a command, also when several arrive at once.
  useKeys(handleKey, { singleKeys: () => focusRef.current !== 'compose' });

  // ---------------------------------------------------------------- render

  const status = connectionStatus(props.connection, now);
  const unread = totalUnread(session.conversations);
  const bodyHeight = layout.bodyHeight;
  const closeOverlay = () => setOverlay(undefined);

  let body;
  if (overlay) {
    const common = { width: layout.width, height: bodyHeight };
    switch (overlay.kind) {
      case 'help':
        body = <HelpOverlay {...common} onClose={closeOverlay} />;
        break;
      case 'search':
        body = (
          <SearchDialog
            {...common}
            chat={chat}
            me={me}
            onClose={closeOverlay}
            onOpen={(account) => {
              closeOverlay();
              open(account.username, 'compose', account.online);
            }}
          />
        );
        break;
      case 'inbox':
        body = (
          <InboxDialog
            {...common}
            chat={chat}
            me={me}
            now={now}
            batchSize={prefs.unreadBatchSize}
            onFetched={(messages) => dispatch({ type: 'fetched-unread', messages })}
            onClose={closeOverlay}
          />
        );
        break;
      case 'settings':
        body = (
          <SettingsDialog
            {...common}
            prefs={prefs}
            onChange={changePrefs}
            servers={props.servers}
            configPath={settings.path}
            bellDisabledByOption={!props.bellAllowed}
            onClose={closeOverlay}
          />
        );
        break;
      case 'delete-account':
        body = <DeleteAccountDialog {...common} chat={chat} me={me} onClose={closeOverlay} onDeleted={() => {
              settings.update({ lastUsername: '' });
              props.onSignedOut(`account ${me} deleted`);
            }} />;
        break;
      case 'delete-messages': {
        const n = overlay.ids.length;
        body = (
          <ConfirmDialog
            {...common}
            title={`Delete ${plural(n, 'message')}?`}
            lines={deletionLines(overlay.ids, openHistory?.messages ?? [], me, openEntry?.peer ?? 'the other side')}
            onConfirm={async () => {
              const deleted = await chat.deleteMessages(overlay.ids);
              if (!mounted.current) return;
              dispatch({ type: 'deleted', ids: deleted });
              setSelected(new Set());
              setFocus('list');
              setSelectCursor(undefined);
              notify(`deleted ${plural(deleted.length, 'message')}`);
              void refreshConversations();
            }}
            onClose={closeOverlay}
          />
        );
        break;
      }
    }
  } else {
    const mainHeight = bodyHeight - layout.clusterHeight;
    body = (
      <Box flexDirection="column" height={bodyHeight}>
        <Box flexDirection="row" height={mainHeight}>
          <ConversationList
            entries={ordered}
            cursorKey={listCursor}
            openKey={openKey}
            focused={focus === 'list'}
            width={layout.listWidth}
            rows={layout.listRows}
            me={me}
          />
          <Text dimColor>{Array.from({ length: mainHeight }, () => '│').join('\n')}</Text>
          <ChatPane
            peer={openEntry}
            me={me}
            rows={timeline}
            window={window}
            columns={columns}
            width={layout.chatWidth}
            height={layout.messagesHeight}
            loading={openHistory?.loading ?? false}
            hasMore={openHistory?.hasMore ?? false}
            selection={{ active: focus === 'select', cursorId: selectCursor, selected }}
            compose={(openKey && drafts[openKey]) || EMPTY_LINE}
            composeFocused={focus === 'compose'}
          />
        </Box>
        {layout.clusterHeight ? <ClusterPanel snapshot={snapshot} width={layout.width} height={layout.clusterHeight} now={now} /> : null}
      </Box>
    );
  }

  const hints = hintLine(
    overlay !== undefined
      ? []
      : focus === 'compose'
        ? [['Enter', 'send'], ['Esc', 'list & keys'], ['PgUp/PgDn', 'scroll'], ['Ctrl-N', 'next unread'], ['Ctrl-R', 'retry'], ['Tab', 'list']]
        : focus === 'select'
          ? [['Space', 'select'], ['d', 'delete'], ['↑↓', 'move'], ['Esc', 'done'], ['PgUp/PgDn', 'scroll'], ['?', 'help']]
          : [['Enter', 'open'], ['n', 'new'], ['a', 'next unread'], ['u', 'read unread'], ['q', 'quit'], ['v', 'select'], ['c', 'cluster'], ['s', 'settings'], ['?', 'help']],
    layout.width,
  );

  return (
    <Box flexDirection="column" width={layout.width} height={layout.height}>
      <StatusBar width={layout.width} me={me} status={status} unread={unread} />
      {body}
      {notice ? (
        <Text wrap="truncate" color={toneColor(notice.tone) ?? undefined} dimColor={notice.tone === 'muted'}>
          {truncate(notice.text, layout.width)}
        </Text>
      ) : (
        <Text wrap="truncate">
          {hints.map(([k, label], i) => (
            <Text key={k}>
              {i > 0 ? <Text dimColor> · </Text> : null}
              <Text color={theme.badge}>{k}</Text>
              <Text dimColor> {label}</Text>
            </Text>
          ))}
        </Text>
      )}
    </Box>
  );
}


/** As many key hints as fit in `width`, in order; the last one (help) is kept whenever any fits. */
function hintLine(pairs: [string, string][], width: number): [string, string][] {
  const cost = (p: [string, string]) => textWidth(p[0]) + 1 + textWidth(p[1]) + 3;
  const last = pairs[pairs.length - 1];
  if (!last) return [];
  let used = cost(last);
  const out: [string, string][] = [];
  for (const p of pairs.slice(0, -1)) {
    if (used + cost(p) > width) break;
    out.push(p);
    used += cost(p);
  }
  return used <= width + 3 ? [...out, last] : out;
}

/** What deleting these messages does, in the words of the confirmation. */
function deletionLines(ids: readonly number[], messages: readonly ChatMessage[], me: string, peer: string): string[] {
  const chosen = messages.filter((m) => ids.includes(m.id));
  const mine = chosen.filter((m) => nameKey(m.sender) === nameKey(me) && nameKey(m.recipient) !== nameKey(me));
  const unreadMine = mine.filter((m) => !m.read).length;
  const lines = [`${ids.length === 1 ? 'It disappears' : 'They disappear'} from this conversation for you.`];
  if (unreadMine > 0) lines.push(`${plural(unreadMine, 'message')} you sent ${unreadMine === 1 ? 'is' : 'are'} still unread: withdrawn from ${peer} too.`);
  if (mine.length > unreadMine) lines.push(`${peer} has read ${plural(mine.length - unreadMine, 'message')} of yours and keeps ${mine.length - unreadMine === 1 ? 'it' : 'them'}.`);
  if (chosen.length > mine.length) lines.push(`${peer} still sees what ${peer} sent.`);
  return lines;
}
