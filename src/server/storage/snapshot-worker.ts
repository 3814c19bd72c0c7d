/**
 * Worker thread: reads a consistent image of the chat state and where it stands
 * in the log (one read transaction on its own connection), so a leader can stream a
 * snapshot without blocking its event loop.
 */
import BetterSqlite3 from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';
import { ChatState } from '../chat/chat-state.js';
import { decodeConfig } from '../replication/membership.js';
import type { Config, LogBase } from '../replication/types.js';
import type { SnapshotImage } from './snapshot-export.js';

const { path } = workerData as { path: string };
const db = new BetterSqlite3(path, { readonly: true, fileMustExist: true });
db.pragma('busy_timeout = 5000');
const meta = db.prepare<[string], { value: string }>('SELECT value FROM replica_meta WHERE key = ?');
const epochAt = db.prepare<[number], { epoch: number }>('SELECT epoch FROM log WHERE idx = ?');
const configAt = db.prepare<[number, number], { idx: number; epoch: number; data: Buffer }>(
  "SELECT idx, epoch, data FROM log WHERE kind = 'config' AND idx <= ? AND idx > ? ORDER BY idx DESC LIMIT 1",
);

const image = db.transaction((): SnapshotImage => {
  const applied = Number(meta.get('applied')!.value);
  const base = JSON.parse(meta.get('base')!.value) as LogBase;
  const lastEpoch = applied === base.index ? base.epoch : epochAt.get(applied)!.epoch;
  const row = configAt.get(applied, base.index);
  const config: Config = row ? decodeConfig({ index: row.idx, epoch: row.epoch, kind: 'config', data: row.data }) : base.config;
  return { lastIndex: applied, lastEpoch, config, data: new ChatState(db).exportState() };
})();
db.close();
parentPort!.postMessage(image, [image.data.buffer as ArrayBuffer]);
