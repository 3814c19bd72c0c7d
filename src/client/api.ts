/** The public shapes of the client library, shared by chat-tui, chat-ops, tests and benchmarks. */

export interface TlsOptions {
  /** PEM of the CA that signed the servers' certificates. */
  ca: Buffer;
  /** Client certificate and key, for servers that require them. */
  cert?: Buffer;
  key?: Buffer;
}

export interface ClientOptions {
  /** `host:port` of every replica the client may try; more are learned from FindLeader. */
  servers: string[];
  /** Deadline of each single RPC attempt in ms (default 3000). */
  deadlineMs?: number;
  /** How long a call keeps retrying UNAVAILABLE and leader redirects, in ms (default 15000). */
  retryBudgetMs?: number;
  tls?: TlsOptions;
  /** A session token from an earlier login. */
  token?: string;
  /** The operators' admin token, sent with the calls that change the cluster (chat-ops). */
  adminToken?: string;
  /**
   * Its own connection to each replica instead of the process-wide one. grpc-js shares one
   * HTTP/2 connection per address among a process's clients, and a replica takes at most
   * CLIENT_MAX_STREAMS_PER_CONNECTION streams on one connection: a process holding more
   * clients' streams than that (a gateway, a bot host, a load generator) sets this.
   */
  ownConnection?: boolean;
}

export type ConnectionState =
  | { kind: 'connecting' }
  | { kind: 'connected'; replicaId: string; address: string; epoch: number }
  /** No replica has answered since the client started: a wrong address, or a cluster that is down. */
  | { kind: 'unreachable'; since: number; lastError: string }
  /** Connected before; since `since` (the first failure after that) nothing has answered. */
  | { kind: 'reconnecting'; since: number; lastError: string }
  | { kind: 'no-leader'; since: number; waitingFor: string[] }
  | { kind: 'closed' };

export interface ChatMessage {
  id: number;
  sender: string;
  recipient: string;
  text: string;
  sentAt: number;
  read: boolean;
  senderDeleted: boolean;
  /**
   * Only on my own messages as my subscription delivers them: the idempotency
   * key they were sent with (what `sendMessage` used), when the server knows it.
   */
  idempotencyKey?: string;
}

export interface AccountListing {
  username: string;
  online: boolean;
}

export interface AccountPage {
  accounts: AccountListing[];
  /** Undefined on the last page. */
  nextPageToken: string | undefined;
}

export interface ConversationSummary {
  peer: string;
  lastMessage: ChatMessage | undefined;
  unreadCount: number;
  peerOnline: boolean;
  peerDeleted: boolean;
}

export interface LoginResult {
  username: string;
  token: string;
  unreadCount: number;
}

export interface SubscriptionHandlers {
  onMessage(message: ChatMessage): void;
  onDeleted?(ids: number[]): void;
  /** A conversation peer came online or went offline. */
  onPresence?(username: string, online: boolean): void;
  /** `username` is typing a message to me (repeated every few seconds while they type). */
  onTyping?(username: string): void;
  /**
   * A stream is open (the first one, and again after every failover): from now on
   * presence changes arrive as events, so this is the moment to read the current state.
   */
  onOpen?(): void;
  /** A final error: the session ended or the account was deleted. Transient failures are retried. */
  onEnd?(err: Error): void;
}

export interface Subscription {
  /** The highest message id delivered so far. */
  readonly lastMessageId: number;
  close(): void;
}

/** `learner`: follows the leader without a vote (being added, or not / no longer a member). */
export type Role = 'leader' | 'follower' | 'candidate' | 'learner' | 'unknown';

export interface PeerProgressView {
  id: string;
  address: string;
  matchIndex: number;
  lagEntries: number;
  lastAckMsAgo: number;
  inSync: boolean;
  state: string;
  /** Not a voting member yet: it catches up, then the leader promotes it. */
  learner: boolean;
  /** For how long it has not held the leader's commit index (0: it holds it). */
  behindMs: number;
  /** It lost data it acknowledged and is being brought back (docs/replication.md, "A replica that lost its data"). */
  dataLost: boolean;
}

/** One replica of the cluster's configuration: a voting member, or a learner being added. */
export interface ClusterMemberView {
  id: string;
  address: string;
  learner: boolean;
  /** In the in-sync set (in majority mode: every voting member). */
  inSync: boolean;
}

/** The configuration after a membership change, as the leader answered it. */
export interface MembershipView {
  /** The leader that made the change, and its epoch. */
  leaderId: string;
  leaderAddress: string;
  epoch: number;
  /**
   * The log index of the configuration entry; undefined when the answer was
   * lost on the way and the change was confirmed from the leader's status instead.
   */
  configIndex: number | undefined;
  members: ClusterMemberView[];
}

export interface ReplicaStatusView {
  id: string;
  address: string;
  role: Role;
  epoch: number;
  leaderId: string;
  lastIndex: number;
  lastEpoch: number;
  commitIndex: number;
  appliedIndex: number;
  logStartIndex: number;
  inSync: string[];
  caughtUp: boolean;
  lastHeartbeatMsAgo: number;
  uptimeMs: number;
  waitingFor: string[];
  waitingReason: string;
  peers: PeerProgressView[];
  connectedClients: number;
  openStreams: number;
  writesPerSecond: number;
  dataSizeBytes: number;
  mode: string;
  /** Set for a cluster restored from a backup; replicas of different ids refuse each other ('' otherwise). */
  clusterId: string;
  /** The replica's package version, the commit it was built from ("unknown" outside git), its peer protocol and database schema. */
  version: string;
  commit: string;
  protocolVersion: number;
  schemaVersion: number;
  /** The other replicas' builds as their messages to this one state them. */
  peerBuilds: PeerBuildView[];
  /** The configuration as this replica knows it (the latest in its log, committed or not). */
  members: ClusterMemberView[];
  /** The highest forced leadership it follows (0: none). */
  lineage: number;
  /** Told of a forced leader its log does not hold yet: it waits to be brought up to date. */
  leftBehind: boolean;
  /** Its configuration records another data directory for it: it lost its data and waits to be brought back. */
  dataLost: boolean;
}

/** Another replica's build, as its messages state it; `protocolVersion` 0 (and empty strings) for a replica of peer protocol 1. */
export interface PeerBuildView {
  id: string;
  version: string;
  commit: string;
  protocolVersion: number;
  lastSeenMsAgo: number;
}

/** What the leader says of a backup before its bytes: where the state stands in the log, its size and checksum, and what took it. */
export interface SnapshotHeaderView {
  clusterName: string;
  mode: string;
  replicaId: string;
  version: string;
  commit: string;
  schemaVersion: number;
  lastIndex: number;
  lastEpoch: number;
  sizeBytes: number;
  /** Hex SHA-256 of the bytes. */
  sha256: string;
  takenAtMs: number;
}

/** One replica as seen by a status sweep: up with its status, or down with the reason. */
export type ReplicaProbe =
  | { address: string; up: true; status: ReplicaStatusView; rttMs: number }
  | { address: string; up: false; error: string };

export interface ClusterEventView {
  seq: number;
  timeMs: number;
  replicaId: string;
  kind: string;
  epoch: number;
  message: string;
  details: Record<string, unknown>;
}

export interface LeaderView {
  leaderId: string;
  leaderAddress: string;
  epoch: number;
  /** Voting members and learners, as the answering replica knows them. */
  replicas: { id: string; address: string; learner: boolean }[];
}

/** Chat calls, implemented by `ChatClient` (src/client/chat-client.ts). Every call follows the leader and retries transient failures within the retry budget; a final failure rejects with `ChatError`. */
export interface ChatApi {
  /** The current connection, for a status bar. */
  connection(): ConnectionState;
  /** Called on every change of `connection()`. Returns an unsubscribe function. */
  onConnectionChange(listener: (state: ConnectionState) => void): () => void;
  /** Who is logged in on this client, if anyone. */
  readonly username: string | undefined;

  createAccount(username: string, password: string): Promise<void>;
  login(username: string, password: string): Promise<LoginResult>;
  logout(): Promise<void>;
  listAccounts(options?: { pattern?: string; pageSize?: number; pageToken?: string }): Promise<AccountPage>;
  /** Retries reuse one idempotency key, so a message is stored once however often it is retried. */
  sendMessage(recipient: string, text: string, options?: { idempotencyKey?: string }): Promise<ChatMessage>;
  /** Real-time messages after `afterMessageId`; follows the leader and resumes after the last id seen. */
  subscribe(handlers: SubscriptionHandlers, options?: { afterMessageId?: number }): Subscription;
  fetchUnread(limit: number): Promise<{ messages: ChatMessage[]; remaining: number }>;
  listConversations(): Promise<ConversationSummary[]>;
  getHistory(
    peer: string,
    options?: { beforeId?: number; limit?: number },
  ): Promise<{ messages: ChatMessage[]; hasMore: boolean }>;
  markRead(peer: string, upToId: number): Promise<number>;
  deleteMessages(ids: number[]): Promise<number[]>;
  deleteAccount(password: string): Promise<void>;
  /** Tells `peer` that I am typing to them (nothing is stored; the leader passes it on to their open streams). */
  notifyTyping(peer: string): Promise<void>;
  close(): void;
}

/** Cluster calls, implemented by `ClusterClient` (src/client/cluster-client.ts). They address replicas directly. */
export interface ClusterApi {
  /** Asks every known replica; the answer with the highest epoch that names a leader wins. */
  findLeader(): Promise<LeaderView>;
  /**
   * One probe per known replica, in the order of the server list (then those
   * learned); unreachable ones come back as down. Members the answers name that
   * were not known yet (from the status's configuration and peers) are asked in
   * the same sweep, so a client given one address sees every member.
   */
  statusAll(): Promise<ReplicaProbe[]>;
  status(address: string): Promise<ReplicaStatusView>;
  /** Streams one replica's events (history after `afterSeq`, then live). Reconnects on failure until closed. */
  watchEvents(
    address: string,
    handlers: { onEvent(e: ClusterEventView): void; onState?(up: boolean, error?: string): void },
    options?: { afterSeq?: number },
  ): { close(): void };
  stateDigest(address: string): Promise<{ appliedIndex: number; digest: string }>;
  forceLeader(address: string): Promise<{ epoch: number }>;
  /**
   * Adds a replica (`id`, reached by clients at `address` and by the other
   * replicas at `peerAddress`, by default the port 1000 up) through the leader,
   * wherever it is: resolves once the learner entry is committed. The
   * replica then catches up without a vote and the leader promotes it to a
   * voting member on its own (watch `members[].learner` of the status).
   */
  addReplica(id: string, address: string, peerAddress?: string): Promise<MembershipView>;
  /** Removes a voting member or a learner through the leader; resolves once the change is committed. */
  removeReplica(id: string): Promise<MembershipView>;
  /**
   * Leadership transfer through the leader, wherever it is: it hands over to
   * `target` (undefined: the most up-to-date voter in step) and answers once
   * the new leader leads.
   */
  transferLeader(
    target?: string,
  ): Promise<{ previousLeaderId: string; leaderId: string; leaderAddress: string; epoch: number }>;
  /**
   * A backup from the leader, wherever it is: `onHeader` once, then `onData`
   * with the bytes in order. Follows the leader until the header arrives; a
   * stream broken after that rejects (start over). Resolves when all is sent.
   */
  saveSnapshot(
    handlers: { onHeader(header: SnapshotHeaderView): void; onData(chunk: Buffer): void },
    timeoutMs?: number,
  ): Promise<void>;
  /** Every address known: the configured ones plus those learned from FindLeader. */
  knownAddresses(): string[];
  close(): void;
}

/** A final failure of a call, with the gRPC status name (e.g. NOT_FOUND) and the server's message. */
export class ChatError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ChatError';
  }
}
