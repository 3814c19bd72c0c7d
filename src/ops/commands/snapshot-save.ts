/**
 * `chat-ops snapshot save FILE`: a backup of the chat state from the leader,
 * written to FILE (see src/backup/backup-file.ts) only once its size and
 * checksum are verified. `chat-server restore FILE` builds a new cluster from it.
 */
import { existsSync } from 'node:fs';
import { BackupFileError, BackupWriter } from '../../backup/backup-file.js';
import { ChatError, type ClusterApi } from '../../client/api.js';
import { EXIT_CREDENTIALS, EXIT_NO_LEADER, EXIT_OK, EXIT_UNHEALTHY, EXIT_USAGE, shortError } from '../model/health.js';
import { credentialRefusal, isCredentialRefusal } from './credentials.js';
import type { CommandIo } from './io.js';

export async function runSnapshotSave(
  cluster: ClusterApi,
  io: CommandIo,
  file: string,
  o: { force?: boolean; json?: boolean },
): Promise<number> {
  if (existsSync(file) && !o.force) {
    io.err(`chat-ops: ${file} exists; give another name, or --force to replace it\n`);
    return EXIT_USAGE;
  }
  const started = performance.now();
  let writer: BackupWriter | undefined;
  try {
    await cluster.saveSnapshot({
      onHeader: (h) => {
        writer = new BackupWriter(file, {
          cluster: h.clusterName,
          mode: h.mode,
          takenFrom: h.replicaId,
          version: h.version,
          commit: h.commit,
          schemaVersion: h.schemaVersion,
          lastIndex: h.lastIndex,
          lastEpoch: h.lastEpoch,
          sizeBytes: h.sizeBytes,
          sha256: h.sha256,
          takenAt: new Date(h.takenAtMs).toISOString(),
        });
      },
      onData: (chunk) => writer!.write(chunk),
    });
    writer!.finish();
  } catch (err) {
    writer?.abandon();
    if (err instanceof BackupFileError) {
      io.err(`chat-ops: the backup is not usable: ${err.message}; nothing was written to ${file}. Try again.\n`);
      return EXIT_UNHEALTHY;
    }
    if (isCredentialRefusal(err)) {
      io.err(`chat-ops snapshot save: ${credentialRefusal(err).join('\n')}\n`);
      return EXIT_CREDENTIALS;
    }
    if (!(err instanceof ChatError)) {
      io.err(`chat-ops: cannot write ${file}: ${(err as Error).message}\n`);
      return EXIT_UNHEALTHY;
    }
    const noLeader = err.code === 'UNAVAILABLE' || err.code === 'DEADLINE_EXCEEDED';
    io.err(
      `chat-ops: ${noLeader ? 'no leader answered' : 'the backup failed'} (${err.code}: ${shortError(err.message)}); nothing was written to ${file}\n`,
    );
    return noLeader ? EXIT_NO_LEADER : EXIT_UNHEALTHY;
  }
  const h = writer!;
  const ms = Math.round(performance.now() - started);
  const header = h.headerInfo();
  if (o.json) io.out(`${JSON.stringify({ file, ...header, ms })}\n`);
  else
    io.out(
      `saved the state of cluster "${header.cluster}" up to index ${header.lastIndex} (epoch ${header.lastEpoch}, ${Math.max(1, Math.round(header.sizeBytes / 1024))} KiB, sha256 ${header.sha256.slice(0, 16)}…) from leader ${header.takenFrom} to ${file} in ${ms} ms\n`,
    );
  return EXIT_OK;
}
