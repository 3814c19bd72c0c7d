/**
 * Before a leader adds a replica, it asks that replica who it is, over the
 * authenticated peer plane (Identify): it must prove it is replica `id` of
 * this cluster (the cluster secret or a certificate naming it), run in the
 * cluster's mode and have no configuration of its own (a fresh data directory
 * started with --join). A typo in an address, a replica of another cluster or
 * a stranger's process is refused up front instead of becoming a learner that
 * can never catch up, or one that should never have been let in.
 */
import * as grpc from '@grpc/grpc-js';
import type { ReplicaIdentity } from '../../gen/chat/v1/replication.js';
import type { PeerAuth } from './peer-auth.js';
import { identifyPeer, PeerRefusedError } from './peer-transport.js';
import { RpcError } from './status-errors.js';

const IDENTIFY_DEADLINE_MS = 3_000;

export type JoinerCheck = (id: string, address: string, peerAddress: string) => Promise<void>;

export function joinerCheck(auth: PeerAuth, mode: string): JoinerCheck {
  return async (id, address, peerAddress) => {
    if (!auth.canTalkToPeers) {
      throw refuse(
        `this replica has no peer credentials, so it cannot check or talk to ${id}: restart the cluster's replicas with --cluster-secret-file (or certificates) before adding replicas`,
      );
    }
    let identity: ReplicaIdentity;
    try {
      identity = await identifyPeer(auth, id, peerAddress, IDENTIFY_DEADLINE_MS);
    } catch (err) {
      const why = (err as grpc.ServiceError).details || (err as Error).message;
      if (
        err instanceof PeerRefusedError ||
        (err as grpc.ServiceError).code === grpc.status.UNAUTHENTICATED ||
        (err as grpc.ServiceError).code === grpc.status.PERMISSION_DENIED
      ) {
        throw refuse(
          `${id} at ${peerAddress} could not prove it is replica ${id} of this cluster (${why}); it needs the cluster's secret or a certificate naming it${auth.wire !== auth.cluster ? `, and this restored cluster's id (an empty data directory and --cluster-id ${auth.wire.slice(auth.cluster.length + 1)})` : ''}`,
        );
      }
      if ((err as grpc.ServiceError).code === grpc.status.FAILED_PRECONDITION)
        throw refuse(`the replica at ${peerAddress} answers: ${why}`);
      throw refuse(
        `cannot reach ${id}'s peer listener at ${peerAddress} (${why}); start it first: chat-server --id ${id} --listen ${address} --peer-listen ${peerAddress} --join, with the cluster's --cluster-secret-file or certificates`,
      );
    }
    if (identity.id !== id) throw refuse(`the replica at ${peerAddress} is ${identity.id}, not ${id}`);
    if (identity.cluster !== auth.cluster)
      throw refuse(
        `${id} belongs to cluster "${identity.cluster}", not "${auth.cluster}"; restart it with --cluster-name ${auth.cluster}`,
      );
    if (identity.mode !== mode)
      throw refuse(
        `${id} runs in ${identity.mode} mode, but this cluster is in ${mode} mode; restart it with --mode ${mode}`,
      );
    if (identity.members > 0) {
      throw refuse(
        `${id} already has a configuration (${identity.members} replicas); a replica joins with an empty data directory and --join`,
      );
    }
  };
}

function refuse(message: string): RpcError {
  return new RpcError(grpc.status.FAILED_PRECONDITION, message);
}
