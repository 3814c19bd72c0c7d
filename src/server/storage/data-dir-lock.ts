/**
 * One process per directory: a chat-server per data directory, a local
 * cluster runner per data folder.
 *
 * The lock is SQLite's own file lock (a POSIX advisory lock on Unix, LockFileEx
 * on Windows) on an empty file, `<dir>/<name>.lock`, held in an open write
 * transaction for as long as the process runs. The kernel drops such a lock
 * when its holder exits, however it exits: after a SIGKILL or a power cut there
 * is no stale lock to detect or break. Taking it is one atomic step, so of two
 * processes racing for a directory exactly one wins. The file itself stays; only
 * the lock on it counts.
 *
 * The holder writes its pid to `<dir>/<name>.pid` once it holds the lock, so the
 * loser can say who holds it. That file is only for the message: a holder that
 * cannot write it (a full disk) still holds the lock.
 */
import BetterSqlite3 from 'better-sqlite3';
import type { Database } from 'better-sqlite3';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The directory cannot be locked: it is not usable, or (DirectoryInUseError) another process holds it. */
export class DirectoryLockError extends Error {}

export class DirectoryInUseError extends DirectoryLockError {
  constructor(
    readonly dir: string,
    /** The holder's pid, when it could be read (it is written just after the lock is taken). */
    readonly holderPid: number | undefined,
    message: string,
  ) {
    super(message);
  }
}

export interface DirectoryLock {
  /** Gives the directory up (the process exiting does too). */
  release(): void;
}

export function describePid(pid: number | undefined): string {
  return pid === undefined ? 'pid unknown' : `pid ${pid}`;
}

/**
 * Takes `<dir>/<name>.lock` for this process (creating `dir` if needed), or
 * throws DirectoryInUseError naming the holder; `label` names the directory in messages.
 */
export function lockDirectory(dir: string, name: string, label = 'directory'): DirectoryLock {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw new DirectoryLockError(`${label} ${dir} is not usable: ${(err as Error).message}`);
  }
  const lockFile = join(dir, `${name}.lock`);
  const pidFile = join(dir, `${name}.pid`);
  let db: Database;
  try {
    // timeout 0: a held lock is an answer, not something to wait for.
    db = new BetterSqlite3(lockFile, { timeout: 0 });
    // Nothing is ever written to this database; with the journal in memory no journal file appears either.
    db.pragma('journal_mode = MEMORY');
  } catch (err) {
    throw new DirectoryLockError(`cannot open ${lockFile}: ${(err as Error).message}`);
  }
  try {
    db.exec('BEGIN IMMEDIATE');
  } catch (err) {
    db.close();
    if ((err as { code?: unknown }).code === 'SQLITE_BUSY') {
      const pid = holderPid(pidFile);
      throw new DirectoryInUseError(dir, pid, `${label} ${dir} is in use by another process (${describePid(pid)})`);
    }
    throw err;
  }
  try {
    writeFileSync(pidFile, `${process.pid}\n`);
  } catch {
    // Only the message of a process that finds the directory taken needs it.
  }
  let released = false;
  return {
    release: () => {
      if (released) return;
      released = true;
      // While still holding the lock, so no later holder's pid file is removed.
      rmSync(pidFile, { force: true });
      db.close();
    },
  };
}

/** The name of chat-server's lock in its data directory: `chat-server.lock`, `chat-server.pid`. */
export const DATA_DIR_LOCK = 'chat-server';

/** chat-server's lock on its data directory, with the messages chat-server prints (exit status 2). */
export function lockDataDir(dataDir: string): DirectoryLock {
  try {
    return lockDirectory(dataDir, 'chat-server', 'data directory');
  } catch (err) {
    if (!(err instanceof DirectoryInUseError)) throw err;
    throw new DirectoryInUseError(
      dataDir,
      err.holderPid,
      `data directory ${dataDir} is in use by another chat-server (${describePid(err.holderPid)}); stop that one first, or give this one a data directory of its own`,
    );
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, it is just not ours to signal.
    return (err as { code?: unknown }).code === 'EPERM';
  }
}

/**
 * The running process `<dir>/<name>.pid` names, if any: who holds the lock, as
 * far as the pid file tells (a hint for messages, not a check of the lock).
 */
export function recordedHolder(dir: string, name: string): number | undefined {
  return livePid(join(dir, `${name}.pid`));
}

function livePid(pidFile: string): number | undefined {
  let pid = NaN;
  try {
    pid = Number.parseInt(readFileSync(pidFile, 'utf8'), 10);
  } catch {
    // none written
  }
  return Number.isInteger(pid) && pid > 0 && alive(pid) ? pid : undefined;
}

/**
 * The pid of the lock's holder. One that took the lock a moment ago may not have
 * written its pid file yet (the file then names a process that has exited, or
 * nothing): reread for up to half a second.
 */
function holderPid(pidFile: string): number | undefined {
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (let attempt = 0; attempt < 10; attempt++) {
    const pid = livePid(pidFile);
    if (pid !== undefined) return pid;
    Atomics.wait(pause, 0, 0, 50);
  }
  return undefined;
}
