/**
 * How the dashboard's rows are shared out: a title, the replica table, a banner
 * while there is no leader, the timeline, and a footer. The frame is kept one
 * row shorter than the terminal: Ink redraws the whole screen each frame when
 * the output reaches the terminal's height, which flickers.
 */

export interface ScreenLayout {
  /** Rows of the whole frame (never more than terminal rows − 1). */
  total: number;
  title: number;
  /** The table's header row plus replica rows shown. */
  tableHeader: number;
  tableRows: number;
  banner: number;
  /** The timeline's title row. */
  timelineHeader: number;
  timelineRows: number;
  footer: number;
}

/** At least this many timeline rows are kept before the table is cut. */
const MIN_TIMELINE = 1;

export function screenLayout(terminalRows: number, replicas: number, bannerLines: number): ScreenLayout {
  let room = Math.max(1, terminalRows - 1);
  const take = (want: number) => {
    const got = Math.max(0, Math.min(want, room));
    room -= got;
    return got;
  };
  const title = take(1);
  const footer = take(1);
  const tableHeader = take(1);
  // Keep a few timeline rows (with their title) before giving every replica a row.
  const reserve = Math.min(room, MIN_TIMELINE + 1);
  room -= reserve;
  const tableRows = take(replicas);
  const banner = take(bannerLines);
  room += reserve;
  const timelineHeader = take(1);
  const timelineRows = take(room);
  return {
    total: title + footer + tableHeader + tableRows + banner + timelineHeader + timelineRows,
    title,
    tableHeader,
    tableRows,
    banner,
    timelineHeader,
    timelineRows,
    footer,
  };
}
