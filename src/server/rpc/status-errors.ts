/**
 * gRPC statuses of the chat service: the error type handlers throw, and how
 * replica and chat-state failures become statuses a client can act on.
 */
import * as grpc from '@grpc/grpc-js';
import type { ChatErrorCode } from '../chat/operations.js';
import type { NotLeaderError } from './replica-handle.js';

/** Trailing metadata keys a refusing replica sets to name the leader. */
export const LEADER_ID_KEY = 'x-leader-id';
export const LEADER_ADDRESS_KEY = 'x-leader-address';

/** A failure with the status the client should see. Its message goes to the client as the status details. */
export class RpcError extends Error {
  constructor(
    readonly code: grpc.status,
    message: string,
    readonly metadata?: grpc.Metadata,
  ) {
    super(message);
    this.name = 'RpcError';
  }
}

const CHAT_CODES: Record<ChatErrorCode, grpc.status> = {
  INVALID_ARGUMENT: grpc.status.INVALID_ARGUMENT,
  NOT_FOUND: grpc.status.NOT_FOUND,
  ALREADY_EXISTS: grpc.status.ALREADY_EXISTS,
  FAILED_PRECONDITION: grpc.status.FAILED_PRECONDITION,
  PERMISSION_DENIED: grpc.status.PERMISSION_DENIED,
  UNAUTHENTICATED: grpc.status.UNAUTHENTICATED,
  RESOURCE_EXHAUSTED: grpc.status.RESOURCE_EXHAUSTED,
};

export function invalidArgument(message: string): RpcError {
  return new RpcError(grpc.status.INVALID_ARGUMENT, message);
}

export function unauthenticated(message: string): RpcError {
  return new RpcError(grpc.status.UNAUTHENTICATED, message);
}

/** A chat-state refusal, with the status of the same name. */
export function fromChatError(code: ChatErrorCode, message: string): RpcError {
  return new RpcError(CHAT_CODES[code] ?? grpc.status.INTERNAL, message);
}

/** UNAVAILABLE naming the leader (in the message and the trailing metadata) when this replica knows it. */
export function notLeaderStatus(replicaId: string, err: NotLeaderError): RpcError {
  const metadata = new grpc.Metadata();
  const leader = err.leader;
  if (leader && leader.id !== replicaId) {
    metadata.set(LEADER_ID_KEY, leader.id);
    if (leader.address) metadata.set(LEADER_ADDRESS_KEY, leader.address);
    const where = leader.address ? `try ${leader.address}` : `the leader is ${leader.id}`;
    return new RpcError(grpc.status.UNAVAILABLE, `replica ${replicaId} is not the leader; ${where}`, metadata);
  }
  return new RpcError(
    grpc.status.UNAVAILABLE,
    err.message || `replica ${replicaId} is not the leader; retry shortly`,
    metadata,
  );
}

/** The status object grpc-js sends for an RpcError. */
export function toStatusObject(err: RpcError): grpc.ServiceError {
  const out = Object.assign(new Error(err.message), {
    code: err.code,
    details: err.message,
    metadata: err.metadata ?? new grpc.Metadata(),
  });
  return out;
}
