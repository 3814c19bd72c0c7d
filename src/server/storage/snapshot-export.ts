import type { Database } from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { ChatStateApi } from '../chat/state-api.js';
import type { Config } from '../replication/types.js';

/** The chat state as applied up to `lastIndex`, with that entry's epoch and the in-sync set there. */
export interface SnapshotImage {
  lastIndex: number;
  lastEpoch: number;
  config: Config;
  data: Buffer;
}

const WORKER = new URL('./snapshot-worker.js', import.meta.url);

/**
 * Exports a snapshot on a worker thread with its own read-only connection, so
 * the event loop keeps serving (an export of a million messages takes seconds).
 * The image may be newer than `current.lastIndex`: it is whatever was applied
 * when the worker's read transaction began, with a matching header.
 * Databases in memory, or a run from TypeScript sources, export in place.
 */
export function exportSnapshot(db: Database, chat: ChatStateApi, current: Omit<SnapshotImage, 'data'>): Promise<SnapshotImage> {
  if (db.memory || !existsSync(fileURLToPath(WORKER))) {
    return Promise.resolve({ ...current, data: chat.exportState() });
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
