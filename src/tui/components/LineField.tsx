import { Box } from 'ink';
import { Text } from '../../terminal/colors.js';
import { textWidth, truncate } from '../../terminal/text.js';
import { viewLine, type TextState } from '../state/text-editor.js';
import { theme } from './theme.js';

export interface LineFieldProps {
  state: TextState;
  width: number;
  focused: boolean;
  /** Shown instead of each character (passwords). */
  mask?: string;
  /** Shown dimmed while the field is empty and not focused. */
  placeholder?: string;
}

/** One line of editable text with its cursor; the window slides so the cursor stays visible. */
export function LineField({ state, width, focused, mask, placeholder }: LineFieldProps) {
  if (state.chars.length === 0 && !focused && placeholder) {
    return (
      <Text dimColor wrap="truncate">
        {truncate(placeholder, width)}
      </Text>
    );
  }
  const view = viewLine(state, width, mask);
  return (
    <Text wrap="truncate">
      {view.clippedLeft ? <Text dimColor>…</Text> : null}
      {view.before}
      {focused ? <Text inverse>{view.atCursor}</Text> : view.atCursor === ' ' ? '' : view.atCursor}
      {view.after}
      {view.clippedRight ? <Text dimColor>…</Text> : null}
    </Text>
  );
}

/** A dialog's field: a bold label, then the field over the rest of `width`. */
export function LabeledField({
  label,
  state,
  width,
  focused = true,
  mask,
  color = theme.accent,
}: {
  label: string;
  state: TextState;
  width: number;
  focused?: boolean;
  mask?: string;
  color?: string;
}) {
  return (
    <Box>
      <Text color={color} bold>
        {label}
      </Text>
      <LineField state={state} width={Math.max(3, width - textWidth(label))} focused={focused} mask={mask} />
    </Box>
  );
}
