/** What the parent asks a load worker process to do, and what the worker sends back. */

export interface SendUser {
  token: string;
  username: string;
  recipient: string;
}

export interface ListenUser {
  token: string;
  username: string;
}

export type Job =
  /** Closed loop: each of `loopsPerUser` loops per user sends, waits for the ack, sends again. */
  | {
      kind: 'send';
      servers: string[];
      users: SendUser[];
      loopsPerUser: number;
      /** null: until the parent says stop. */
      durationMs: number | null;
      textBytes: number;
      deadlineMs: number;
      retryBudgetMs: number;
      tag: string;
      /** Return every acknowledged message id and text (for checking doubles and losses). */
      keepTexts: boolean;
    }
  /** Open loop: sends at a fixed rate, whatever the acks do. */
  | {
      kind: 'rate';
      servers: string[];
      users: SendUser[];
      perSecond: number;
      durationMs: number;
      textBytes: number;
      tag: string;
    }
  /** Keeps Subscribe streams open and timestamps every delivery, until stopped. */
  | { kind: 'listen'; servers: string[]; users: ListenUser[]; streamsPerUser: number; afterMessageId: number }
  /** Closed loop of unary calls against the echo server: the transport's ceiling. */
  | { kind: 'echo'; address: string; loops: number; durationMs: number; payloadBytes: number }
  /** The 'send' loop against etcd: each of `loopsPerClient` loops per client puts a new key, waits for the ack, puts again. */
  | {
      kind: 'etcd';
      address: string;
      clients: number;
      loopsPerClient: number;
      durationMs: number;
      valueBytes: number;
      deadlineMs: number;
      tag: string;
    }
  /** Batched inserts into SQLite with WAL and synchronous=FULL: the disk's ceiling. */
  | { kind: 'disk'; dir: string; batch: number; durationMs: number; entryBytes: number };

export interface SendResult {
  kind: 'send' | 'rate' | 'echo' | 'etcd';
  /** Wall-clock ms when each call started. */
  starts: Float64Array;
  /** ms from start to the answer (acknowledgement or final failure). */
  latencies: Float64Array;
  /** 1 when acknowledged, 0 when the call finally failed. */
  ok: Uint8Array;
  /** Index into `replicas` of the replica the client was connected to at the answer (255: unknown). */
  replica: Uint8Array;
  replicas: string[];
  /** Message ids of acknowledged sends (0 for failures). */
  ids: Float64Array;
  texts: string[];
  /** The first few failures, for the report. */
  failures: string[];
  failureCount: number;
}

export interface ListenResult {
  kind: 'listen';
  /** Per delivery: the stream (user index * streamsPerUser + stream), the message id, the send time in the text, and the arrival time. */
  stream: Uint32Array;
  ids: Float64Array;
  sentAt: Float64Array;
  receivedAt: Float64Array;
  /** Deliveries of an id a stream already had (must stay 0). */
  duplicates: number;
  /** Streams that ended with a final error. */
  ended: string[];
}

export interface DiskResult {
  kind: 'disk';
  transactions: number;
  rows: number;
  seconds: number;
}

export type JobResult = SendResult | ListenResult | DiskResult;

export type ParentMessage = { type: 'job'; job: Job } | { type: 'start' } | { type: 'stop' };
export type WorkerMessage =
  | { type: 'ready' }
  /** Deliveries so far (listen jobs, a few times a second). */
  | { type: 'progress'; delivered: number }
  | { type: 'result'; result: JobResult }
  | { type: 'error'; message: string };

/** The text of a timed message: the send time first, so any receiver can compute the delivery latency. */
export function timedText(sentAt: number, label: string, bytes: number): string {
  const head = `t=${sentAt.toFixed(3)} ${label} `;
  return head.length >= bytes ? head : head + 'x'.repeat(bytes - head.length);
}

export function sentAtOf(text: string): number | undefined {
  if (!text.startsWith('t=')) return undefined;
  const v = Number(text.slice(2, text.indexOf(' ')));
  return Number.isFinite(v) ? v : undefined;
}

export function labelOf(text: string): string {
  const parts = text.split(' ');
  return parts[1] ?? '';
}
