/**
 * NO_COLOR (https://no-color.org) for the Ink programs (chat-tui, chat-ops watch).
 * Ink colours through chalk, whose colour detection reads FORCE_COLOR and the
 * terminal but not NO_COLOR; and turning chalk off altogether would also drop
 * bold, dim and inverse, which mark the cursor, the selection and the leader.
 * So our components draw through this Text, which leaves colours out when
 * NO_COLOR is set (and not empty) and keeps every other attribute.
 */
import { Text as InkText, type TextProps } from 'ink';

/** Whether colours are wanted: NO_COLOR unset or empty. */
export function colorsWanted(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.NO_COLOR === undefined || env.NO_COLOR === '';
}

/** A colour for a prop Ink colours with (a border, a background), or none under NO_COLOR. */
export function colorOrNone<C extends string>(color: C | undefined): C | undefined {
  return colorsWanted() ? color : undefined;
}

/** Ink's Text without foreground and background colours under NO_COLOR. */
export function Text(props: TextProps) {
  if (colorsWanted()) return <InkText {...props} />;
  return <InkText {...props} color={undefined} backgroundColor={undefined} />;
}
