/**
 * How the main screen splits the terminal. The frame is one row shorter than the
 * terminal: Ink redraws everything (flicker) once a frame reaches the full height.
 */

export const MIN_COLUMNS = 40;
export const MIN_ROWS = 10;

export interface MainLayout {
  width: number;
  /** Rows of the whole frame (terminal rows − 1). */
  height: number;
  /** Rows between the status bar and the hint bar. */
  bodyHeight: number;
  listWidth: number;
  /** Columns of the chat pane (after the list and its separator). */
  chatWidth: number;
  /** Rows of the cluster panel (0 when hidden or no room). */
  clusterHeight: number;
  /** Rows of the message window inside the chat pane. */
  messagesHeight: number;
  /** Rows of the conversation entries (below the list's title). */
  listRows: number;
}

/** Rows the chat pane spends on other things than messages: its header, and the compose box with its rule. */
const CHAT_CHROME = 3;
const BARS = 2;

export function tooSmall(columns: number, rows: number): boolean {
  return columns < MIN_COLUMNS || rows < MIN_ROWS;
}

/**
 * `clusterReplicas` is the number of replica rows the cluster panel wants, or
 * undefined when the panel is hidden. The panel takes a title, a header and one row
 * per replica, but leaves the chat at least five message rows.
 */
export function mainLayout(columns: number, rows: number, clusterReplicas: number | undefined): MainLayout {
  const width = Math.max(1, columns);
  const height = Math.max(1, rows - 1);
  const bodyHeight = Math.max(0, height - BARS);
  const listWidth = Math.max(12, Math.min(28, Math.round(width * 0.24)));
  const chatWidth = Math.max(1, width - listWidth - 1);
  let clusterHeight = 0;
  if (clusterReplicas !== undefined) {
    const wanted = clusterReplicas + 2;
    const room = bodyHeight - CHAT_CHROME - 5;
    clusterHeight = Math.max(0, Math.min(wanted, room));
    if (clusterHeight < 3) clusterHeight = 0;
  }
  const messagesHeight = Math.max(1, bodyHeight - clusterHeight - CHAT_CHROME);
  const listRows = Math.max(1, bodyHeight - clusterHeight - 1);
  return { width, height, bodyHeight, listWidth, chatWidth, clusterHeight, messagesHeight, listRows };
}

/** The window of a list of `total` rows that keeps `cursor` visible, scrolling as little as possible from `previousTop`. */
export function listWindow(total: number, height: number, cursor: number, previousTop = 0): { start: number; end: number } {
  const h = Math.max(1, height);
  if (total <= h) return { start: 0, end: total };
  let start = Math.min(Math.max(0, previousTop), total - h);
  if (cursor < start) start = cursor;
  if (cursor >= start + h) start = cursor - h + 1;
  start = Math.max(0, Math.min(start, total - h));
  return { start, end: start + h };
}
