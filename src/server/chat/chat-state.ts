import type { Database } from 'better-sqlite3';
import { OpApplier } from './apply.js';
import type { ApplyOutcome, ChatOp } from './operations.js';
import { ChatQueries } from './queries.js';
import { fileSnapshotSource, SnapshotFormat } from './snapshot-format.js';
import type { ChatStateApi } from './state-api.js';
import { prepareStatements } from './statements.js';

/**
 * The deterministic chat state machine over the chat tables of one SQLite
 * database (already migrated): applying ops (apply.ts), the queries
 * (queries.ts) and the state as a snapshot or digest (snapshot-format.ts), over
 * statements prepared once (statements.ts). `apply` uses only the op and its
 * log index: no clock, no randomness.
 */
export class ChatState extends ChatQueries implements ChatStateApi {
  private readonly applier: OpApplier;
  private readonly snapshots: SnapshotFormat;
  private readonly applyInTransaction: (op: ChatOp, index: number) => ApplyOutcome;

  constructor(private readonly db: Database) {
    super(prepareStatements(db));
    this.applier = new OpApplier(this.statements, this);
    this.snapshots = new SnapshotFormat(db);
    this.applyInTransaction = db.transaction((op: ChatOp, index: number) => this.applier.apply(op, index));
  }

  /**
   * Applies one op. Outside a transaction the op gets one of its own. Inside
   * the caller's (the replica applies a committed batch in the transaction
   * that persists it) it runs directly in it, without a savepoint per op (two
   * more statements and a copy of every page the op touches): a throw from
   * here must end the caller's transaction, as it does when it propagates out
   * of `db.transaction`.
   */
  apply(op: ChatOp, index: number): ApplyOutcome {
    return this.db.inTransaction ? this.applier.apply(op, index) : this.applyInTransaction(op, index);
  }

  digest(): string {
    return this.snapshots.digest();
  }

  exportState(): Buffer {
    return this.snapshots.exportState();
  }

  importState(data: Buffer): void {
    this.snapshots.importState(data);
  }

  /** Why the snapshot in a file would not import (nothing is written, the file is read a frame at a time), or undefined. */
  checkSnapshotFile(path: string): string | undefined {
    const source = fileSnapshotSource(path);
    try {
      return this.snapshots.check(source);
    } finally {
      source.close();
    }
  }
}
