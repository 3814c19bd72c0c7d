/**
 * ClusterService.SaveSnapshot: a backup streamed from the leader. The leader
 * first applies everything committed before its epoch (so the image holds every
 * acknowledged write up to it), takes the image off the event loop, and sends a
 * header (index, epoch, size, SHA-256) and then the bytes in 1 MiB parts,
 * waiting for the client to read them.
 */
import * as grpc from '@grpc/grpc-js';
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { SaveSnapshotRequest, SnapshotPart } from '../../gen/chat/v1/cluster.js';
import { NotLeaderError, type ReplicaControl } from '../replica/handle.js';
import { buildInfo } from '../../version/build-info.js';
import { SCHEMA_VERSION } from '../versions.js';
import type { Operator } from './operator-auth.js';
import { notLeaderStatus, RpcError, toStatusObject } from './status-errors.js';

const PART_BYTES = 1024 * 1024;

export async function streamBackup(
  call: grpc.ServerWritableStream<SaveSnapshotRequest, SnapshotPart>,
  o: { replica: ReplicaControl; cluster: string; mode: string; logger: Logger; operator: Operator },
): Promise<void> {
  const { replica } = o;
  try {
    const started = Date.now();
    const image = await replica.backup();
    const sha256 = createHash('sha256').update(image.data).digest('hex');
    const { version, commit } = buildInfo();
    const parts: SnapshotPart[] = [
      {
        part: {
          $case: 'header',
          value: {
            clusterName: o.cluster,
            mode: o.mode,
            replicaId: replica.id,
            version,
            commit,
            schemaVersion: SCHEMA_VERSION,
            lastIndex: image.lastIndex,
            lastEpoch: image.lastEpoch,
            sizeBytes: image.data.length,
            sha256,
            takenAtMs: started,
          },
        },
      },
    ];
    for (let offset = 0; offset < image.data.length; offset += PART_BYTES) {
      parts.push({ part: { $case: 'data', value: image.data.subarray(offset, offset + PART_BYTES) } });
    }
    for (const part of parts) {
      if (call.cancelled) return;
      if (!call.write(part)) await new Promise<void>((resolve) => call.once('drain', () => resolve()));
    }
    call.end();
    o.logger.info(
      {
        event: 'operator.snapshot_saved',
        replica: replica.id,
        lastIndex: image.lastIndex,
        bytes: image.data.length,
        sha256,
        ms: Date.now() - started,
        operator: o.operator.name,
      },
      `an operator (${o.operator.name}) saved a backup: the state up to index ${image.lastIndex} (${Math.round(image.data.length / 1024)} KiB)`,
    );
  } catch (err) {
    const status =
      err instanceof NotLeaderError
        ? notLeaderStatus(replica.id, err)
        : new RpcError(grpc.status.INTERNAL, `the backup failed: ${(err as Error).message}`);
    if (!call.cancelled) call.emit('error', toStatusObject(status));
  }
}
