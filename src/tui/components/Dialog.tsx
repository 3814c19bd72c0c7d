import { Box } from 'ink';
import { colorOrNone, Text } from '../../terminal/colors.js';
import type { ReactNode } from 'react';
import { textWidth, truncate } from '../../terminal/text.js';
import { theme } from './theme.js';

export interface DialogProps {
  title: string;
  /** Right side of the title line, e.g. the keys that close it. */
  hint?: string;
  width: number;
  height: number;
  children: ReactNode;
  color?: string;
}

/** A framed panel that takes the body of the main screen: exactly `height` rows tall. */
export function Dialog({ title, hint, width, height, children, color = theme.accent }: DialogProps) {
  const inner = Math.max(1, width - 4);
  const right = hint ? truncate(hint, Math.max(0, inner - textWidth(title) - 2)) : '';
  return (
    <Box
      flexDirection="column"
      width={width}
      height={height}
      borderStyle="round"
      borderColor={colorOrNone(color)}
      paddingX={1}
      overflow="hidden"
    >
      <Text wrap="truncate">
        <Text bold color={color}>
          {truncate(title, inner)}
        </Text>
        {right ? (
          <>
            {' '.repeat(Math.max(1, inner - textWidth(title) - textWidth(right)))}
            <Text dimColor>{right}</Text>
          </>
        ) : null}
      </Text>
      {children}
    </Box>
  );
}

/** Rows a dialog's content may use: the frame takes two, the title one. */
export function dialogRows(height: number): number {
  return Math.max(1, height - 3);
}

/** Columns a dialog's content may use. */
export function dialogColumns(width: number): number {
  return Math.max(1, width - 4);
}
