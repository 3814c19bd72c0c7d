import { Text } from '../../terminal/colors.js';
import { useRef, useState } from 'react';
import { useRefState } from '../hooks.js';
import { clampBatchSize, UNREAD_BATCH_MAX, UNREAD_BATCH_MIN, type Preferences } from '../settings.js';
import { fit, truncate } from '../../terminal/text.js';
import { Dialog, dialogColumns } from './Dialog.js';
import { theme } from './theme.js';
import { useKeys } from '../keys.js';
import { commandId } from '../commands.js';

export interface SettingsDialogProps {
  prefs: Preferences;
  /** Applies and saves a change at once. */
  onChange(prefs: Preferences): void;
  servers: readonly string[];
  configPath: string;
  bellDisabledByOption: boolean;
  width: number;
  height: number;
  onClose(): void;
}

type Item = 'bell' | 'unreadBatchSize' | 'showClusterPanel';
const ITEMS: Item[] = ['bell', 'unreadBatchSize', 'showClusterPanel'];

export function SettingsDialog({
  prefs,
  onChange,
  servers,
  configPath,
  bellDisabledByOption,
  width,
  height,
  onClose,
}: SettingsDialogProps) {
  const cols = dialogColumns(width);
  const [cursor, setCursor, cursorRef] = useRefState(0);
  /** The digits of N being typed (shown as typed); undefined when not typing. */
  const [digits, setDigits, digitsRef] = useRefState<string | undefined>(undefined);
  const [refused, setRefused] = useState(false);
  // Several keys may arrive before a re-render: each change builds on the last one.
  const prefsRef = useRef(prefs);
  prefsRef.current = prefs;
  const change = (next: Preferences) => {
    prefsRef.current = next;
    onChange(next);
  };
  const setBatch = (n: number) => change({ ...prefsRef.current, unreadBatchSize: clampBatchSize(n) });
  const typeDigits = (typed: string) => {
    setDigits(typed);
    if (typed !== '') setBatch(Number(typed));
  };

  useKeys(
    (press) => {
      const item = ITEMS[cursorRef.current]!;
      const prefs = prefsRef.current;
      const id = commandId(['settings'], press);
      setRefused(false);
      if (id === 'close') return onClose();
      if (id === 'move.down' || id === 'move.up') {
        setCursor((c) => (c + (id === 'move.down' ? 1 : ITEMS.length - 1)) % ITEMS.length);
        setDigits(undefined);
        return;
      }
      if (item === 'unreadBatchSize') {
        if (id === 'digit') {
          const typed = `${digitsRef.current ?? ''}${press.input}`.replace(/^0+/, '');
          // A digit that would pass the maximum is refused, not clamped: the field shows what was typed.
          if (typed !== '' && Number(typed) > UNREAD_BATCH_MAX) setRefused(true);
          else typeDigits(typed);
          return;
        }
        if (id === 'erase') return typeDigits((digitsRef.current ?? String(prefs.unreadBatchSize)).slice(0, -1));
        const step =
          id === 'increase'
            ? 1
            : id === 'decrease'
              ? -1
              : id === 'increase.page'
                ? 10
                : id === 'decrease.page'
                  ? -10
                  : 0;
        if (step !== 0) setBatch(prefs.unreadBatchSize + step);
        setDigits(undefined);
        return;
      }
      if (id === 'toggle' || id === 'increase' || id === 'decrease') {
        if (item === 'bell') change({ ...prefs, bell: !prefs.bell });
        else change({ ...prefs, showClusterPanel: !prefs.showClusterPanel });
      }
      // Every key is a command here, also digits typed (or pasted) together.
    },
    { singleKeys: true },
  );

  const labelWidth = Math.min(44, Math.max(20, cols - 14));
  const line = (i: number, label: string, value: string, note?: string) => (
    <Text key={label} wrap="truncate" inverse={i === cursor}>
      {i === cursor ? '▸ ' : '  '}
      {fit(label, labelWidth)}{' '}
      <Text bold color={theme.badge}>
        {value}
      </Text>
      {note ? <Text dimColor> {note}</Text> : null}
    </Text>
  );
  return (
    <Dialog title="Settings" hint="saved at once · Esc closes" width={width} height={height}>
      <Text> </Text>
      {line(
        0,
        'Bell for messages in other conversations',
        prefs.bell ? '[on]' : '[off]',
        bellDisabledByOption ? '(--no-bell: silent this run)' : undefined,
      )}
      {line(
        1,
        'Unread messages read at a time (N)',
        `[${digits ?? prefs.unreadBatchSize}]`,
        refused || digits === '' ? `${UNREAD_BATCH_MIN} to ${UNREAD_BATCH_MAX}` : '← → or digits',
      )}
      {line(2, 'Show the cluster panel at start', prefs.showClusterPanel ? '[on]' : '[off]')}
      <Text> </Text>
      <Text dimColor wrap="truncate">
        {truncate(`Servers: ${servers.join(', ')}`, cols)}
      </Text>
      <Text dimColor wrap="truncate">
        {truncate(`Saved in ${configPath} (never a password or token)`, cols)}
      </Text>
    </Dialog>
  );
}
