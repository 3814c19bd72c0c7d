/**
 * The answering side of the peer plane: the ReplicationService. Every call
 * starts with the handshake (peer-auth.ts); then every message must come from
 * the replica the hello proved and decode into something the core can take
 * (peer-codec.ts). Anything else ends that call with a status and one log
 * line (at most one per caller address every few seconds), never the process.
 * Snapshots are written to files as they come (snapshot-inbox.ts) and checked
 * whole before the core hears of them.
 */
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type {
  ExchangeSummary,
  PeerEnvelope,
  ReplicaIdentity,
  ReplicationServiceServer,
} from '../../gen/chat/v1/replication.js';
import type { ReceivedSnapshot } from '../replication/transport.js';
import type { NodeId, PeerMessage } from '../replication/types.js';
import { MalformedRequest } from './guarded-server.js';
import type { PeerAuth, PendingHello, Refusal } from './peer-auth.js';
import { readEnvelope, readSnapshotHeader } from './peer-codec.js';
import { RefusalLog } from './refusal-log.js';
import type { SnapshotInbox, SnapshotTransfer } from './snapshot-inbox.js';

/** How long a caller has, after the handshake headers, to send its hello. */
export const HELLO_TIMEOUT_MS = 5_000;
/** Refusals are logged at most once per caller address this often (with a count of the others). */
const REFUSAL_LOG_EVERY_MS = 5_000;

export interface PeerServiceOptions {
  auth: PeerAuth;
  /** A checked core message from an authenticated peer, with its peer address (and a finished, checked snapshot). */
  deliver(message: PeerMessage, fromPeerAddress: string, snapshot?: ReceivedSnapshot): void;
  /** Every accepted envelope of an authenticated peer, with the build it states (see PeerVersions). */
  heard?(env: PeerEnvelope): void;
  inbox: SnapshotInbox;
  /** Why the snapshot in this file would not install, or undefined. */
  checkSnapshot(path: string): string | undefined;
  /** What Identify answers. */
  identity(): ReplicaIdentity;
  logger: Logger;
  /** How long a caller has for its hello (default HELLO_TIMEOUT_MS). */
  helloTimeoutMs?: number;
}

/** What arrives on a call: the guarded deserializer gives a MalformedRequest for bytes that do not decode. */
type Incoming = PeerEnvelope | MalformedRequest;

type Answer<R> = grpc.sendUnaryData<R>;

/**
 * One call on the answering side: the handshake, then the messages of the
 * replica it proved. `accept` gives each later message once it is checked.
 */
class PeerCall<R> {
  from: NodeId | undefined;
  ended = false;
  private pending: PendingHello | undefined;
  private helloTimer: NodeJS.Timeout | undefined;
  private readonly cleanups: (() => void)[] = [];

  constructor(
    readonly call: grpc.ServerReadableStream<Incoming, R>,
    private readonly answer: Answer<R>,
    private readonly method: string,
    private readonly auth: PeerAuth,
    private readonly refusals: RefusalLog,
    helloTimeoutMs: number,
  ) {
    const opened = auth.answer(call.metadata);
    if ('code' in opened) {
      this.refuse(opened);
      return;
    }
    this.pending = opened.pending;
    call.sendMetadata(opened.headers);
    this.helloTimer = setTimeout(
      () => this.refuse({ code: grpc.status.UNAUTHENTICATED, problem: `no hello within ${helloTimeoutMs} ms` }),
      helloTimeoutMs,
    );
    const gone = () => this.close();
    call.on('cancelled', gone);
    call.on('error', gone);
  }

  /** Runs when the call ends, however it ends. */
  onClose(cleanup: () => void): void {
    if (this.ended) cleanup();
    else this.cleanups.push(cleanup);
  }

  /** The next message, checked: undefined for the hello and for anything that ended the call. */
  accept(m: Incoming): PeerEnvelope | undefined {
    if (this.ended) return undefined;
    if (m instanceof MalformedRequest) return this.refuse({ code: grpc.status.INVALID_ARGUMENT, problem: m.problem });
    if (this.from === undefined) {
      const hello = this.auth.checkHello(m, this.pending!, this.certificate());
      if ('code' in hello) return this.refuse(hello);
      clearTimeout(this.helloTimer);
      this.from = hello.from;
      return undefined;
    }
    if (m.from !== this.from || m.to !== this.auth.self || m.cluster !== this.auth.wire) {
      return this.refuse({
        code: grpc.status.PERMISSION_DENIED,
        problem: `a message from ${JSON.stringify(m.from)} to ${JSON.stringify(m.to)} on a call ${this.from} opened`,
      });
    }
    return m;
  }

  /** Ends the call with this refusal (logged); always undefined, for `return this.refuse(...)`. */
  refuse(refusal: Refusal): undefined {
    if (this.ended) return undefined;
    const peer = this.call.getPeer();
    const claimed = this.from ?? this.pending?.from;
    this.refusals.note(
      peer,
      { event: 'peer.refused', method: this.method, claimed, code: grpc.status[refusal.code] },
      `refused a peer call from ${peer}${claimed ? ` claiming to be ${claimed}` : ''}: ${refusal.problem}`,
    );
    this.finish({ code: refusal.code, details: refusal.problem, metadata: new grpc.Metadata() });
    return undefined;
  }

  /** Ends the call with this answer. */
  reply(value: R): void {
    if (this.ended) return;
    this.finish(null, value);
  }

  private finish(err: Partial<grpc.StatusObject> | null, value?: R): void {
    this.close();
    this.answer(err, value);
  }

  private close(): void {
    if (this.ended) return;
    this.ended = true;
    clearTimeout(this.helloTimer);
    for (const c of this.cleanups.splice(0)) c();
  }

  private certificate() {
    return this.call.getAuthContext()?.sslPeerCertificate;
  }
}

export function createPeerService(o: PeerServiceOptions): ReplicationServiceServer {
  const refusals = new RefusalLog(o.logger);
  const helloTimeoutMs = o.helloTimeoutMs ?? HELLO_TIMEOUT_MS;
  const open = <R>(call: grpc.ServerReadableStream<Incoming, R>, answer: Answer<R>, method: string) =>
    new PeerCall(call, answer, method, o.auth, refusals, helloTimeoutMs);

  return {
    exchange(call: grpc.ServerReadableStream<Incoming, ExchangeSummary>, callback) {
      const peer = open(call, callback, 'Exchange');
      call.on('data', (m: Incoming) => {
        const env = peer.accept(m);
        if (!env) return;
        const read = readEnvelope(env);
        if (!read.ok) {
          peer.refuse({ code: grpc.status.INVALID_ARGUMENT, problem: read.problem });
          return;
        }
        o.heard?.(env);
        o.deliver(read.message, env.fromAddress);
      });
      call.on('end', () => peer.reply({}));
    },

    identify(call: grpc.ServerReadableStream<Incoming, ReplicaIdentity>, callback) {
      const peer = open(call, callback, 'Identify');
      call.on('data', (m: Incoming) => {
        peer.accept(m);
        if (peer.from !== undefined) peer.reply(o.identity());
      });
      call.on('end', () =>
        peer.refuse({ code: grpc.status.UNAUTHENTICATED, problem: 'the call ended before a hello' }),
      );
    },

    installSnapshot(call: grpc.ServerReadableStream<Incoming, ExchangeSummary>, callback) {
      const peer = open(call, callback, 'InstallSnapshot');
      let transfer: SnapshotTransfer | undefined;
      peer.onClose(() => transfer?.abandon());
      call.on('data', (m: Incoming) => {
        const env = peer.accept(m);
        if (!env) return;
        if (env.body?.$case !== 'snapshot') {
          peer.refuse({
            code: grpc.status.INVALID_ARGUMENT,
            problem: `a ${env.body?.$case ?? 'message without a body'} on a snapshot call`,
          });
          return;
        }
        if (!transfer) {
          const begun = o.inbox.begin(peer.from!, () =>
            peer.refuse({
              code: grpc.status.DEADLINE_EXCEEDED,
              problem: `no snapshot chunk for ${o.inbox.limits.idleMs / 1000} s`,
            }),
          );
          if (typeof begun === 'string') {
            peer.refuse({ code: grpc.status.RESOURCE_EXHAUSTED, problem: begun });
            return;
          }
          transfer = begun;
        }
        const chunk = env.body.value;
        const refused = transfer.append(chunk.offset, chunk.data, chunk.totalSize);
        if (refused) {
          peer.refuse(refused);
          return;
        }
        if (chunk.done) finish(env, chunk.totalSize);
      });
      call.on('end', () => peer.refuse({ code: grpc.status.INVALID_ARGUMENT, problem: 'the snapshot ended early' }));

      function finish(env: PeerEnvelope, totalSize: number): void {
        const done = transfer!.finish(totalSize);
        transfer = undefined;
        if (typeof done === 'string') {
          peer.refuse({ code: grpc.status.INVALID_ARGUMENT, problem: done });
          return;
        }
        const header = readSnapshotHeader(env);
        const problem = header.ok ? o.checkSnapshot(done.path) : header.problem;
        if (!header.ok || problem) {
          done.discard();
          peer.refuse({ code: grpc.status.INVALID_ARGUMENT, problem: `the snapshot would not install: ${problem}` });
          return;
        }
        o.deliver(header.message, env.fromAddress, done);
        peer.reply({});
      }
    },
  };
}
