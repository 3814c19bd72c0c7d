import { Box } from 'ink';
import { Text } from '../../terminal/colors.js';
import { MESSAGE_MAX_CHARACTERS, messageSize } from '../../client/limits.js';
import { textWidth, truncate } from '../../terminal/text.js';
import { viewRows, type TextState } from '../state/text-editor.js';
import { theme } from './theme.js';

export interface ComposeBoxProps {
  text: TextState;
  /** The text the draft would send (what the limits apply to). */
  outgoing: string;
  width: number;
  /** Rows for the text. */
  rows: number;
  focused: boolean;
  placeholder: string;
}

/** The counter shows once a draft is this close to a limit (or has several lines). */
const COUNTER_FROM = 0.75;

/**
 * `123/4096` once a draft is near the limit (or has several lines); undefined
 * before. Characters are the limit that counts: 4096 code points take at most
 * 16 KiB of UTF-8, so the byte limit cannot be reached first.
 */
export function lengthCounter(text: string, multiline: boolean): { label: string; over: boolean } | undefined {
  const size = messageSize(text);
  if (!multiline && size.characters < COUNTER_FROM * MESSAGE_MAX_CHARACTERS) return undefined;
  return { label: `${size.characters}/${MESSAGE_MAX_CHARACTERS}`, over: size.charactersOver > 0 || size.bytesOver > 0 };
}

/** The compose box: a rule with the length counter, then the draft over as many rows as it needs (up to `rows`). */
export function ComposeBox({ text, outgoing, width, rows, focused, placeholder }: ComposeBoxProps) {
  const view = viewRows(text, Math.max(3, width - 2), rows);
  const counter = lengthCounter(outgoing, text.chars.includes('\n'));
  const more = [view.above ? `↑${view.above}` : '', view.below ? `↓${view.below}` : ''].filter(Boolean).join(' ');
  const right = [more, counter ? (counter.over ? `${counter.label} too long` : counter.label) : '']
    .filter(Boolean)
    .join(' · ');
  const ruleColor = focused ? theme.accent : undefined;
  return (
    <Box flexDirection="column" width={width} height={rows + 1}>
      <Text wrap="truncate" color={ruleColor} dimColor={!focused}>
        {'─'.repeat(Math.max(0, width - (right ? textWidth(right) + 2 : 0)))}
        {right ? (
          <Text color={counter?.over ? theme.error : undefined} bold={counter?.over}>
            {' '}
            {right}{' '}
          </Text>
        ) : null}
      </Text>
      {text.chars.length === 0 && !focused ? (
        <Text dimColor wrap="truncate">
          {'  '}
          {truncate(placeholder, width - 2)}
        </Text>
      ) : (
        view.rows.map((row, i) => (
          <Text key={i} wrap="truncate">
            <Text color={focused ? theme.accent : undefined} bold>
              {i === 0 && view.above === 0 ? '› ' : '  '}
            </Text>
            {row.before}
            {row.atCursor !== undefined ? focused ? <Text inverse>{row.atCursor}</Text> : row.atCursor : null}
            {row.after}
          </Text>
        ))
      )}
    </Box>
  );
}
