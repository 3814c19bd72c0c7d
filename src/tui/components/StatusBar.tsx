import { Text } from '../../terminal/colors.js';
import type { StatusText } from '../state/status.js';
import { textWidth, truncate } from '../../terminal/text.js';
import { theme, toneColor } from './theme.js';

export interface StatusBarProps {
  width: number;
  me: string;
  status: StatusText;
  unread: number;
}

/** The top line: who I am, where I am connected (or why not), unread total, the help key. */
export function StatusBar({ width, me, status, unread }: StatusBarProps) {
  const branded = ` chat-tui │ ${me} │ `;
  const left = width - textWidth(branded) - 22 >= textWidth(status.text) ? branded : ` ${me} │ `;
  const dot = status.tone === 'ok' ? '● ' : status.tone === 'muted' ? '○ ' : '◌ ';
  const right = `${unread > 0 ? `│ ${unread} unread ` : ''}│ ? help `;
  const room = Math.max(0, width - textWidth(left) - textWidth(right) - textWidth(dot));
  const conn = truncate(status.text, room);
  const pad = ' '.repeat(Math.max(0, room - textWidth(conn)));
  const color =
    status.tone === 'muted'
      ? theme.barText
      : toneColor(status.tone) === theme.ok
        ? 'greenBright'
        : status.tone === 'warn'
          ? 'yellowBright'
          : 'redBright';
  return (
    <Text backgroundColor={theme.barBackground} color={theme.barText} wrap="truncate">
      {truncate(left, width)}
      <Text color={color} bold={status.tone === 'error'}>
        {dot}
        {conn}
      </Text>
      {pad}
      {unread > 0 ? (
        <>
          {'│ '}
          <Text bold color="yellowBright">
            {unread} unread
          </Text>{' '}
        </>
      ) : null}
      {'│ ? help '}
    </Text>
  );
}
