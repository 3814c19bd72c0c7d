/**
 * Plain-text helpers for one-line cells: every string the dashboard draws goes
 * through here, so a row never wraps and never carries terminal control codes.
 * Widths are terminal columns from the shared text module (src/terminal/text.ts),
 * as Ink measures them: a CJK name or an emoji takes two.
 */
import { fit as fitColumns, oneLine, textWidth, truncate as truncateColumns, wrap } from '../../terminal/text.js';

/** Replaces control characters (including newlines and escape codes) with spaces, and drops bidi controls. */
export function clean(text: string): string {
  return oneLine(text);
}

/** Cuts `text` to at most `width` columns, ending with `…` when something was cut. */
export function truncate(text: string, width: number): string {
  return truncateColumns(clean(text), width);
}

/** Exactly `width` columns: truncated, then padded on the right (or the left for `align: 'right'`). */
export function fit(text: string, width: number, align: 'left' | 'right' = 'left'): string {
  return fitColumns(clean(text), width, align);
}

/** Columns a string takes in the terminal. */
export function width(text: string): number {
  return textWidth(text);
}

/** 0 ms → "0ms", 1234 → "1.2s", 75_000 → "1m15s", 7_200_000 → "2h00m", 3 days → "3d02h". Negative → "never". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return 'never';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h${String(m % 60).padStart(2, '0')}m`;
  const d = Math.floor(h / 24);
  return `${d}d${String(h % 24).padStart(2, '0')}h`;
}

/** Bytes in binary units with three significant digits: 512 → "512B", 1536 → "1.5K", 10_485_760 → "10M". */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '-';
  const units = ['B', 'K', 'M', 'G', 'T'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  if (unit === 0) return `${Math.round(value)}B`;
  return `${value < 10 ? value.toFixed(1) : Math.round(value)}${units[unit]}`;
}

/** Writes per second: "0", "3.5", "120", "12k". */
export function formatRate(perSecond: number): string {
  if (!Number.isFinite(perSecond) || perSecond <= 0) return '0';
  if (perSecond < 10) return perSecond.toFixed(1).replace(/\.0$/, '');
  if (perSecond < 10_000) return String(Math.round(perSecond));
  return `${Math.round(perSecond / 1000)}k`;
}

/** Local wall-clock time with milliseconds, e.g. "14:03:07.123". */
export function formatClock(timeMs: number): string {
  const d = new Date(timeMs);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}.${String(d.getMilliseconds()).padStart(3, '0')}`;
}

/** Word-wraps `text` into lines of at most `width` columns (runs of spaces become one); words longer than a line are cut. */
export function wrapWords(text: string, width: number): string[] {
  if (width <= 0) return [];
  const words = clean(text).trim().replace(/\s+/g, ' ');
  return words === '' ? [] : wrap(words, width);
}
