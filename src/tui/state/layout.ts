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
  /** Rows between the status bar and the footer (hints, or a notice). */
  bodyHeight: number;
  /** Rows of the footer. */
  footerRows: number;
  /** Rows of the compose box's text. */
  composeRows: number;
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

/** Rows the chat pane spends on other things than messages and the compose text: its header and the compose box's rule. */
const CHAT_CHROME = 2;
/** A notice in the footer wraps onto this many rows at most. */
export const MAX_FOOTER_ROWS = 3;
/** The compose box grows with its text up to this many rows (and a third of the body). */
export const MAX_COMPOSE_ROWS = 8;

export function tooSmall(columns: number, rows: number): boolean {
  return columns < MIN_COLUMNS || rows < MIN_ROWS;
}

export interface LayoutWants {
  /** Replica rows the cluster panel wants, or undefined when it is hidden. */
  clusterReplicas?: number;
  /** Rows the compose box's text wants (default 1). */
  composeRows?: number;
  /** Rows the footer wants (default 1). */
  footerRows?: number;
}

/**
 * The panel takes a title, a header and one row per replica, and the compose box
 * grows with its text, but both leave the chat at least five message rows (the
 * panel goes first).
 */
export function mainLayout(columns: number, rows: number, wants: LayoutWants = {}): MainLayout {
  const width = Math.max(1, columns);
  const height = Math.max(1, rows - 1);
  const footerRows = Math.max(1, Math.min(MAX_FOOTER_ROWS, wants.footerRows ?? 1));
  const bodyHeight = Math.max(0, height - 1 - footerRows);
  const listWidth = Math.max(12, Math.min(28, Math.round(width * 0.24)));
  const chatWidth = Math.max(1, width - listWidth - 1);
  const composeRows = Math.max(
    1,
    Math.min(wants.composeRows ?? 1, MAX_COMPOSE_ROWS, Math.floor(bodyHeight / 3), bodyHeight - CHAT_CHROME - 5),
  );
  let clusterHeight = 0;
  if (wants.clusterReplicas !== undefined) {
    const wanted = wants.clusterReplicas + 2;
    const room = bodyHeight - CHAT_CHROME - composeRows - 5;
    clusterHeight = Math.max(0, Math.min(wanted, room));
    if (clusterHeight < 3) clusterHeight = 0;
  }
  const messagesHeight = Math.max(1, bodyHeight - clusterHeight - CHAT_CHROME - composeRows);
  const listRows = Math.max(1, bodyHeight - clusterHeight - 1);
  return {
    width,
    height,
    bodyHeight,
    footerRows,
    composeRows,
    listWidth,
    chatWidth,
    clusterHeight,
    messagesHeight,
    listRows,
  };
}

/** Whether the cluster panel fits at this size (with one compose row and one footer row). */
export function clusterFits(columns: number, rows: number): boolean {
  return mainLayout(columns, rows, { clusterReplicas: 1 }).clusterHeight > 0;
}

/** The window of a list of `total` rows that keeps `cursor` visible, scrolling as little as possible from `previousTop`. */
export function listWindow(
  total: number,
  height: number,
  cursor: number,
  previousTop = 0,
): { start: number; end: number } {
  const h = Math.max(1, height);
  if (total <= h) return { start: 0, end: total };
  let start = Math.min(Math.max(0, previousTop), total - h);
  if (cursor < start) start = cursor;
  if (cursor >= start + h) start = cursor - h + 1;
  start = Math.max(0, Math.min(start, total - h));
  return { start, end: start + h };
}
