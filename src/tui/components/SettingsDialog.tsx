import { Text } from '../../terminal/colors.js';
import { useRef } from 'react';
import { useRefState } from '../hooks.js';
import { clampBatchSize, UNREAD_BATCH_MAX, type Preferences } from '../settings.js';
import { fit, truncate } from '../state/text-width.js';
import { Dialog, dialogColumns } from './Dialog.js';
import { theme } from './theme.js';
import { useKeys } from '../keys.js';

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

export function SettingsDialog({ prefs, onChange, servers, configPath, bellDisabledByOption, width, height, onClose }: SettingsDialogProps) {
  const cols = dialogColumns(width);
  const [cursor, setCursor, cursorRef] = useRefState(0);
  const [, setDigits, digitsRef] = useRefState<string | undefined>(undefined);
  // Several keys may arrive before a re-render: each change builds on the last one.
  const prefsRef = useRef(prefs);
  prefsRef.current = prefs;
  const change = (next: Preferences) => {
    prefsRef.current = next;
    onChange(next);
  };
  const setBatch = (n: number) => change({ ...prefsRef.current, unreadBatchSize: clampBatchSize(n) });

  useKeys((input, key) => {
    const item = ITEMS[cursorRef.current]!;
    const prefs = prefsRef.current;
    const digits = digitsRef.current;
    if (key.escape || input === 'q' || input === 's') {
      onClose();
      return;
    }
    if (key.downArrow || input === 'j' || key.tab) {
      setCursor((c) => (c + 1) % ITEMS.length);
      setDigits(undefined);
      return;
    }
    if (key.upArrow || input === 'k') {
      setCursor((c) => (c + ITEMS.length - 1) % ITEMS.length);
      setDigits(undefined);
      return;
    }
    if (item === 'unreadBatchSize') {
      if (/^[0-9]+$/.test(input)) {
        const typed = `${digits ?? ''}${input}`.replace(/^0+/, '').slice(0, String(UNREAD_BATCH_MAX).length);
        setDigits(typed);
        if (typed) setBatch(Number(typed));
        return;
      }
      if (key.backspace || key.delete) {
        const typed = (digits ?? String(prefs.unreadBatchSize)).slice(0, -1);
        setDigits(typed);
        if (typed) setBatch(Number(typed));
        return;
      }
      if (key.rightArrow || input === '+' || input === 'l') setBatch(prefs.unreadBatchSize + 1);
      else if (key.leftArrow || input === '-' || input === 'h') setBatch(prefs.unreadBatchSize - 1);
      else if (key.pageUp) setBatch(prefs.unreadBatchSize + 10);
      else if (key.pageDown) setBatch(prefs.unreadBatchSize - 10);
      setDigits(undefined);
      return;
    }
    if (key.return || input === ' ' || key.leftArrow || key.rightArrow) {
      if (item === 'bell') change({ ...prefs, bell: !prefs.bell });
      else change({ ...prefs, showClusterPanel: !prefs.showClusterPanel });
    }
  });

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
      {line(0, 'Bell for messages in other conversations', prefs.bell ? '[on]' : '[off]', bellDisabledByOption ? '(--no-bell: silent this run)' : undefined)}
      {line(1, 'Unread messages read at a time (N)', `[${prefs.unreadBatchSize}]`, '← → or digits')}
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
