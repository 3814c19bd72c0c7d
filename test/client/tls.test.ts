/** The client library over TLS: it trusts the given CA, and a plaintext client cannot talk to a TLS server. */
import * as grpc from '@grpc/grpc-js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ChatClient, type ChatError } from '../../src/client/index.js';
import { makeTestPki } from '../support/certs.js';
import { LocalCluster, startLocalServer, type LocalServer } from '../support/local-replica.js';

let dir: string;
let cluster: LocalCluster;
let server: LocalServer;
let ca: Buffer;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'chat-tls-'));
  const pki = makeTestPki(dir);
  ca = pki.ca;
  const credentials = grpc.ServerCredentials.createSsl(null, [{ private_key: pki.key, cert_chain: pki.cert }], false);
  cluster = new LocalCluster(['A']);
  server = await startLocalServer(cluster.replica('A'), { credentials });
});

afterAll(async () => {
  await server?.stop();
  cluster?.close();
  rmSync(dir, { recursive: true, force: true });
});

it('talks to a TLS server with the CA from the options, and not in plaintext', async () => {
  const secure = new ChatClient({ servers: [server.address], tls: { ca } });
  const plain = new ChatClient({ servers: [server.address], retryBudgetMs: 300 });
  try {
    await secure.createAccount('tess', 'tess-password');
    expect((await secure.login('tess', 'tess-password')).username).toBe('tess');
    const err = (await plain.createAccount('pete', 'pete-password').catch((e: unknown) => e)) as ChatError;
    expect(err.code).toBe('UNAVAILABLE');
    expect(cluster.chat.accountByName('pete')).toBeUndefined();
  } finally {
    secure.close();
    plain.close();
  }
});
