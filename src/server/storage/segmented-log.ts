/**
 * The replicated log as append-only segment files (etcd's WAL, TigerBeetle's
 * journal): checksummed records (log-records.ts), written and fdatasynced off
 * the event loop, everything queued while a sync is in flight going out in the
 * next write (group commit). A segment is closed once it reaches
 * `segmentBytes`; the next one starts with where the log stood (so the oldest
 * segment left tells where the log begins), and whole segments are deleted once
 * the state machine holds their entries durably (compaction) or an installed
 * snapshot replaced them. No record in a segment reaches below its start: a
 * write that replaces entries from before the start of the segment being
 * written begins a new segment at that point, so any segment can be the oldest
 * one left.
 *
 * At start the segments are read back in order; a torn tail at the end of the
 * newest one (a crash during a write) is cut off. Damage anywhere else stops the
 * replica with a LogDamagedError rather than silently losing entries.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { decodeConfig } from '../replication/membership.js';
import type { LogStats, LogStorage, LogWrite, StoredLog } from '../replication/log-storage.js';
import type { Config, Entry, HardState, LogBase } from '../replication/types.js';
import { syncDirectory, type LogFiles } from './log-files.js';
import { decodeRecords, encodeRecord, type SegmentStart } from './log-records.js';

export class LogDamagedError extends Error {}

/**
 * Told of every group of queued writes once it is durable (metrics' fsync
 * histograms): the seconds from starting its write to its sync's end, and the
 * entries it carried (0 for a group that only stored the hard state, a vote).
 */
export type SyncObserver = (seconds: number, entries: number) => void;

export interface SegmentedLogOptions {
  /** A new segment starts once the current one has this many bytes (default 64 MiB). */
  segmentBytes?: number;
  /** Told of each durable group of writes (without it, stats() alone counts them). */
  observeSync?: SyncObserver;
}

interface Segment {
  name: string;
  /** The index before its first entry (from its start record). */
  prevIndex: number;
  /** It starts over after an installed snapshot: every older segment is obsolete once it is durable. */
  reset: boolean;
  /** Its start record is durable. */
  durable: boolean;
}

/** Queued records bound for one segment: the current one, or a new one starting with `start`. */
interface Chunk {
  start?: SegmentStart;
  frames: Buffer[];
}

interface QueuedWrite {
  seq: number;
  /** The log's end once this write is done. */
  lastIndex: number;
  /** A truncation or reset in this write: entries above this were dropped. */
  floor: number;
  /** Entries it appends. */
  entries: number;
}

const SEGMENT_SUFFIX = '.log';
const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024;

export function isSegmentName(name: string): boolean {
  return /^\d{16}\.log$/.test(name);
}

/**
 * Writes a whole log directory at once, synchronously: one segment starting at
 * `start` with `entries`, written into a temporary directory renamed into
 * place, so a crash leaves either no directory or all of it (upgrades, tools).
 */
export function writeLogDirectory(dir: string, start: SegmentStart, entries: readonly Entry[]): void {
  const frames = [
    encodeRecord({ type: 'start', start }),
    ...entries.map((entry) => encodeRecord({ type: 'entry', entry })),
  ];
  const temporary = `${dir}.writing`;
  rmSync(temporary, { recursive: true, force: true });
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(temporary, { recursive: true });
  const fd = openSync(join(temporary, segmentName(1)), 'w');
  try {
    writeSync(fd, Buffer.concat(frames));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  syncDirectory(temporary);
  renameSync(temporary, dir);
  syncDirectory(dirname(dir));
}

function segmentName(n: number): string {
  return `${String(n).padStart(16, '0')}${SEGMENT_SUFFIX}`;
}

function segmentNumber(name: string): number {
  return Number(name.slice(0, 16));
}

export class SegmentedLog implements LogStorage {
  private readonly segmentBytes: number;
  private readonly observeSync: SyncObserver | undefined;
  private segments: Segment[] = [];
  private nextSegment = 1;
  /** Bytes in the segment the queue appends to, including what is queued for it. */
  private tailBytes = 0;
  /** The start of the segment the queue appends to: the index before its first entry. */
  private tailPrevIndex = 0;

  // The log as queued: what the next write continues from.
  private lastIndex = 0;
  private lastEpoch = 0;
  private hard: HardState = { epoch: 0, promisedTo: '' };
  private baseConfig: Config | undefined;
  private configs: Config[] = [];
  /**
   * Where each epoch begins in the log as queued since it was loaded or reset, the base's first: the epoch at any index
   * a write may replace from (one element per election that wrote entries here).
   */
  private epochStarts: { index: number; epoch: number }[] = [];

  private queue: Chunk[] = [];
  private queuedWrites: QueuedWrite[] = [];
  private seq = 0;
  private writing = false;
  private removing = false;
  private compactTo = 0;
  private failure: Error | undefined;
  private idle: (() => void)[] = [];
  private readonly durableListeners: (() => void)[] = [];
  private readonly failureListeners: ((err: Error) => void)[] = [];

  durableSeq = 0;
  stableIndex = 0;
  private readonly counters: LogStats = { syncs: 0, writes: 0, bytes: 0, syncSeconds: 0, maxSyncSeconds: 0 };

  constructor(
    private readonly files: LogFiles,
    options: SegmentedLogOptions = {},
  ) {
    this.segmentBytes = options.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
    this.observeSync = options.observeSync;
  }

  load(initial: { hard: HardState; base: LogBase }): StoredLog {
    const names = this.files.list().filter(isSegmentName).sort();
    let state: StoredLog | undefined;
    let loaded: Segment[] = [];
    const obsolete: string[] = [];
    names.forEach((name, i) => {
      const newest = i === names.length - 1;
      const file = this.files.read(name);
      const { records, validBytes } = decodeRecords(file);
      if (validBytes < file.length) {
        if (!newest)
          throw new LogDamagedError(
            `log segment ${name} is damaged at byte ${validBytes} of ${file.length}, before newer segments`,
          );
        this.files.truncate(name, validBytes); // a write torn by a crash: never synced, never acknowledged
      }
      const first = records[0];
      if (first?.type !== 'start') {
        if (!newest) throw new LogDamagedError(`log segment ${name} does not begin with its start record`);
        this.files.unlink(name); // created, but the crash came before its first write was durable
        return;
      }
      const start = first.start;
      if (!state || start.reset || start.prevIndex > lastIndexOf(state) || start.prevIndex < state.base.index) {
        // The first segment, a snapshot's new start, or older segments a compaction was deleting: start from here. (A
        // segment that starts before the oldest one left replaces all of it: the segments it continued were compacted.)
        obsolete.push(...loaded.map((s) => s.name));
        loaded = [];
        state = {
          hard: start.hard,
          base: { index: start.prevIndex, epoch: start.prevEpoch, config: start.config },
          entries: [],
        };
      } else if (start.prevIndex < lastIndexOf(state) && epochOf(state, start.prevIndex) === start.prevEpoch) {
        // A write that replaced entries from before the previous segment's start began this one: the log continues here.
        state.entries.length = start.prevIndex - state.base.index;
      } else if (start.prevIndex !== lastIndexOf(state) || start.prevEpoch !== lastEpochOf(state)) {
        throw new LogDamagedError(
          `log segment ${name} starts after entry ${start.prevIndex} (epoch ${start.prevEpoch}), but the segments before end at ${lastIndexOf(state)} (epoch ${lastEpochOf(state)})`,
        );
      }
      loaded.push({ name, prevIndex: start.prevIndex, reset: start.reset, durable: true });
      for (const record of records.slice(1)) {
        if (record.type === 'hard') state.hard = record.hard;
        else if (record.type === 'entry') appendLoaded(state, record.entry, name);
        else throw new LogDamagedError(`log segment ${name} has a second start record`);
      }
    });
    for (const name of obsolete) this.files.unlink(name);
    this.segments = loaded;
    this.nextSegment = names.length > 0 ? segmentNumber(names[names.length - 1]!) + 1 : 1;
    const result = state ?? { hard: initial.hard, base: initial.base, entries: [] };
    this.hard = result.hard;
    this.baseConfig = result.base.config;
    this.configs = [];
    this.startEpochsAt(result.base);
    this.appendState(result.entries);
    this.stableIndex = this.lastIndex;
    // Appends go to a new segment: the newest one's size is not worth a read, and a restart is a fine place to cut.
    this.tailBytes = Number.POSITIVE_INFINITY;
    this.tailPrevIndex = this.lastIndex;
    return result;
  }

  append(write: LogWrite): number {
    const { truncateFrom, entries, hard } = write;
    if (truncateFrom !== undefined && entries[0]?.index !== truncateFrom) {
      throw new Error(`a truncation from ${truncateFrom} must come with the entry that replaces it`);
    }
    if (entries.length > 0 && entries[0]!.index > this.lastIndex + 1) {
      throw new Error(`log append out of order: entry ${entries[0]!.index} after ${this.lastIndex}`);
    }
    const frames = entries.map((entry) => encodeRecord({ type: 'entry', entry }));
    if (hard) frames.push(encodeRecord({ type: 'hard', hard }));
    // An entry at or below the end replaces the log from there on, as it does when read back.
    const from = entries.length > 0 && entries[0]!.index <= this.lastIndex ? entries[0]!.index : undefined;
    const floor = from !== undefined ? from - 1 : Number.POSITIVE_INFINITY;
    if (from !== undefined) this.dropFrom(from);
    // Where the log stands now (after the replaced entries are dropped) starts a new segment when this one is full, or
    // when the write replaces entries from before this segment's start: read back as the oldest segment left after a
    // compaction, such a record would reach below the segment's own start.
    const start = this.newSegmentStart(frames, from !== undefined && from - 1 < this.tailPrevIndex);
    this.appendState(entries);
    if (hard) this.hard = { ...hard };
    return this.enqueue(frames, floor, entries.length, start);
  }

  reset(base: LogBase, keep: readonly Entry[]): number {
    const start: SegmentStart = {
      prevIndex: base.index,
      prevEpoch: base.epoch,
      config: base.config,
      hard: this.hard,
      reset: true,
    };
    this.startEpochsAt(base);
    this.baseConfig = base.config;
    this.configs = [];
    if (keep.length > 0 && keep[0]!.index !== base.index + 1)
      throw new Error(`entries kept after a snapshot must follow it: ${keep[0]!.index} after ${base.index}`);
    this.appendState(keep);
    return this.enqueue(
      keep.map((entry) => encodeRecord({ type: 'entry', entry })),
      base.index,
      keep.length,
      start,
    );
  }

  flush(): void {
    if (this.writing || this.failure || this.queue.length === 0) return;
    this.writing = true;
    const chunks = this.queue;
    const writes = this.queuedWrites;
    this.queue = [];
    this.queuedWrites = [];
    const started = performance.now();
    this.writeChunks(chunks, 0, () => {
      this.writing = false;
      const seconds = (performance.now() - started) / 1000;
      this.counters.syncs++;
      this.counters.writes += writes.length;
      this.counters.bytes += chunks.reduce((n, c) => n + c.frames.reduce((m, f) => m + f.length, 0), 0);
      this.counters.syncSeconds += seconds;
      this.counters.maxSyncSeconds = Math.max(this.counters.maxSyncSeconds, seconds);
      if (this.observeSync)
        this.observeSync(
          seconds,
          writes.reduce((n, w) => n + w.entries, 0),
        );
      const last = writes[writes.length - 1]!;
      this.durableSeq = last.seq;
      // Truncations and resets still queued keep the stable prefix below what they dropped.
      this.stableIndex = this.queuedWrites.reduce((min, w) => Math.min(min, w.floor), last.lastIndex);
      for (const s of this.segments) s.durable = true;
      for (const l of this.durableListeners) l();
      this.removeObsolete();
      this.flush();
      if (!this.writing) this.wakeIdle();
    });
  }

  compact(index: number): void {
    this.compactTo = Math.max(this.compactTo, index);
    this.removeObsolete();
  }

  stats(): LogStats {
    return { ...this.counters };
  }

  onDurable(listener: () => void): void {
    this.durableListeners.push(listener);
  }

  onFailure(listener: (err: Error) => void): void {
    this.failureListeners.push(listener);
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        this.files.close();
        resolve();
      };
      if (this.writing || this.removing) this.idle.push(done);
      else done();
    });
  }

  /** The configuration in force at the end of the log as queued. */
  private latestConfig(): Config {
    return this.configs[this.configs.length - 1] ?? this.baseConfig!;
  }

  private dropFrom(index: number): void {
    this.configs = this.configs.filter((c) => c.index < index);
    this.lastIndex = index - 1;
    while (this.epochStarts.length > 1 && this.epochStarts[this.epochStarts.length - 1]!.index >= index)
      this.epochStarts.pop();
    this.lastEpoch = this.epochStarts[this.epochStarts.length - 1]!.epoch;
  }

  private appendState(entries: readonly Entry[]): void {
    for (const e of entries) {
      if (e.epoch !== this.lastEpoch) this.epochStarts.push({ index: e.index, epoch: e.epoch });
      this.lastIndex = e.index;
      this.lastEpoch = e.epoch;
      if (e.kind === 'config') this.configs.push(decodeConfig(e));
    }
  }

  /** The log as queued is empty after `base`. */
  private startEpochsAt(base: LogBase): void {
    this.lastIndex = base.index;
    this.lastEpoch = base.epoch;
    this.epochStarts = [{ index: base.index, epoch: base.epoch }];
  }

  /**
   * When `frames` would overfill the segment being appended to, or `needed`: the start of a new one, where the log
   * stands now.
   */
  private newSegmentStart(frames: readonly Buffer[], needed: boolean): SegmentStart | undefined {
    const bytes = frames.reduce((n, f) => n + f.length, 0);
    if (!needed && (this.tailBytes + bytes <= this.segmentBytes || this.tailBytes === 0)) return undefined;
    return {
      prevIndex: this.lastIndex,
      prevEpoch: this.lastEpoch,
      config: this.latestConfig(),
      hard: this.hard,
      reset: false,
    };
  }

  private enqueue(frames: Buffer[], floor: number, entries: number, start: SegmentStart | undefined): number {
    const bytes = frames.reduce((n, f) => n + f.length, 0);
    const tail = this.queue[this.queue.length - 1];
    if (start) this.tailPrevIndex = start.prevIndex;
    if (start || !tail) {
      this.queue.push({ start, frames });
      this.tailBytes = (start ? 0 : this.tailBytes) + bytes;
    } else {
      tail.frames.push(...frames);
      this.tailBytes += bytes;
    }
    const seq = ++this.seq;
    this.queuedWrites.push({ seq, lastIndex: this.lastIndex, floor, entries });
    this.stableIndex = Math.min(this.stableIndex, floor);
    return seq;
  }

  /** Writes the chunks in order, each new segment created first; syncs a segment before moving on to the next. */
  private writeChunks(chunks: Chunk[], i: number, done: () => void): void {
    if (i === chunks.length) {
      const current = this.segments[this.segments.length - 1];
      if (!current) return done();
      this.files.sync(current.name, (err) => (err ? this.fail(err) : done()));
      return;
    }
    const chunk = chunks[i]!;
    const next = () => this.writeChunks(chunks, i + 1, done);
    const write = () => {
      const current = this.segments[this.segments.length - 1]!;
      this.files.append(current.name, chunk.frames, (err) => (err ? this.fail(err) : next()));
    };
    if (!chunk.start) return write();
    const start = chunk.start;
    const open = () => {
      const name = segmentName(this.nextSegment++);
      this.files.create(name, (err) => {
        if (err) return this.fail(err);
        this.segments.push({ name, prevIndex: start.prevIndex, reset: start.reset, durable: false });
        chunk.frames.unshift(encodeRecord({ type: 'start', start }));
        write();
      });
    };
    const previous = this.segments[this.segments.length - 1];
    // What went to the previous segment is durable before the new one can be read after it.
    if (previous && i > 0) this.files.sync(previous.name, (err) => (err ? this.fail(err) : open()));
    else open();
  }

  /** Deletes the oldest segments, one at a time, while a durable newer one makes them unnecessary. */
  private removeObsolete(): void {
    if (this.removing || this.failure || this.segments.length < 2) return;
    const [oldest, next] = this.segments as [Segment, Segment];
    const replaced = this.segments.slice(1).some((s) => s.reset && s.durable);
    if (!next.durable || (!replaced && next.prevIndex > this.compactTo)) return;
    this.removing = true;
    this.segments.shift();
    this.files.remove(oldest.name, (err) => {
      this.removing = false;
      if (err) return this.fail(err);
      this.removeObsolete();
      if (!this.removing && !this.writing) this.wakeIdle();
    });
  }

  private wakeIdle(): void {
    if (this.removing) return;
    const waiting = this.idle;
    this.idle = [];
    for (const w of waiting) w();
  }

  private fail(err: Error): void {
    if (this.failure) return;
    this.failure = err;
    this.writing = false;
    this.removing = false;
    for (const l of this.failureListeners) l(err);
    this.wakeIdle();
  }
}

function lastIndexOf(log: StoredLog): number {
  return log.base.index + log.entries.length;
}

/** The epoch of entry `index` of a loaded log (its base's at the base). */
function epochOf(log: StoredLog, index: number): number {
  return index === log.base.index ? log.base.epoch : log.entries[index - log.base.index - 1]!.epoch;
}

function lastEpochOf(log: StoredLog): number {
  return log.entries.length > 0 ? log.entries[log.entries.length - 1]!.epoch : log.base.epoch;
}

/** An entry read back: the next one, or one that replaces the log from its index on (a truncation). */
function appendLoaded(log: StoredLog, entry: Entry, segment: string): void {
  const last = lastIndexOf(log);
  if (entry.index <= log.base.index || entry.index > last + 1) {
    throw new LogDamagedError(
      `log segment ${segment} holds entry ${entry.index} where the log runs from ${log.base.index + 1} to ${last}`,
    );
  }
  if (entry.index <= last) log.entries.length = entry.index - log.base.index - 1;
  log.entries.push(entry);
}
