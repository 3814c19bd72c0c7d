import type { Database } from 'better-sqlite3';
import { expect } from 'vitest';
import { openMemoryReplicaDatabase } from '../../src/server/replica-database.js';
import { ChatState } from '../../src/server/chat/chat-state.js';
import type {
  AccountId,
  ApplyOutcome,
  ChatErrorCode,
  ChatOp,
  MessageId,
  OpResult,
  StoredMessage,
} from '../../src/server/chat/operations.js';

/** An op as tests write it: `at` and `key` are filled in unless given. */
export type OpInput = ChatOp extends infer O
  ? O extends ChatOp
    ? Omit<O, 'at' | 'key'> & { at?: number; key?: string }
    : never
  : never;

export type ResultOf<T extends OpResult['type']> = Extract<OpResult, { type: T }>;

export function expectOk<T extends OpResult['type']>(outcome: ApplyOutcome, type: T): ResultOf<T> {
  if (!outcome.ok) throw new Error(`expected ${type} to succeed, got ${outcome.code}: ${outcome.message}`);
  expect(outcome.result.type).toBe(type);
  return outcome.result as ResultOf<T>;
}

export function expectError(outcome: ApplyOutcome, code: ChatErrorCode): string {
  if (outcome.ok) throw new Error(`expected ${code}, got success ${JSON.stringify(outcome.result)}`);
  expect(outcome.code).toBe(code);
  expect(outcome.message.length).toBeGreaterThan(0);
  return outcome.message;
}

/** A fresh in-memory chat state with a log index and a clock that advance one step per op. */
export class ChatHarness {
  readonly db: Database = openMemoryReplicaDatabase();
  readonly chat = new ChatState(this.db);
  index = 0;
  now = 1_700_000_000_000;

  apply(input: OpInput): ApplyOutcome {
    this.index += 1;
    this.now += 1000;
    return this.chat.apply({ at: this.now, key: '', ...input } as ChatOp, this.index);
  }

  createAccount(username: string): AccountId {
    return expectOk(
      this.apply({ type: 'createAccount', username, passwordHash: `scrypt$test$${username}` }),
      'createAccount',
    ).userId;
  }

  login(userId: AccountId, tokenHash: string): ResultOf<'login'> {
    return expectOk(this.apply({ type: 'login', userId, tokenHash }), 'login');
  }

  send(senderId: AccountId, recipient: string, text: string): StoredMessage {
    return expectOk(this.apply({ type: 'sendMessage', senderId, recipient, text }), 'sendMessage').message;
  }

  deleteMessages(userId: AccountId, ids: MessageId[]): ResultOf<'deleteMessages'> {
    return expectOk(this.apply({ type: 'deleteMessages', userId, ids }), 'deleteMessages');
  }

  /** Ids of every message the user can see, oldest first. */
  visible(userId: AccountId): MessageId[] {
    return this.chat.messagesAfter(userId, 0, 1_000_000).map((m) => m.id);
  }

  close(): void {
    this.db.close();
  }
}
