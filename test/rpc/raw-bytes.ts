/**
 * Calls with hand-made request bytes, for tests of what a server does with
 * requests no well-behaved client would send: any method path, any bytes, and
 * the status (or the answer) that comes back, with how long it took.
 */
import * as grpc from '@grpc/grpc-js';
import { BinaryWriter } from '@bufbuild/protobuf/wire';
import { afterAll, beforeAll } from 'vitest';
import { LocalCluster, startLocalServer, type LocalServer } from '../support/local-replica.js';

export interface RawAnswer {
  /** The status code; grpc.status.OK when the call succeeded. */
  code: grpc.status;
  details: string;
  metadata: grpc.Metadata | undefined;
  ms: number;
  /** Server streams: messages received before the status. */
  messages?: number;
}

const identity = (b: Buffer): Buffer => b;

export class RawBytesClient {
  private readonly client: grpc.Client;

  constructor(
    address: string,
    credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure(),
    options: grpc.ChannelOptions = {},
  ) {
    this.client = new grpc.Client(address, credentials, { 'grpc.max_send_message_length': -1, ...options });
  }

  /** A unary call of `path` with exactly these request bytes. */
  unary(path: string, request: Uint8Array, metadata = new grpc.Metadata(), deadlineMs = 5_000): Promise<RawAnswer> {
    const started = Date.now();
    return new Promise((resolve) => {
      this.client.makeUnaryRequest(
        path,
        identity,
        identity,
        Buffer.from(request),
        metadata,
        { deadline: Date.now() + deadlineMs },
        (err) => {
          resolve({
            code: err?.code ?? grpc.status.OK,
            details: err?.details ?? '',
            metadata: err?.metadata,
            ms: Date.now() - started,
          });
        },
      );
    });
  }

  /** A server-streaming call of `path`: resolves with the status it ends with (its messages are dropped). */
  serverStream(
    path: string,
    request: Uint8Array,
    metadata = new grpc.Metadata(),
    deadlineMs = 5_000,
  ): Promise<RawAnswer> {
    const started = Date.now();
    return new Promise((resolve) => {
      const call = this.client.makeServerStreamRequest(path, identity, identity, Buffer.from(request), metadata, {
        deadline: Date.now() + deadlineMs,
      });
      let messages = 0;
      call.on('data', () => messages++);
      call.on('error', () => undefined);
      call.on('status', (s: grpc.StatusObject) =>
        resolve({ code: s.code, details: s.details, metadata: s.metadata, ms: Date.now() - started, messages }),
      );
    });
  }

  /** A client-streaming call of `path` writing these messages, then ending: resolves with its status. */
  clientStream(
    path: string,
    messages: Uint8Array[],
    metadata = new grpc.Metadata(),
    deadlineMs = 5_000,
  ): Promise<RawAnswer> {
    const started = Date.now();
    return new Promise((resolve) => {
      const call = this.client.makeClientStreamRequest(
        path,
        identity,
        identity,
        metadata,
        { deadline: Date.now() + deadlineMs },
        (err) => {
          resolve({
            code: err?.code ?? grpc.status.OK,
            details: err?.details ?? '',
            metadata: err?.metadata,
            ms: Date.now() - started,
          });
        },
      );
      call.on('error', () => undefined);
      for (const m of messages) call.write(Buffer.from(m));
      call.end();
    });
  }

  close(): void {
    this.client.close();
  }
}

/** Protobuf field writers for crafted messages: numbers beyond what the server takes, raw bytes for strings. */
export const craft = {
  /** A message with one varint field holding `value` (any 64-bit value, as a decimal string or bigint). */
  varint(field: number, value: bigint | string | number): Uint8Array {
    return new BinaryWriter().tag(field, 0).uint64(value).finish();
  },
  /** A message with one length-delimited field holding exactly these bytes (e.g. invalid UTF-8 for a string field). */
  bytes(field: number, value: Uint8Array): Uint8Array {
    return new BinaryWriter().tag(field, 2).bytes(value).finish();
  },
  concat(...parts: Uint8Array[]): Uint8Array {
    return Buffer.concat(parts.map((p) => Buffer.from(p)));
  },
};

/**
 * A one-replica in-process server and a client sending hand-made request bytes
 * to it, started before the enclosing suite's tests and stopped after them.
 */
export function rawBytesTarget(): { raw(): RawBytesClient; cluster(): LocalCluster } {
  let cluster: LocalCluster | undefined;
  let server: LocalServer | undefined;
  let raw: RawBytesClient | undefined;
  beforeAll(async () => {
    cluster = new LocalCluster(['A']);
    server = await startLocalServer(cluster.replica('A'));
    raw = new RawBytesClient(server.address);
  });
  afterAll(async () => {
    raw?.close();
    await server?.stop();
    cluster?.close();
  });
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('the raw-bytes target is not started (use it inside a test)');
    return value;
  };
  return { raw: () => started(raw), cluster: () => started(cluster) };
}
