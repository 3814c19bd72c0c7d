/**
 * Taking a snapshot of a chat replica: its chat state (in the chat package's
 * snapshot format) with where that state stands in the log (from the log
 * store's tables), read in one read transaction. The two live in one SQLite
 * database, so this is the one place that knows both; the driver asks for a
 * snapshot through the StateMachine seam (chat-replica.ts wires this in).
 */
import type { Database } from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { SnapshotImage, SnapshotPosition } from '../replication/state-machine.js';

const WORKER = new URL('./worker.js', import.meta.url);

/**
 * Exports a snapshot on a worker thread with its own read-only connection, so
 * the event loop keeps serving (an export of a million messages takes seconds).
 * The image may be newer than `current.lastIndex`: it is whatever was applied
 * when the worker's read transaction began, with a matching position.
 * Databases in memory, or a run from TypeScript sources, export in place with
 * `exportInPlace`.
 */
export function exportSnapshot(
  db: Database,
  exportInPlace: () => Buffer,
  current: SnapshotPosition,
): Promise<SnapshotImage> {
  if (db.memory || !existsSync(fileURLToPath(WORKER))) {
    return Promise.resolve({ ...current, data: exportInPlace() });
  }
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER, { workerData: { path: db.name } });
    worker.once('message', (image: SnapshotImage) => resolve({ ...image, data: Buffer.from(image.data) }));
    worker.once('error', reject);
    worker.once('exit', (code) => {
      if (code !== 0) reject(new Error(`snapshot worker exited with ${code}`));
    });
  });
}
