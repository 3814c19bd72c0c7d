/**
 * Rate limits of the chat service, as token buckets: a burst, then the bucket
 * refills at a steady rate. Log-in attempts (and account creations, which cost
 * the same password hashing) are limited per caller address, log-in attempts
 * also per account (a successful one gives its token back, so only failures
 * count there), and sends per session. A refused call gets RESOURCE_EXHAUSTED
 * with the wait in its trailing metadata (`retry-after-ms`) and its message.
 * The buckets live in the leader's memory: a new leader starts them afresh.
 */
import * as grpc from '@grpc/grpc-js';
import { ConfigError } from '../replication/endpoints.js';
import { RpcError } from './status-errors.js';

/** Trailing metadata key of a refusal: milliseconds until the next attempt may pass. */
export const RETRY_AFTER_KEY = 'retry-after-ms';

/** `burst` calls at once, and `burst` more every `periodMs`. */
export interface Rate {
  burst: number;
  periodMs: number;
}

export interface RateLimits {
  loginPerAccount: Rate;
  loginPerAddress: Rate;
  sendPerSession: Rate;
}

export const DEFAULT_RATE_LIMITS: RateLimits = {
  loginPerAccount: { burst: 10, periodMs: 60_000 },
  loginPerAddress: { burst: 100, periodMs: 60_000 },
  sendPerSession: { burst: 50, periodMs: 10_000 },
};

const UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** Parses `N/PERIOD` (e.g. `10/1m`, `50/10s`): a burst of N, and N more every PERIOD. */
export function parseRate(text: string, what: string): Rate {
  const m = /^(\d{1,9})\/(\d{1,9})(ms|s|m|h)$/.exec(text.trim());
  const burst = m ? Number(m[1]) : 0;
  const periodMs = m ? Number(m[2]) * UNITS[m[3]!]! : 0;
  if (!m || burst < 1 || periodMs < 1)
    throw new ConfigError(`${what} must look like 10/1m (a burst of 10, 10 more a minute) or 50/10s, not "${text}"`);
  return { burst, periodMs };
}

/** "10 a minute" for messages. */
export function describeRate(rate: Rate): string {
  return `${rate.burst} per ${rate.periodMs % 60_000 === 0 ? `${rate.periodMs / 60_000} min` : `${rate.periodMs / 1000} s`}`;
}

interface Bucket {
  tokens: number;
  at: number;
}

/** Token buckets by key, at most `maxKeys` of them (full ones are the first to go: they are the same as none). */
export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    readonly rate: Rate,
    private readonly maxKeys = 100_000,
  ) {}

  private level(b: Bucket, now: number): number {
    return Math.min(this.rate.burst, b.tokens + ((now - b.at) * this.rate.burst) / this.rate.periodMs);
  }

  /** Takes a token for `key`: 0 when it may go ahead, else how many ms until a token is there. */
  take(key: string, now = Date.now()): number {
    let b = this.buckets.get(key);
    if (!b) {
      this.makeRoom(now);
      b = { tokens: this.rate.burst, at: now };
      this.buckets.set(key, b);
    }
    const tokens = this.level(b, now);
    if (tokens < 1) return Math.ceil(((1 - tokens) * this.rate.periodMs) / this.rate.burst);
    b.tokens = tokens - 1;
    b.at = now;
    return 0;
  }

  /** Gives back the token a call took (it turned out not to count). */
  refund(key: string, now = Date.now()): void {
    const b = this.buckets.get(key);
    if (!b) return;
    b.tokens = Math.min(this.rate.burst, this.level(b, now) + 1);
    b.at = now;
  }

  private makeRoom(now: number): void {
    if (this.buckets.size < this.maxKeys) return;
    for (const [key, b] of this.buckets) if (this.level(b, now) >= this.rate.burst) this.buckets.delete(key);
    // Still full of callers that are all waiting: the oldest entries go.
    for (const key of this.buckets.keys()) {
      if (this.buckets.size < this.maxKeys) break;
      this.buckets.delete(key);
    }
  }
}

/** RESOURCE_EXHAUSTED saying what was limited and when to come back, with the wait in the trailing metadata. */
export function rateLimited(what: string, waitMs: number, rate: Rate): RpcError {
  const metadata = new grpc.Metadata();
  metadata.set(RETRY_AFTER_KEY, String(waitMs));
  const seconds = Math.max(1, Math.ceil(waitMs / 1000));
  return new RpcError(
    grpc.status.RESOURCE_EXHAUSTED,
    `too many ${what} (at most ${describeRate(rate)}); retry in ${seconds} s`,
    metadata,
  );
}

/** The host part of a gRPC peer string ("ipv4:10.0.0.1:5000", "ipv6:[::1]:5000"). */
export function peerHost(peer: string): string {
  return peer.replace(/^ipv[46]:/, '').replace(/:\d+$/, '');
}
