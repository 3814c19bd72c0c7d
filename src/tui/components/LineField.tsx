import { Text } from '../../terminal/colors.js';
import { viewLine, type LineState } from '../state/line-editor.js';
import { truncate } from '../state/text-width.js';

export interface LineFieldProps {
  state: LineState;
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
