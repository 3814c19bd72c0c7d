/**
 * `chat-server restore FILE --data-dir DIR --id ID --cluster-file …`: builds
 * one replica's data directory of a new cluster from a backup (chat-ops
 * snapshot save). The state is the backup's, at its log index, recorded as
 * applied in the database; the log (segment files beside it) is empty and
 * starts after that index; the configuration is the new cluster's (every member in sync, as a
 * new cluster starts); there is no election state (no promise, the backup's
 * epoch); and the data directory gets a cluster id derived from the backup's
 * checksum (or --cluster-id), so every replica restored from the same file
 * agrees on it and none of them ever talks with the cluster the backup came
 * from. Restore every replica of the new cluster the same way, then start them.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import type { BackupHeader } from '../backup/backup-file.js';
import { ChatState } from './chat/chat-state.js';
import { ChatStateMachine } from './chat/state-machine.js';
import { writeClusterId } from './cluster-identity.js';
import type { ServerConfig } from './config.js';
import { logDirectory, openReplicaDatabase } from './replica-database.js';
import { ConfigError } from './replication/endpoints.js';
import { initialConfig } from './replication/membership.js';
import type { SnapshotPosition } from './replication/state-machine.js';
import { lockDataDir } from './storage/data-dir-lock.js';
import { writeLogDirectory } from './storage/segmented-log.js';
import { SqliteStateStore } from './storage/state-store.js';
import { SCHEMA_VERSION } from './versions.js';

export interface Restored {
  header: BackupHeader;
  clusterId: string;
  /** The digest of the restored chat state (every replica restored from the file has the same). */
  digest: string;
}

/** The cluster id of replicas restored from a backup with this checksum, unless one is given. */
export function restoredClusterId(sha256: string): string {
  return createHash('sha256').update(`chat restore\n${sha256}`).digest('hex').slice(0, 16);
}

/** Restores `backup` (read from `file`, with readBackupFile) into `config.dataDir`, for `config.id` of the cluster `config` describes. */
export function restoreDataDir(
  backup: { header: BackupHeader; data: Buffer },
  file: string,
  config: ServerConfig,
  clusterId?: string,
): Restored {
  const { header, data } = backup;
  if (header.schemaVersion > SCHEMA_VERSION) {
    throw new ConfigError(
      `${file} was taken by a chat-server with database schema ${header.schemaVersion}, newer than this one's (${SCHEMA_VERSION}); restore it with a build at least as new`,
    );
  }
  if (existsSync(config.dataDir) && readdirSync(config.dataDir).length > 0) {
    throw new ConfigError(
      `${config.dataDir} is not empty: a restore builds a new data directory (move the old one away first)`,
    );
  }
  const id = clusterId ?? restoredClusterId(header.sha256);
  const lock = lockDataDir(config.dataDir);
  try {
    const db = openReplicaDatabase(config.dataDir);
    try {
      const members = initialConfig(config.members);
      const position: SnapshotPosition = {
        lastIndex: header.lastIndex,
        lastEpoch: header.lastEpoch,
        config: { ...members, index: header.lastIndex, epoch: header.lastEpoch },
      };
      // The state first, durably, as applied up to the backup's index: a start finds the state there.
      const store = new SqliteStateStore(db);
      store.open(config.cluster, header.mode, position);
      const state = new ChatStateMachine(new ChatState(db));
      store.transaction(() => {
        state.restore(data);
        store.setApplied(position);
      }, true);
      // Then the log: empty, starting after that index, in the backup's epoch with no promise (no election state).
      writeLogDirectory(
        logDirectory(config.dataDir),
        {
          prevIndex: position.lastIndex,
          prevEpoch: position.lastEpoch,
          config: position.config,
          hard: { epoch: header.lastEpoch, promisedTo: '' },
          reset: false,
        },
        [],
      );
      writeClusterId(config.dataDir, id);
      return { header, clusterId: id, digest: state.digest() };
    } finally {
      db.close();
    }
  } finally {
    lock.release();
  }
}
