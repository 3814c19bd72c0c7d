import { Box, useStdout } from 'ink';
import { Text } from '../../terminal/colors.js';
import { randomUUID } from 'node:crypto';
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'react';
import type { ChatApi, ClusterApi, ConnectionState } from '../../client/api.js';
import type { TerminalSize } from '../../terminal/use-terminal-size.js';
import { useAttention } from '../attention.js';
import { hintsFor, type Scope } from '../commands.js';
import { useClusterStatus, useStore } from '../hooks.js';
import { useKeys } from '../keys.js';
import type { Preferences, SettingsStore } from '../settings.js';
import {
  draftOf,
  initialView,
  listCursor,
  outgoingText,
  reduceKey,
  screenReducer,
  selectedSpan,
  type Effect,
  type KeyContext,
  type Notice,
} from '../state/controls.js';
import { sortConversations, totalUnread } from '../state/conversations.js';
import { formatFullDate, plural } from '../state/format.js';
import { clusterFits, mainLayout } from '../state/layout.js';
import { scrollToShow, resolveScroll } from '../state/scroll.js';
import { nameKey } from '../state/messages.js';
import { historyOf, initialSession } from '../state/session.js';
import { clusterRows, connectionStatus } from '../state/status.js';
import { layoutRows } from '../state/text-editor.js';
import { buildTimeline, MARKER_KEY, messageSpans, timelineColumns } from '../state/timeline.js';
import { visibleOutgoing } from '../state/outbox.js';
import { useChatSession } from '../use-chat-session.js';
import { ChatPane } from './ChatPane.js';
import { ClusterPanel } from './ClusterPanel.js';
import { ConversationList } from './ConversationList.js';
import { Footer, noticeRows } from './Footer.js';
import { Overlays } from './Overlays.js';
import { StatusBar } from './StatusBar.js';

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
  /** `gone`: the account no longer exists (the sign-in screen then leaves the name empty). */
  onSignedOut(notice: string, gone?: boolean): void;
  onQuit(): void;
}

const NOTICE_MS = 8000;

function preferencesOf(settings: SettingsStore): Preferences {
  const s = settings.read();
  return { bell: s.bell, unreadBatchSize: s.unreadBatchSize, showClusterPanel: s.showClusterPanel };
}

function welcome(me: string, unread: number, prefs: Preferences): Notice {
  const reading = unread ? ` · u reads ${prefs.unreadBatchSize} at a time · a next unread` : '';
  return { text: `Logged in as ${me} · ${plural(unread, 'unread message')}${reading}`, tone: unread ? 'warn' : 'ok' };
}

/** The main screen: the conversation list, the open conversation, the cluster panel; keys go through the command table. */
export function MainScreen(props: MainScreenProps) {
  const { chat, cluster, settings, me, size, now } = props;
  const [prefs, setPrefs] = useState<Preferences>(() => preferencesOf(settings));
  const prefsRef = useRef(prefs);
  prefsRef.current = prefs;
  const store = useStore(screenReducer, () => ({
    session: initialSession(me),
    view: initialView(prefs.showClusterPanel, welcome(me, props.unreadAtLogin, prefs)),
  }));
  const { session, view } = store.state;
  const { dispatch } = store;
  const snapshot = useClusterStatus(cluster, view.showCluster);
  const { stdout } = useStdout();
  const attention = useAttention(
    stdout,
    me,
    totalUnread(session.conversations),
    () => prefsRef.current.bell && props.bellAllowed,
  );

  // ---------------------------------------------------------------- layout
  const ordered = useMemo(() => sortConversations(session.conversations), [session.conversations]);
  const openKey = session.openPeer;
  const openEntry = openKey ? session.conversations[openKey] : undefined;
  const openHistory = openKey ? historyOf(session, openKey) : undefined;
  const draft = draftOf(store.state, openKey);
  const outgoing = outgoingText(draft.text);
  const base = mainLayout(size.columns, size.rows);
  const layout = mainLayout(size.columns, size.rows, {
    clusterReplicas: view.showCluster
      ? Math.max(
          1,
          snapshot ? clusterRows(snapshot.probes, snapshot.leader, snapshot.knownIds).length : props.servers.length,
        )
      : undefined,
    composeRows: layoutRows(draft.text.chars, base.chatWidth - 2).length,
    footerRows: view.notice ? noticeRows(view.notice.text, base.width).length : 1,
  });
  const gutter = view.focus === 'select' ? 2 : 0;
  const marker =
    session.marker && session.marker.peerKey === openKey && session.marker.fromId !== undefined
      ? { beforeId: session.marker.fromId, count: session.marker.count }
      : undefined;
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
            marker,
          })
        : [],
    // `now` matters only for the day labels: refresh them once a minute.
    [
      openKey,
      openEntry?.peer,
      openHistory?.messages,
      session.outbox,
      layout.chatWidth,
      gutter,
      Math.floor(now / 60000),
      marker?.beforeId,
    ],
  );
  const rowKeys = useMemo(() => timeline.map((r) => r.key), [timeline]);
  const spans = useMemo(() => messageSpans(timeline), [timeline]);
  const window = resolveScroll(rowKeys, layout.messagesHeight, view.scroll);

  // A conversation opened with unread messages shows where they start (once per opening).
  const markerShown = useRef<string | undefined>(undefined);
  useLayoutEffect(() => {
    const at = rowKeys.indexOf(MARKER_KEY);
    const id = `${openKey}:${marker?.beforeId}`;
    if (at < 0 || markerShown.current === id) return;
    markerShown.current = id;
    if (at < window.start)
      dispatch({
        type: 'scroll',
        scroll: scrollToShow(
          rowKeys,
          layout.messagesHeight,
          view.scroll,
          Math.max(0, at - 1),
          at + layout.messagesHeight - 2,
        ),
      });
  }, [rowKeys]);

  // Logging out ends the stream too: that end is not news.
  const loggingOut = useRef(false);
  const chatSession = useChatSession({
    chat,
    me,
    store: store.ref,
    dispatch,
    attention,
    onEnded: (notice) => loggingOut.current || props.onSignedOut(notice),
    atTop: !view.scroll.follow && window.above === 0,
  });

  useEffect(() => {
    if (!view.notice) return;
    const timer = setTimeout(() => dispatch({ type: 'notice', notice: undefined }), NOTICE_MS);
    return () => clearTimeout(timer);
  }, [view.notice]);

  // ---------------------------------------------------------------- keys
  const run = (effect: Effect) => {
    if (effect.type === 'quit') props.onQuit();
    else if (effect.type === 'typing') chatSession.typing(effect.peer);
    else {
      loggingOut.current = true;
      const done = () => props.onSignedOut(`logged out ${me}`);
      chat.logout().then(done, done);
    }
  };
  const ctx: KeyContext = {
    ordered,
    rowKeys,
    spans,
    height: layout.messagesHeight,
    composeWidth: layout.chatWidth - 2,
    clusterFits: clusterFits(size.columns, size.rows),
    now,
    newKey: randomUUID,
  };
  useKeys(
    (press) => {
      if (store.ref.current.view.overlay) return;
      const { state, effects } = reduceKey(store.ref.current, press, ctx);
      store.set(state);
      for (const effect of effects) run(effect);
    },
    // Outside the compose box every letter is a command, also when several arrive at once.
    {
      singleKeys: () => store.ref.current.view.focus !== 'compose',
      multiline: () => store.ref.current.view.focus === 'compose',
    },
  );

  // ---------------------------------------------------------------- render
  const changePrefs = (next: Preferences) => {
    if (next.showClusterPanel !== prefs.showClusterPanel) dispatch({ type: 'cluster', show: next.showClusterPanel });
    setPrefs(next);
    settings.update(next);
  };
  const cursorSpan = view.focus === 'select' ? selectedSpan(store.state, spans) : undefined;
  const situation = {
    conversationOpen: openKey !== undefined,
    failedHere:
      openKey !== undefined && session.outbox.some((m) => m.state === 'failed' && nameKey(m.peer) === openKey),
    failedUnderCursor: cursorSpan?.failed ?? false,
  };
  const scopes: Scope[] = [view.focus, 'app'];
  const mainHeight = layout.bodyHeight - layout.clusterHeight;
  return (
    <Box flexDirection="column" width={layout.width} height={layout.height}>
      <StatusBar
        width={layout.width}
        me={me}
        status={connectionStatus(props.connection, now)}
        unread={totalUnread(session.conversations)}
      />
      {view.overlay ? (
        <Overlays
          overlay={view.overlay}
          width={layout.width}
          height={layout.bodyHeight}
          chat={chat}
          me={me}
          now={now}
          ordered={ordered}
          openMessages={openHistory?.messages ?? []}
          openPeer={openEntry?.peer}
          prefs={prefs}
          onPrefs={changePrefs}
          settings={settings}
          servers={props.servers}
          bellAllowed={props.bellAllowed}
          dispatch={dispatch}
          onMessagesDeleted={chatSession.refresh}
          onAccountDeleted={() => {
            settings.update({ lastUsername: '' });
            props.onSignedOut(`account ${me} deleted`, true);
          }}
        />
      ) : (
        <Box flexDirection="column" height={layout.bodyHeight}>
          <Box flexDirection="row" height={mainHeight}>
            <ConversationList
              entries={ordered}
              cursorKey={listCursor(store.state, ordered)}
              openKey={openKey}
              focused={view.focus === 'list'}
              width={layout.listWidth}
              rows={layout.listRows}
              me={me}
              now={now}
            />
            <Text dimColor>{Array.from({ length: mainHeight }, () => '│').join('\n')}</Text>
            <ChatPane
              peer={openEntry}
              rows={timeline}
              window={window}
              columns={timelineColumns(layout.chatWidth, gutter, me, openEntry?.peer ?? me)}
              width={layout.chatWidth}
              height={layout.messagesHeight}
              loading={openHistory?.loading ?? false}
              hasMore={openHistory?.hasMore ?? false}
              selection={{ active: view.focus === 'select', cursor: view.select.cursor, chosen: view.select.chosen }}
              selectionNote={cursorSpan ? formatFullDate(cursorSpan.at) : undefined}
              now={now}
              draft={draft.text}
              outgoing={outgoing}
              composeRows={layout.composeRows}
              composeFocused={view.focus === 'compose'}
            />
          </Box>
          {layout.clusterHeight ? (
            <ClusterPanel snapshot={snapshot} width={layout.width} height={layout.clusterHeight} now={now} />
          ) : null}
        </Box>
      )}
      <Footer notice={view.notice} hints={view.overlay ? [] : hintsFor(scopes, situation)} width={layout.width} />
    </Box>
  );
}
