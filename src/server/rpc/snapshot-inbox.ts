/**
 * Snapshots arriving from peers, written to files in the data directory as
 * their chunks come (never gathered in memory), bounded in size and in the time
 * between chunks, one transfer per sender at a time and a few at most. A
 * transfer that breaks, stalls or is replaced deletes its file; a finished one
 * is handed on as a ReceivedSnapshot that the driver reads when it installs it
 * and discards either way. The folder is emptied at start.
 */
import * as grpc from '@grpc/grpc-js';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { ReceivedSnapshot } from '../replication/transport.js';
import type { NodeId } from '../replication/types.js';
import type { Refusal } from './peer-auth.js';

export interface SnapshotLimits {
  /** The largest snapshot accepted, in bytes. */
  maxBytes: number;
  /** A transfer without a chunk for this long is abandoned. */
  idleMs: number;
  /** Transfers at once, from all senders. */
  maxTransfers: number;
}

export const DEFAULT_SNAPSHOT_LIMITS: SnapshotLimits = {
  maxBytes: 4 * 1024 ** 3,
  idleMs: 30_000,
  maxTransfers: 4,
};

/** The largest chunk accepted (senders send 1 MiB). */
export const MAX_SNAPSHOT_CHUNK = 4 * 1024 * 1024;

export const INBOX_FOLDER = 'incoming-snapshots';

/** A finished transfer's file. */
export class ReceivedFile implements ReceivedSnapshot {
  private discarded = false;

  constructor(
    readonly path: string,
    readonly bytes: number,
  ) {}

  read(): Buffer {
    return readFileSync(this.path);
  }

  discard(): void {
    if (this.discarded) return;
    this.discarded = true;
    rmSync(this.path, { force: true });
  }
}

/** One snapshot on its way in. */
export class SnapshotTransfer {
  private fd: number | undefined;
  private size = 0;
  private idle: NodeJS.Timeout | undefined;

  constructor(
    private readonly inbox: SnapshotInbox,
    readonly from: NodeId,
    readonly path: string,
    private readonly limits: SnapshotLimits,
    private readonly onIdle: () => void,
  ) {
    this.fd = openSync(path, 'wx', 0o600);
    this.touch();
  }

  get received(): number {
    return this.size;
  }

  /** Writes the chunk at `offset`; why it cannot be taken (and the status that says so), or undefined. */
  append(offset: number, data: Uint8Array, totalSize: number): Refusal | undefined {
    const invalid = (problem: string): Refusal => ({ code: grpc.status.INVALID_ARGUMENT, problem });
    if (this.fd === undefined) return invalid('the transfer was abandoned');
    if (offset !== this.size) return invalid(`a chunk at offset ${offset}, expected ${this.size}`);
    if (data.length > MAX_SNAPSHOT_CHUNK)
      return invalid(`a chunk of ${data.length} bytes (at most ${MAX_SNAPSHOT_CHUNK})`);
    if (this.size + data.length > this.limits.maxBytes || totalSize > this.limits.maxBytes) {
      return {
        code: grpc.status.RESOURCE_EXHAUSTED,
        problem: `the snapshot is larger than this replica takes (${this.limits.maxBytes} bytes; --max-snapshot-mb)`,
      };
    }
    writeSync(this.fd, data);
    this.size += data.length;
    this.touch();
    return undefined;
  }

  /** The finished snapshot, once every byte of `totalSize` arrived; otherwise why not (the transfer is abandoned then). */
  finish(totalSize: number): ReceivedFile | string {
    if (this.size !== totalSize) {
      this.abandon();
      return `the snapshot ended after ${this.size} of ${totalSize} bytes`;
    }
    this.close();
    this.inbox.forget(this);
    return new ReceivedFile(this.path, this.size);
  }

  /** Drops the transfer and its file. */
  abandon(): void {
    this.close();
    rmSync(this.path, { force: true });
    this.inbox.forget(this);
  }

  private close(): void {
    if (this.idle) clearTimeout(this.idle);
    this.idle = undefined;
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  private touch(): void {
    if (this.idle) clearTimeout(this.idle);
    this.idle = setTimeout(() => {
      this.abandon();
      this.onIdle();
    }, this.limits.idleMs);
    this.idle.unref();
  }
}

export class SnapshotInbox {
  private readonly transfers = new Map<NodeId, SnapshotTransfer>();
  readonly dir: string;

  constructor(
    dataDir: string,
    readonly limits: SnapshotLimits = DEFAULT_SNAPSHOT_LIMITS,
  ) {
    this.dir = join(dataDir, INBOX_FOLDER);
    // What a crash left behind is of no use: a sender sends again.
    rmSync(this.dir, { recursive: true, force: true });
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
  }

  /**
   * A new transfer from `from` (whose id was checked), replacing any older one
   * of the same sender; a refusal when too many are in flight. `onIdle` runs
   * when the sender goes quiet for too long (the transfer is abandoned then).
   */
  begin(from: NodeId, onIdle: () => void): SnapshotTransfer | string {
    this.transfers.get(from)?.abandon();
    if (this.transfers.size >= this.limits.maxTransfers)
      return `${this.transfers.size} snapshots are already on their way in`;
    const transfer = new SnapshotTransfer(
      this,
      from,
      join(this.dir, `${from}-${randomBytes(6).toString('hex')}.part`),
      this.limits,
      onIdle,
    );
    this.transfers.set(from, transfer);
    return transfer;
  }

  /** Transfers in flight, and their bytes so far. */
  inFlight(): { transfers: number; bytes: number } {
    let bytes = 0;
    for (const t of this.transfers.values()) bytes += t.received;
    return { transfers: this.transfers.size, bytes };
  }

  /** For SnapshotTransfer: it finished or was abandoned. */
  forget(transfer: SnapshotTransfer): void {
    if (this.transfers.get(transfer.from) === transfer) this.transfers.delete(transfer.from);
  }

  close(): void {
    for (const t of [...this.transfers.values()]) t.abandon();
  }
}
