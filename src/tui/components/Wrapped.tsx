import { Box } from 'ink';
import { Text } from '../../terminal/colors.js';
import { wrap } from '../../terminal/text.js';

export interface WrappedProps {
  text: string;
  width: number;
  color?: string;
  dimColor?: boolean;
  bold?: boolean;
  /** Rows at most (the last one ends with … when the text is longer). */
  maxRows?: number;
}

/** Text wrapped to `width` over as many rows as it needs: messages and errors are never cut. */
export function Wrapped({ text, width, color, dimColor, bold, maxRows }: WrappedProps) {
  let rows = wrap(text, Math.max(1, width));
  if (maxRows !== undefined && rows.length > maxRows)
    rows = [
      ...rows.slice(0, Math.max(0, maxRows - 1)),
      `${rows[Math.max(0, maxRows - 1)]!.slice(0, Math.max(0, width - 1))}…`,
    ];
  return (
    <Box flexDirection="column">
      {rows.map((row, i) => (
        <Text key={i} wrap="truncate" color={color} dimColor={dimColor} bold={bold}>
          {row || ' '}
        </Text>
      ))}
    </Box>
  );
}
