/**
 * The operations of the chat state machine. Each is decided completely by the
 * leader before it is logged: times, password hashes and token hashes travel
 * inside the op, so applying the same log gives the same state on every replica.
 */

export type AccountId = number;
export type MessageId = number;

interface OpBase {
  /** Milliseconds since the Unix epoch, chosen by the leader when it logged the op. */
  at: number;
  /** Client-chosen idempotency key; '' when the call carried none. */
  key: string;
}

export interface CreateAccountOp extends OpBase {
  type: 'createAccount';
  username: string;
  /** Self-describing scrypt hash, e.g. `scrypt$16384$8$1$<salt b64>$<hash b64>`. Never the password. */
  passwordHash: string;
}

export interface LoginOp extends OpBase {
  type: 'login';
  userId: AccountId;
  /** sha256 (hex) of the session token; the token itself never enters the log. */
  tokenHash: string;
}

export interface LogoutOp extends OpBase {
  type: 'logout';
  userId: AccountId;
  tokenHash: string;
}

export interface SendMessageOp extends OpBase {
  type: 'sendMessage';
  senderId: AccountId;
  /** Recipient's username, matched case-insensitively among live accounts. */
  recipient: string;
  text: string;
}

export interface FetchUnreadOp extends OpBase {
  type: 'fetchUnread';
  userId: AccountId;
  limit: number;
}

export interface MarkReadOp extends OpBase {
  type: 'markRead';
  userId: AccountId;
  peer: string;
  upToId: MessageId;
}

export interface DeleteMessagesOp extends OpBase {
  type: 'deleteMessages';
  userId: AccountId;
  ids: MessageId[];
}

export interface DeleteAccountOp extends OpBase {
  type: 'deleteAccount';
  userId: AccountId;
}

export type ChatOp =
  | CreateAccountOp
  | LoginOp
  | LogoutOp
  | SendMessageOp
  | FetchUnreadOp
  | MarkReadOp
  | DeleteMessagesOp
  | DeleteAccountOp;

export type ChatOpType = ChatOp['type'];

/** A message as the chat state holds it, with names resolved. */
export interface StoredMessage {
  id: MessageId;
  senderId: AccountId;
  recipientId: AccountId;
  sender: string;
  recipient: string;
  text: string;
  sentAt: number;
  read: boolean;
  senderDeleted: boolean;
}

/** Who must be told that messages went away (for their open streams). */
export interface DeletionNotice {
  userId: AccountId;
  ids: MessageId[];
}

export type OpResult =
  | { type: 'createAccount'; userId: AccountId; username: string }
  | { type: 'login'; userId: AccountId; username: string; unreadCount: number }
  | { type: 'logout' }
  | { type: 'sendMessage'; message: StoredMessage }
  | { type: 'fetchUnread'; messages: StoredMessage[]; remaining: number }
  | { type: 'markRead'; marked: number }
  | { type: 'deleteMessages'; deletedIds: MessageId[]; notices: DeletionNotice[] }
  | { type: 'deleteAccount'; userId: AccountId; notices: DeletionNotice[] };

export type ChatErrorCode =
  | 'INVALID_ARGUMENT'
  | 'NOT_FOUND'
  | 'ALREADY_EXISTS'
  | 'FAILED_PRECONDITION'
  | 'PERMISSION_DENIED'
  | 'UNAUTHENTICATED'
  | 'RESOURCE_EXHAUSTED';

export type ApplyOutcome =
  | { ok: true; result: OpResult; replayed: boolean }
  | { ok: false; code: ChatErrorCode; message: string; replayed: boolean };
