/**
 * Stock gRPC tooling works against chat-server: the standard health service
 * (SERVING overall; the chat service SERVING only on the leader; the replication
 * service SERVING while the replica is not stuck) and server
 * reflection listing our services.
 */
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { protoPath as healthProto } from 'grpc-health-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startCluster, type TestCluster } from '../support/cluster.js';

const require = createRequire(import.meta.url);
const reflectionProto = join(
  dirname(require.resolve('@grpc/reflection')),
  '../proto/grpc/reflection/v1/reflection.proto',
);

type Ctor = new (address: string, creds: grpc.ChannelCredentials) => grpc.Client;
const loaded = grpc.loadPackageDefinition(loadSync([healthProto, reflectionProto], { keepCase: true, enums: String }));
const pkg = (path: string) =>
  path.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], loaded) as Ctor;
const HealthClient = pkg('grpc.health.v1.Health');
const ReflectionClient = pkg('grpc.reflection.v1.ServerReflection');

let cluster: TestCluster;
beforeAll(async () => {
  cluster = await startCluster({ replicas: 3 });
});
afterAll(async () => cluster?.stop());

function healthOf(address: string, service: string): Promise<string> {
  const client = new HealthClient(address, grpc.credentials.createInsecure()) as grpc.Client & {
    check(
      req: { service: string },
      opts: grpc.CallOptions,
      cb: (err: grpc.ServiceError | null, res: { status: string }) => void,
    ): void;
  };
  return new Promise((resolve, reject) =>
    client.check({ service }, { deadline: Date.now() + 2_000 }, (err, res) => {
      client.close();
      if (err) reject(err);
      else resolve(res.status);
    }),
  );
}

it('answers the standard health check: the server everywhere, the chat service on the leader only', async () => {
  const leader = await cluster.waitForLeader();
  for (const id of cluster.ids) {
    expect(await healthOf(cluster.addressOf(id), '')).toBe('SERVING');
    expect(await healthOf(cluster.addressOf(id), 'chat.v1.ChatService')).toBe(
      id === leader ? 'SERVING' : 'NOT_SERVING',
    );
    // Its own readiness: not stuck once it follows the leader (readiness.test.ts has the states that are stuck). A
    // replica still waiting for the others to start reports NOT_SERVING until it is checked again (every 250 ms).
    const deadline = Date.now() + 5_000;
    let readiness = await healthOf(cluster.addressOf(id), 'chat.v1.ReplicationService');
    while (readiness !== 'SERVING' && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      readiness = await healthOf(cluster.addressOf(id), 'chat.v1.ReplicationService');
    }
    expect(readiness).toBe('SERVING');
  }
});

it('lists its services through server reflection', async () => {
  const client = new ReflectionClient(cluster.addresses[0]!, grpc.credentials.createInsecure()) as grpc.Client & {
    ServerReflectionInfo(
      opts: grpc.CallOptions,
    ): grpc.ClientDuplexStream<{ list_services: string }, { list_services_response?: { service: { name: string }[] } }>;
  };
  const names = await new Promise<string[]>((resolve, reject) => {
    const call = client.ServerReflectionInfo({ deadline: Date.now() + 2_000 });
    call.on('data', (res) => {
      resolve((res.list_services_response?.service ?? []).map((s: { name: string }) => s.name));
      call.end();
    });
    call.on('error', reject);
    call.write({ list_services: '' });
  });
  client.close();
  expect(names).toEqual(
    expect.arrayContaining(['chat.v1.ChatService', 'chat.v1.ClusterService', 'grpc.health.v1.Health']),
  );
});
