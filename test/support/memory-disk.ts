/**
 * A disk in memory that fails the way real ones do, behind the log's file
 * interface (LogFiles): writes reach the disk only when synced; a crash (a
 * power cut) keeps what was synced plus any part of what was not, possibly
 * ending in garbage (a torn write); a file created without a durable directory
 * entry may vanish and a deleted one may come back (directory changes become
 * durable in order, at the next directory sync); a sync may fail.
 *
 * Every completion is delivered through `schedule` (a virtual clock in the
 * simulator, a queue in unit tests). After `crash`, completions of the
 * crashed incarnation's files are dropped: open a new MemoryLogFiles.
 */
import type { Done, LogFiles } from '../../src/server/storage/log-files.js';
import type { Rng } from '../../src/server/replication/rng.js';

interface StoredFile {
  /** What the process sees. */
  data: Buffer;
  /** What survives a crash for sure: a prefix of `data`. */
  synced: number;
  /** Its name survives a crash. */
  named: boolean;
}

export interface DiskFaults {
  /** Chance that a sync fails with EIO (the replica must stop). */
  syncFailure?: number;
  /** Whether a crash may keep a torn, garbled part of unsynced writes (default true). */
  tornWrites?: boolean;
}

export class DiskError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

export class MemoryDisk {
  readonly files = new Map<string, StoredFile>();
  /** Files deleted since the last directory sync, in order: a crash may undo a suffix of these deletions. */
  private unsyncedRemovals: [string, StoredFile][] = [];
  generation = 0;
  syncs = 0;
  writes = 0;

  constructor(
    readonly rng: Rng,
    readonly faults: DiskFaults = {},
  ) {}

  /** A power cut: unsynced data is partly lost (maybe torn), unsynced directory changes partly undone. */
  crash(): void {
    this.generation++;
    const torn = this.faults.tornWrites ?? true;
    for (const [name, file] of [...this.files]) {
      if (!file.named) {
        this.files.delete(name);
        continue;
      }
      const unsynced = file.data.length - file.synced;
      const kept = unsynced > 0 ? this.rng.int(0, unsynced + 1) : 0;
      const data = Buffer.from(file.data.subarray(0, file.synced + kept));
      if (torn && kept > 0 && this.rng.chance(0.5)) {
        // The last few bytes that made it are garbage.
        for (let i = Math.max(file.synced, data.length - this.rng.int(1, 16)); i < data.length; i++)
          data[i] = this.rng.int(0, 256);
      }
      this.files.set(name, { data, synced: data.length, named: true });
    }
    const undone = this.rng.int(0, this.unsyncedRemovals.length + 1);
    for (const [name, file] of this.unsyncedRemovals.slice(this.unsyncedRemovals.length - undone)) {
      this.files.set(name, { data: file.data.subarray(0, file.synced), synced: file.synced, named: true });
    }
    this.unsyncedRemovals = [];
  }

  bytes(name: string): Buffer | undefined {
    return this.files.get(name)?.data;
  }

  /** The directory's changes so far are durable. */
  syncDirectory(): void {
    for (const f of this.files.values()) f.named = true;
    this.unsyncedRemovals = [];
  }

  remove(name: string): void {
    const file = this.files.get(name);
    if (!file) return;
    this.files.delete(name);
    if (file.named) this.unsyncedRemovals.push([name, file]);
  }
}

/** One process's view of a MemoryDisk: the log's files, with completions delivered by `schedule`. */
export class MemoryLogFiles implements LogFiles {
  private readonly generation: number;

  constructor(
    private readonly disk: MemoryDisk,
    private readonly schedule: (fn: () => void) => void,
  ) {
    this.generation = disk.generation;
  }

  list(): string[] {
    return [...this.disk.files.keys()];
  }

  read(name: string): Buffer {
    return Buffer.from(this.file(name).data);
  }

  truncate(name: string, size: number): void {
    const file = this.file(name);
    file.data = Buffer.from(file.data.subarray(0, size));
    file.synced = file.data.length;
  }

  unlink(name: string): void {
    this.disk.remove(name);
  }

  create(name: string, done: Done): void {
    this.later(done, () => {
      if (!this.disk.files.has(name)) this.disk.files.set(name, { data: Buffer.alloc(0), synced: 0, named: false });
      this.disk.syncDirectory();
      return null;
    });
  }

  append(name: string, data: readonly Buffer[], done: Done): void {
    this.later(done, () => {
      const file = this.disk.files.get(name);
      if (!file) return new DiskError(`${name} does not exist`, 'ENOENT');
      file.data = Buffer.concat([file.data, ...data]);
      this.disk.writes++;
      return null;
    });
  }

  sync(name: string, done: Done): void {
    this.later(done, () => {
      const file = this.disk.files.get(name);
      if (!file) return new DiskError(`${name} does not exist`, 'ENOENT');
      if (this.disk.rng.chance(this.disk.faults.syncFailure ?? 0))
        return new DiskError(`fdatasync of ${name} failed`, 'EIO');
      file.synced = file.data.length;
      this.disk.syncs++;
      return null;
    });
  }

  remove(name: string, done: Done): void {
    this.later(done, () => {
      this.disk.remove(name);
      return null;
    });
  }

  close(): void {}

  private file(name: string): StoredFile {
    const file = this.disk.files.get(name);
    if (!file) throw new DiskError(`${name} does not exist`, 'ENOENT');
    return file;
  }

  /** Does `work` and reports it, later; nothing at all once the disk has crashed under this process. */
  private later(done: Done, work: () => Error | null): void {
    this.schedule(() => {
      if (this.generation !== this.disk.generation) return;
      done(work());
    });
  }
}
