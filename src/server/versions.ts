/**
 * The versions a replica speaks besides its build: the peer protocol (what
 * replicas exchange, proto/chat/v1/replication.proto) and the database schema.
 * Replicas state theirs in every peer message (senderStamp); the status call
 * and the metrics report them.
 */
import { CLIENT_SPEAKS } from '../version/build-info.js';
import { REPLICA_MIGRATIONS } from './replica-database.js';

/**
 * The peer protocol. 1: replicas before versions were exchanged (they send
 * none, which reads as 0). 2: the sender's build in every message, and
 * leadership transfer (TimeoutNow and transfer campaigns). 3: the sender's
 * lineage (force) and data directory incarnation in every message, and both
 * in configurations (a replica of 2 sends none: lineage 0, incarnation
 * unknown).
 */
export const PEER_PROTOCOL_VERSION = 3;

/** The first peer protocol that knows leadership transfer. */
export const TRANSFER_PROTOCOL_VERSION = 2;

/** The newest database schema this build writes (the highest migration). */
export const SCHEMA_VERSION = Math.max(...REPLICA_MIGRATIONS.map((m) => m.version));

/** What chat-server --version lists after the version and commit. */
export function serverSpeaks(): string[] {
  return [`peer protocol ${PEER_PROTOCOL_VERSION}`, `database schema ${SCHEMA_VERSION}`, ...CLIENT_SPEAKS];
}
