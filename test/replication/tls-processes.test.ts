/**
 * Three replicas with TLS on every channel and client certificates required:
 * they elect and replicate over mutual TLS, a client with the CA and a
 * certificate chats and survives a failover, and a plaintext client is refused.
 */
import * as grpc from '@grpc/grpc-js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { ChatClient, type ChatError } from '../../src/client/index.js';
import { makeTestPki } from '../support/certs.js';
import { startCluster, waitUntil, type TestCluster } from '../support/cluster.js';

const dir = mkdtempSync(join(tmpdir(), 'chat-tls-cluster-'));
let cluster: TestCluster | undefined;
const clients: ChatClient[] = [];
afterAll(async () => {
  for (const c of clients) c.close();
  await cluster?.stop();
  rmSync(dir, { recursive: true, force: true });
});

it('replicates over mutual TLS and serves only TLS clients with a certificate', async () => {
  const pki = makeTestPki(dir);
  cluster = await startCluster({
    replicas: 3,
    args: ['--tls-cert', pki.certPath, '--tls-key', pki.keyPath, '--tls-ca', pki.caPath, '--tls-require-client-cert'],
    credentials: grpc.credentials.createSsl(pki.ca, pki.key, pki.cert),
  });
  const tls = { ca: pki.ca, cert: pki.cert, key: pki.key };
  const ann = new ChatClient({ servers: cluster.addresses, tls });
  const ben = new ChatClient({ servers: cluster.addresses, tls });
  const plain = new ChatClient({ servers: cluster.addresses, retryBudgetMs: 500 });
  clients.push(ann, ben, plain);
  await ann.createAccount('ann', 'ann-password');
  await ben.createAccount('ben', 'ben-password');
  await ann.login('ann', 'ann-password');
  await ben.login('ben', 'ben-password');
  const got: string[] = [];
  ben.subscribe({ onMessage: (m) => got.push(m.text) });
  await ann.sendMessage('ben', 'over tls');
  await cluster.kill(await cluster.waitForLeader());
  await ann.sendMessage('ben', 'after failover');
  await waitUntil('both messages to arrive', 10_000, () => (got.length === 2 ? got : undefined));
  expect(got).toEqual(['over tls', 'after failover']);
  const err = (await plain.createAccount('eve', 'eve-password').catch((e: unknown) => e)) as ChatError;
  expect(err.code).toBe('UNAVAILABLE');
});
