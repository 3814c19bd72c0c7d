/**
 * Log lines for refused calls, at most one per caller address every few
 * seconds (with how many were left out since), so a caller that is refused in
 * a loop cannot flood the log.
 */
import type { Logger } from 'pino';
import { peerHost } from './rate-limits.js';

const EVERY_MS = 5_000;
/** Caller addresses remembered at once; past that the memory starts afresh. */
const MAX_CALLERS = 1024;

export class RefusalLog {
  private readonly last = new Map<string, { at: number; suppressed: number }>();

  constructor(private readonly logger: Logger) {}

  /** Logs `fields` and `message` (a warning) unless this caller was logged within the last few seconds. */
  note(peer: string, fields: Record<string, unknown>, message: string): void {
    const host = peerHost(peer);
    const now = Date.now();
    const seen = this.last.get(host);
    if (seen && now - seen.at < EVERY_MS) {
      seen.suppressed++;
      return;
    }
    if (this.last.size >= MAX_CALLERS) this.last.clear();
    this.last.set(host, { at: now, suppressed: 0 });
    this.logger.warn({ ...fields, peer, suppressed: seen?.suppressed ?? 0 }, message);
  }
}
