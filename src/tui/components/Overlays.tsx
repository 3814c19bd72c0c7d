import type { ChatApi, ChatMessage } from '../../client/api.js';
import type { Preferences, SettingsStore } from '../settings.js';
import type { Overlay, ScreenAction } from '../state/controls.js';
import type { ConversationEntry } from '../state/conversations.js';
import { plural } from '../state/format.js';
import { nameKey } from '../state/messages.js';
import { ConfirmDialog } from './ConfirmDialog.js';
import { DeleteAccountDialog } from './DeleteAccountDialog.js';
import { HelpOverlay } from './HelpOverlay.js';
import { InboxDialog } from './InboxDialog.js';
import { SearchDialog } from './SearchDialog.js';
import { SettingsDialog } from './SettingsDialog.js';
import { SwitcherDialog } from './SwitcherDialog.js';

export interface OverlaysProps {
  overlay: Overlay;
  width: number;
  height: number;
  chat: ChatApi;
  me: string;
  now: number;
  ordered: readonly ConversationEntry[];
  /** The open conversation's messages and peer, for what deleting some of them does. */
  openMessages: readonly ChatMessage[];
  openPeer: string | undefined;
  prefs: Preferences;
  onPrefs(prefs: Preferences): void;
  settings: SettingsStore;
  servers: readonly string[];
  bellAllowed: boolean;
  dispatch(action: ScreenAction): void;
  /** After messages were deleted: the list is read again. */
  onMessagesDeleted(): void;
  onAccountDeleted(): void;
}

/** The dialog on top of the main screen's body. */
export function Overlays(p: OverlaysProps) {
  const common = { width: p.width, height: p.height };
  const close = () => p.dispatch({ type: 'overlay', overlay: undefined });
  const open = (peer: string, online?: boolean) => {
    close();
    p.dispatch({ type: 'open', peer, online });
  };
  const overlay = p.overlay;
  switch (overlay.kind) {
    case 'help':
      return <HelpOverlay {...common} onClose={close} />;
    case 'switcher':
      return <SwitcherDialog {...common} entries={p.ordered} onOpen={(peer) => open(peer)} onClose={close} />;
    case 'search':
      return (
        <SearchDialog
          {...common}
          chat={p.chat}
          me={p.me}
          onClose={close}
          onOpen={(account) => open(account.username, account.online)}
        />
      );
    case 'inbox':
      return (
        <InboxDialog
          {...common}
          chat={p.chat}
          me={p.me}
          now={p.now}
          batchSize={p.prefs.unreadBatchSize}
          onFetched={(messages) => p.dispatch({ type: 'session', action: { type: 'fetched-unread', messages } })}
          onClose={close}
        />
      );
    case 'settings':
      return (
        <SettingsDialog
          {...common}
          prefs={p.prefs}
          onChange={p.onPrefs}
          servers={p.servers}
          configPath={p.settings.path}
          bellDisabledByOption={!p.bellAllowed}
          onClose={close}
        />
      );
    case 'delete-account':
      return <DeleteAccountDialog {...common} chat={p.chat} me={p.me} onClose={close} onDeleted={p.onAccountDeleted} />;
    case 'delete-messages': {
      const n = overlay.ids.length;
      return (
        <ConfirmDialog
          {...common}
          title={`Delete ${plural(n, 'message')}?`}
          lines={deletionLines(overlay.ids, p.openMessages, p.me, p.openPeer ?? 'the other side')}
          onConfirm={async () => {
            const deleted = await p.chat.deleteMessages(overlay.ids);
            p.dispatch({ type: 'deleted', ids: deleted });
            p.onMessagesDeleted();
          }}
          onClose={close}
        />
      );
    }
  }
}

/** What deleting these messages does, in the words of the confirmation. */
export function deletionLines(
  ids: readonly number[],
  messages: readonly ChatMessage[],
  me: string,
  peer: string,
): string[] {
  const chosen = messages.filter((m) => ids.includes(m.id));
  const mine = chosen.filter((m) => nameKey(m.sender) === nameKey(me) && nameKey(m.recipient) !== nameKey(me));
  const unreadMine = mine.filter((m) => !m.read).length;
  const lines = [`${ids.length === 1 ? 'It disappears' : 'They disappear'} from this conversation for you.`];
  if (unreadMine > 0)
    lines.push(
      `${plural(unreadMine, 'message')} you sent ${unreadMine === 1 ? 'is' : 'are'} still unread: withdrawn from ${peer} too.`,
    );
  if (mine.length > unreadMine)
    lines.push(
      `${peer} has read ${plural(mine.length - unreadMine, 'message')} of yours and keeps ${mine.length - unreadMine === 1 ? 'it' : 'them'}.`,
    );
  if (chosen.length > mine.length) lines.push(`${peer} still sees what ${peer} sent.`);
  return lines;
}
