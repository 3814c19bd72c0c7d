/** The client library over TLS: it trusts the given CA, and a plaintext client cannot talk to a TLS server. */
import * as grpc from '@grpc/grpc-js';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ChatClient, type ChatError } from '../../src/client/index.js';
import { LocalCluster, startLocalServer, type LocalServer } from '../support/local-replica.js';

let dir: string;
let cluster: LocalCluster;
let server: LocalServer;
let ca: Buffer;

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'chat-tls-'));
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=chat test CA');
  openssl('req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1');
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1\n');
  openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '1', '-extfile', 'san.ext');
  ca = readFileSync(join(dir, 'ca.pem'));
  const credentials = grpc.ServerCredentials.createSsl(null, [{ private_key: readFileSync(join(dir, 'server.key')), cert_chain: readFileSync(join(dir, 'server.pem')) }], false);
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
