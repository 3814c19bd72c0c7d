/**
 * A gRPC client of etcd's KV.Put and Maintenance.Status (bench/etcd/kv.proto),
 * on grpc-js with the chat client's channel options: the same transport and
 * the same protobuf work per call as the chat client, one channel to the
 * leader like the chat client's, and no retry layer of its own (the chat
 * client retries only on failure, which a healthy run does not see).
 */
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { join } from 'node:path';
import { CLIENT_CHANNEL_OPTIONS } from '../../src/client/channels.js';
import { REPO_ROOT } from './cluster.js';

export interface EtcdStatus {
  /** The member that answered and the leader it knows (0: none), as decimal strings. */
  memberId: string;
  leaderId: string;
  raftIndex: string;
}

interface PutRequest {
  key: Buffer;
  value: Buffer;
}

interface RawStatus {
  header?: { memberId?: string };
  leader?: string;
  raftIndex?: string;
}

interface KvClient extends grpc.Client {
  Put(request: PutRequest, options: grpc.CallOptions, callback: grpc.requestCallback<unknown>): grpc.ClientUnaryCall;
}

interface MaintenanceClient extends grpc.Client {
  Status(request: object, options: grpc.CallOptions, callback: grpc.requestCallback<RawStatus>): grpc.ClientUnaryCall;
}

type ClientCtor<T> = new (address: string, credentials: grpc.ChannelCredentials, options?: grpc.ChannelOptions) => T;

let services: { KV: ClientCtor<KvClient>; Maintenance: ClientCtor<MaintenanceClient> } | undefined;

function load(): NonNullable<typeof services> {
  if (!services) {
    const definition = loadSync(join(REPO_ROOT, 'bench/etcd/kv.proto'), { longs: String, defaults: true });
    const pkg = grpc.loadPackageDefinition(definition).etcdserverpb as unknown as {
      KV: ClientCtor<KvClient>;
      Maintenance: ClientCtor<MaintenanceClient>;
    };
    services = { KV: pkg.KV, Maintenance: pkg.Maintenance };
  }
  return services;
}

/** KV.Put on one etcd member: resolves when the member acknowledged the put (committed by a quorum and applied). */
export class EtcdKv {
  private readonly client: KvClient;

  constructor(address: string) {
    this.client = new (load().KV)(address, grpc.credentials.createInsecure(), CLIENT_CHANNEL_OPTIONS);
  }

  put(key: Buffer, value: Buffer, deadlineMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.client.Put({ key, value }, { deadline: Date.now() + deadlineMs }, (err) => (err ? reject(err) : resolve()));
    });
  }

  close(): void {
    this.client.close();
  }
}

/** Maintenance.Status of one member. */
export function etcdStatus(address: string, deadlineMs = 2_000): Promise<EtcdStatus> {
  const client = new (load().Maintenance)(address, grpc.credentials.createInsecure(), CLIENT_CHANNEL_OPTIONS);
  return new Promise<EtcdStatus>((resolve, reject) => {
    client.Status({}, { deadline: Date.now() + deadlineMs }, (err, res) => {
      client.close();
      if (err || !res) reject(err ?? new Error('no status'));
      else
        resolve({
          memberId: res.header?.memberId ?? '0',
          leaderId: res.leader ?? '0',
          raftIndex: res.raftIndex ?? '0',
        });
    });
  });
}
