/**
 * Worker thread: reads a consistent image of the chat state and where it stands
 * in the log (one read transaction on its own connection), so a leader can stream a
 * snapshot without blocking its event loop.
 */
import BetterSqlite3 from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';
import { SnapshotFormat } from '../chat/snapshot-format.js';
import type { SnapshotImage } from '../replication/state-machine.js';
import { readAppliedPosition } from '../storage/state-store.js';

const { path } = workerData as { path: string };
const db = new BetterSqlite3(path, { readonly: true, fileMustExist: true });
db.pragma('busy_timeout = 5000');
const format = new SnapshotFormat(db);
const image = db.transaction((): SnapshotImage => ({ ...readAppliedPosition(db), data: format.exportState() }))();
db.close();
parentPort!.postMessage(image, [image.data.buffer as ArrayBuffer]);
