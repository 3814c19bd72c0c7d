/**
 * Before a leader adds a replica, it asks that replica who it is: reachable at
 * the address given, the id given, the cluster's name and mode, and no configuration of
 * its own (a fresh data directory started with --join). A typo in an address
 * or a replica of another cluster is refused up front instead of becoming a
 * learner that can never catch up.
 */
import * as grpc from '@grpc/grpc-js';
import { ClusterServiceClient, type ReplicaStatus } from '../../gen/chat/v1/cluster.js';
import { CHANNEL_OPTIONS } from './peer-transport.js';
import { RpcError } from './status-errors.js';

const PROBE_DEADLINE_MS = 3_000;

export type JoinerCheck = (id: string, address: string) => Promise<void>;

export function joinerCheck(cluster: string, clusterId: string, mode: string, credentials: grpc.ChannelCredentials): JoinerCheck {
  return async (id, address) => {
    const client = new ClusterServiceClient(address, credentials, CHANNEL_OPTIONS);
    let status: ReplicaStatus;
    try {
      status = await new Promise<ReplicaStatus>((resolve, reject) => {
        client.getStatus({}, new grpc.Metadata(), { deadline: Date.now() + PROBE_DEADLINE_MS }, (err, res) => (err ? reject(err) : resolve(res)));
      });
    } catch (err) {
      throw refuse(`cannot reach ${id} at ${address} (${(err as grpc.ServiceError).details || (err as Error).message}); start it first: chat-server --id ${id} --listen ${address} --join`);
    } finally {
      client.close();
    }
    if (status.id !== id) throw refuse(`the replica at ${address} is ${status.id}, not ${id}`);
    if (status.clusterName !== cluster) throw refuse(`${id} belongs to cluster "${status.clusterName}", not "${cluster}"; restart it with --cluster-name ${cluster}`);
    if (status.clusterId !== clusterId) {
      throw refuse(clusterId === ''
        ? `${id} belongs to the restored cluster ${status.clusterId}, not to this one; give it an empty data directory`
        : `${id} is not of this restored cluster (id ${clusterId}); start it with an empty data directory and --cluster-id ${clusterId}`);
    }
    if (status.mode !== mode) throw refuse(`${id} runs in ${status.mode} mode, but this cluster is in ${mode} mode; restart it with --mode ${mode}`);
    if (status.members.length > 0) {
      throw refuse(`${id} already has a configuration (replicas ${status.members.map((m) => m.id).join(', ')}); a replica joins with an empty data directory and --join`);
    }
  };
}

function refuse(message: string): RpcError {
  return new RpcError(grpc.status.FAILED_PRECONDITION, message);
}
