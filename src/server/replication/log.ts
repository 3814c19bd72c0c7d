import { decodeConfig, normalizeConfig } from './membership.js';
import type { Config, Entry, LogBase } from './types.js';

/** `(lastEpoch, lastIndex)` order: is log a at least as up to date as log b? */
export function logAtLeast(aEpoch: number, aIndex: number, bEpoch: number, bIndex: number): boolean {
  return aEpoch > bEpoch || (aEpoch === bEpoch && aIndex >= bIndex);
}

/**
 * The log tail kept in memory: entries after `base`, plus the positions of
 * config entries so the configuration at any index is a lookup.
 */
export class ReplicaLog {
  private entries: Entry[];
  private configs: Config[];

  private baseInfo: LogBase;

  constructor(base: LogBase, entries: Entry[]) {
    // A base stored before forces and incarnations were recorded lacks those fields.
    this.baseInfo = { ...base, config: normalizeConfig(base.config) };
    this.entries = [...entries];
    this.configs = entries.filter((e) => e.kind === 'config').map(decodeConfig);
  }

  get base(): LogBase {
    return this.baseInfo;
  }

  get lastIndex(): number {
    return this.baseInfo.index + this.entries.length;
  }

  get lastEpoch(): number {
    return this.entries.length > 0 ? this.entries[this.entries.length - 1]!.epoch : this.baseInfo.epoch;
  }

  /** The epoch of the entry at `index`, or undefined when it is not in the log (or compacted away, except the base). */
  epochAt(index: number): number | undefined {
    if (index === this.baseInfo.index) return this.baseInfo.epoch;
    if (index < this.baseInfo.index || index > this.lastIndex) return undefined;
    return this.entries[index - this.baseInfo.index - 1]!.epoch;
  }

  entry(index: number): Entry | undefined {
    if (index <= this.baseInfo.index || index > this.lastIndex) return undefined;
    return this.entries[index - this.baseInfo.index - 1];
  }

  /** Entries in [from, to], clipped to what the log holds. */
  slice(from: number, to: number): Entry[] {
    const lo = Math.max(from, this.baseInfo.index + 1) - this.baseInfo.index - 1;
    const hi = Math.min(to, this.lastIndex) - this.baseInfo.index;
    return lo < hi ? this.entries.slice(lo, hi) : [];
  }

  /** The first index of the run of entries with the same epoch as the one at `index`. */
  firstIndexOfEpochRun(index: number): number {
    const epoch = this.epochAt(index);
    let i = index;
    while (i - 1 > this.baseInfo.index && this.epochAt(i - 1) === epoch) i--;
    return i;
  }

  /** The configuration in force at the end of the log (config entries take effect when appended). */
  latestConfig(): Config {
    return this.configs.length > 0 ? this.configs[this.configs.length - 1]! : this.baseInfo.config;
  }

  /** The configuration in force at `index`. */
  configAt(index: number): Config {
    for (let i = this.configs.length - 1; i >= 0; i--) {
      if (this.configs[i]!.index <= index) return this.configs[i]!;
    }
    return this.baseInfo.config;
  }

  append(entries: readonly Entry[]): void {
    for (const e of entries) {
      if (e.index !== this.lastIndex + 1) {
        throw new Error(`log append out of order: entry ${e.index} after ${this.lastIndex}`);
      }
      this.entries.push(e);
      if (e.kind === 'config') this.configs.push(decodeConfig(e));
    }
  }

  /** Removes every entry from `index` on and returns them. */
  truncateFrom(index: number): Entry[] {
    if (index <= this.baseInfo.index)
      throw new Error(`cannot truncate at ${index}: at or below the log base ${this.baseInfo.index}`);
    const removed = this.entries.splice(index - this.baseInfo.index - 1);
    this.configs = this.configs.filter((c) => c.index < index);
    return removed;
  }

  /** Forgets entries up to `base.index`, which the state machine holds. */
  compact(base: LogBase): void {
    const drop = base.index - this.baseInfo.index;
    if (drop <= 0) return;
    this.entries.splice(0, drop);
    this.configs = this.configs.filter((c) => c.index > base.index);
    this.baseInfo = base;
  }

  /** Starts over from a snapshot, keeping entries after `base.index` when `keepFrom` says they match. */
  reset(base: LogBase, keep: Entry[]): void {
    this.baseInfo = { ...base, config: normalizeConfig(base.config) };
    this.entries = [...keep];
    this.configs = keep.filter((e) => e.kind === 'config').map(decodeConfig);
  }
}
