/** The runner's console: one readable line per interesting record of a replica's JSON log. */

interface LogLine {
  level?: number;
  time?: number;
  event?: string;
  msg?: string;
}

const LEVEL_NAMES: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
};

/** The line to print for one log record of replica `id`, or undefined for one not worth a line (debug, the per-second batch report). */
export function summarize(id: string, line: string): string | undefined {
  let rec: LogLine;
  try {
    rec = JSON.parse(line) as LogLine;
  } catch {
    return `[${id}] ${line}`;
  }
  if ((rec.level ?? 30) < 30 || rec.event === 'replication.batch') return undefined;
  const time = new Date(rec.time ?? Date.now()).toISOString().slice(11, 23);
  const level = LEVEL_NAMES[rec.level ?? 30] ?? String(rec.level);
  return `${time} [${id}] ${level.padEnd(5)} ${rec.event ? `${rec.event}: ` : ''}${rec.msg ?? ''}`;
}
