/**
 * The files of the log's directory, as the segmented log uses them: read and
 * repaired synchronously while a replica starts (before it serves anyone),
 * written asynchronously once it runs (on libuv's thread pool, so the event
 * loop goes on reading the network and batching while a write or an fdatasync
 * is in flight). Tests put a fault-injecting disk in memory behind the same
 * interface (test/support/memory-disk.ts).
 */
import * as fs from 'node:fs';
import { join } from 'node:path';

export type Done = (err: Error | null) => void;

export interface LogFiles {
  /** Names of the files in the directory. Start-up only. */
  list(): string[];
  /** A file's whole content. Start-up only. */
  read(name: string): Buffer;
  /** Cuts a file to `size` bytes, durably (a torn tail). Start-up only. */
  truncate(name: string, size: number): void;
  /** Deletes a file. Start-up only. */
  unlink(name: string): void;
  /** Creates an empty file and makes its name durable in the directory. */
  create(name: string, done: Done): void;
  /** Appends `data` at the end of the file (not yet durable). */
  append(name: string, data: readonly Buffer[], done: Done): void;
  /** Makes everything appended to the file so far durable (fdatasync). */
  sync(name: string, done: Done): void;
  /** Deletes a file. */
  remove(name: string, done: Done): void;
  /** Closes every open file. */
  close(): void;
}

/** A short write is how a full disk shows up before the next write fails with ENOSPC. */
class ShortWriteError extends Error {
  readonly code = 'ENOSPC';
}

/** The log's directory on the real file system. */
export class NodeLogFiles implements LogFiles {
  private readonly handles = new Map<string, number>();

  constructor(private readonly dir: string) {
    if (!fs.existsSync(dir)) {
      fs.mkdirSync(dir, { recursive: true });
      syncDirectory(join(dir, '..'));
    }
  }

  list(): string[] {
    return fs.readdirSync(this.dir);
  }

  read(name: string): Buffer {
    return fs.readFileSync(join(this.dir, name));
  }

  truncate(name: string, size: number): void {
    const fd = fs.openSync(join(this.dir, name), 'r+');
    try {
      fs.ftruncateSync(fd, size);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  }

  unlink(name: string): void {
    this.forget(name);
    fs.unlinkSync(join(this.dir, name));
  }

  create(name: string, done: Done): void {
    fs.open(join(this.dir, name), 'a', (err, fd) => {
      if (err) return done(err);
      this.handles.set(name, fd);
      syncDirectoryAsync(this.dir, done);
    });
  }

  append(name: string, data: readonly Buffer[], done: Done): void {
    let fd: number;
    try {
      fd = this.handle(name);
    } catch (err) {
      return done(err as Error);
    }
    const total = data.reduce((n, b) => n + b.length, 0);
    fs.writev(fd, data as Buffer[], (err, written) => {
      if (err) return done(err);
      done(
        written < total
          ? new ShortWriteError(`wrote ${written} of ${total} bytes to ${name}: no space left on the device`)
          : null,
      );
    });
  }

  sync(name: string, done: Done): void {
    let fd: number;
    try {
      fd = this.handle(name);
    } catch (err) {
      return done(err as Error);
    }
    fs.fdatasync(fd, done);
  }

  remove(name: string, done: Done): void {
    this.forget(name);
    fs.unlink(join(this.dir, name), done);
  }

  close(): void {
    for (const fd of this.handles.values()) fs.closeSync(fd);
    this.handles.clear();
  }

  private handle(name: string): number {
    let fd = this.handles.get(name);
    if (fd === undefined) {
      fd = fs.openSync(join(this.dir, name), 'a');
      this.handles.set(name, fd);
    }
    return fd;
  }

  private forget(name: string): void {
    const fd = this.handles.get(name);
    if (fd === undefined) return;
    this.handles.delete(name);
    fs.closeSync(fd);
  }
}

/** Makes the directory's entries (files created, renamed or deleted in it) durable. */
export function syncDirectory(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function syncDirectoryAsync(dir: string, done: Done): void {
  fs.open(dir, 'r', (err, fd) => {
    if (err) return done(err);
    fs.fsync(fd, (syncErr) => fs.close(fd, (closeErr) => done(syncErr ?? closeErr ?? null)));
  });
}
