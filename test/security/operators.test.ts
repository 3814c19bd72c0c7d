/**
 * Only operators operate: every call that changes the cluster or copies it out
 * (ForceLeader, AddReplica, RemoveReplica, TransferLeader, SaveSnapshot)
 * against a real replica, with no credentials,
 * wrong ones, a chat user's session token, and an operator's; in plaintext and
 * over TLS with and without client certificates (an operator's, a user's,
 * another replica's, another cluster's operator). And chat-ops says which.
 */
import * as grpc from '@grpc/grpc-js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChatServiceClient } from '../../src/gen/chat/v1/chat.js';
import { ClusterServiceClient } from '../../src/gen/chat/v1/cluster.js';
import { requireBuiltOps, runBuiltOps } from '../ops/built-cli.js';
import { issue, makeTestPki, operatorSan, replicaSan, type TestCertificate, type TestPki } from '../support/certs.js';
import { startTestServer, type TestServer } from '../support/in-process-server.js';

const ADMIN_TOKEN = 'an-admin-token-for-this-test-only';

let dir: string;
let pki: TestPki;
let plain: TestServer;
let tls: TestServer;
let tokenFile: string;
const certs: Record<string, TestCertificate> = {};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'chat-operators-'));
  pki = makeTestPki(dir, ['A']);
  certs.operator = issue(pki, 'operator', [operatorSan('ops')]);
  certs.user = issue(pki, 'user', ['DNS:alice.example']);
  certs.replica = issue(pki, 'replica-b', [replicaSan('B')]);
  certs.otherCluster = issue(pki, 'other-cluster', [operatorSan('ops', 'other')]);
  tokenFile = join(dir, 'admin-token');
  writeFileSync(tokenFile, ADMIN_TOKEN, { mode: 0o600 });
  plain = await startTestServer({ adminTokenFile: tokenFile });
  tls = await startTestServer({
    adminTokenFile: tokenFile,
    tlsCert: pki.certPath,
    tlsKey: pki.keyPath,
    tlsCa: pki.caPath,
  });
});

afterAll(async () => {
  await plain?.stop();
  await tls?.stop();
  rmSync(dir, { recursive: true, force: true });
});

type Outcome = grpc.status;

/** The status of each cluster-changing call with these credentials (OK when it went through). */
async function outcomes(
  address: string,
  credentials: grpc.ChannelCredentials,
  token: string | undefined,
): Promise<Record<string, Outcome>> {
  const client = new ClusterServiceClient(address, credentials);
  const md = new grpc.Metadata();
  if (token !== undefined) md.set('authorization', `Bearer ${token}`);
  const code = (run: (cb: (err: grpc.ServiceError | null) => void) => void) =>
    new Promise<Outcome>((resolve) => run((err) => resolve(err?.code ?? grpc.status.OK)));
  const options = () => ({ deadline: Date.now() + 5_000 });
  try {
    return {
      ForceLeader: await code((cb) => client.forceLeader({ acceptDataLoss: true }, md, options(), cb)),
      AddReplica: await code((cb) =>
        client.addReplica({ id: 'D', address: '127.0.0.1:1', peerAddress: '' }, md, options(), cb),
      ),
      RemoveReplica: await code((cb) => client.removeReplica({ id: 'Z' }, md, options(), cb)),
      TransferLeader: await code((cb) => client.transferLeader({ targetId: '' }, md, options(), cb)),
      SaveSnapshot: await code((cb) => {
        const stream = client.saveSnapshot({}, md, options());
        stream.on('data', () => undefined);
        stream.on('error', (err: grpc.ServiceError) => cb(err));
        stream.on('end', () => cb(null));
      }),
    };
  } finally {
    client.close();
  }
}

/** Every call refused with `code`. */
function refusedWith(code: grpc.status): Record<string, Outcome> {
  return { ForceLeader: code, AddReplica: code, RemoveReplica: code, TransferLeader: code, SaveSnapshot: code };
}

/**
 * Past the operator check, each call meets the replica's own objections (it leads already, has no peers, no replica Z,
 * no one to hand over to) or, for a backup, goes through.
 */
const AUTHORIZED = {
  ForceLeader: grpc.status.FAILED_PRECONDITION,
  AddReplica: grpc.status.FAILED_PRECONDITION,
  RemoveReplica: grpc.status.NOT_FOUND,
  TransferLeader: grpc.status.FAILED_PRECONDITION,
  SaveSnapshot: grpc.status.OK,
};

async function chatSessionToken(address: string, credentials: grpc.ChannelCredentials): Promise<string> {
  const chat = new ChatServiceClient(address, credentials);
  const unary = <T>(run: (cb: (err: grpc.ServiceError | null, res?: T) => void) => void) =>
    new Promise<T>((resolve, reject) => run((err, res) => (err ? reject(err) : resolve(res!))));
  try {
    await unary((cb) =>
      chat.createAccount({ username: 'mallory', password: 'mallory-password', idempotencyKey: 'm1' }, cb),
    );
    const login = await unary<{ token: string }>((cb) =>
      chat.login({ username: 'mallory', password: 'mallory-password', idempotencyKey: '' }, cb),
    );
    return login.token;
  } finally {
    chat.close();
  }
}

describe('in plaintext', () => {
  const insecure = grpc.credentials.createInsecure();

  it('refuses every cluster-changing call without credentials, with a wrong token or a chat session; the admin token passes', async () => {
    const session = await chatSessionToken(plain.address, insecure);
    expect(await outcomes(plain.address, insecure, undefined)).toEqual(refusedWith(grpc.status.UNAUTHENTICATED));
    expect(await outcomes(plain.address, insecure, 'not-the-admin-token-at-all')).toEqual(
      refusedWith(grpc.status.UNAUTHENTICATED),
    );
    expect(await outcomes(plain.address, insecure, session)).toEqual(refusedWith(grpc.status.PERMISSION_DENIED));
    expect(await outcomes(plain.address, insecure, ADMIN_TOKEN)).toEqual(AUTHORIZED);
    // Logged, once per caller address every few seconds however often it tries.
    const refusals = plain.logs.filter((l) => l.event === 'operator.refused');
    expect(refusals.length).toBeGreaterThanOrEqual(1);
    expect(refusals.length).toBeLessThan(9);
    // The status stays open to anyone: reading is not operating.
    const cluster = new ClusterServiceClient(plain.address, insecure);
    const status = await new Promise<grpc.ServiceError | null>((resolve) =>
      cluster.getStatus({}, (err) => resolve(err)),
    );
    cluster.close();
    expect(status).toBeNull();
  });

  it('makes chat-ops say what is missing and exit 5, and go through with the token', async () => {
    requireBuiltOps();
    const servers = [plain.address];
    const without = await runBuiltOps(['remove-replica', 'Z', '--yes'], {
      servers,
      env: { CHAT_ADMIN_TOKEN: '', CHAT_LOCAL_DATA: dir },
    });
    expect(without.code).toBe(5);
    expect(without.stderr).toMatch(/needs operator credentials/);
    const wrong = await runBuiltOps(['remove-replica', 'A', '--yes'], {
      servers,
      env: { CHAT_ADMIN_TOKEN: 'a-wrong-token-long-enough' },
    });
    expect(wrong.code).toBe(5);
    expect(wrong.stderr).toMatch(/UNAUTHENTICATED/);
    const right = await runBuiltOps(['--admin-token-file', tokenFile, 'force-leader', plain.address, '--yes'], {
      servers,
    });
    // Past the credentials: the cluster has a leader, so there is nothing to force.
    expect(right.code).toBe(1);
    expect(right.stderr).toMatch(/force-leader is only for a total outage/);
  });
});

describe('over TLS', () => {
  const withCert = (c: TestCertificate | undefined) =>
    grpc.credentials.createSsl(pki.ca, c?.key ?? null, c?.cert ?? null);

  it('refuses a client without a certificate or token, and certificates that do not name an operator of this cluster', async () => {
    expect(await outcomes(tls.address, withCert(undefined), undefined)).toEqual(
      refusedWith(grpc.status.UNAUTHENTICATED),
    );
    expect(await outcomes(tls.address, withCert(certs.user), undefined)).toEqual(
      refusedWith(grpc.status.PERMISSION_DENIED),
    );
    expect(await outcomes(tls.address, withCert(certs.replica), undefined)).toEqual(
      refusedWith(grpc.status.PERMISSION_DENIED),
    );
    expect(await outcomes(tls.address, withCert(certs.otherCluster), undefined)).toEqual(
      refusedWith(grpc.status.PERMISSION_DENIED),
    );
    const session = await chatSessionToken(tls.address, withCert(undefined));
    expect(await outcomes(tls.address, withCert(certs.user), session)).toEqual(
      refusedWith(grpc.status.PERMISSION_DENIED),
    );
  });

  it('lets an operator certificate through, and the admin token without a certificate', async () => {
    expect(await outcomes(tls.address, withCert(certs.operator), undefined)).toEqual(AUTHORIZED);
    expect(await outcomes(tls.address, withCert(undefined), ADMIN_TOKEN)).toEqual(AUTHORIZED);
  });
});
