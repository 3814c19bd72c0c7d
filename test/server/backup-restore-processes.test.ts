/**
 * Backup and restore with real processes: `chat-ops snapshot save` under
 * chat load takes a verified backup from the leader; `chat-server restore`
 * builds three data directories of a new cluster from it, which elects a
 * leader and holds exactly the backup's state (equal digests) with every
 * message acknowledged before the backup; and replicas of the restored cluster
 * and of the original refuse each other's messages.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { wholeConversation } from '../../bench/lib/history.js';
import { readBackupFile } from '../../src/backup/backup-file.js';
import { ChatClient, ClusterClient } from '../../src/client/index.js';
import { ProcessCluster } from '../../src/launch/process-cluster/process-cluster.js';
import { ChatState } from '../../src/server/chat/chat-state.js';
import { openMemoryReplicaDatabase } from '../../src/server/replica-database.js';
import { requireBuiltOps, runBuiltOps } from '../ops/built-cli.js';
import { freePort, SERVER_MAIN, startCluster, waitUntil, type TestCluster } from '../support/cluster.js';
import { Conversation } from '../support/conversation.js';
import { runProgram } from '../support/run-program.js';

let old: TestCluster;
let chat: Conversation;
let root: string;
const backup = () => join(root, 'backup.chat');

beforeAll(async () => {
  requireBuiltOps();
  root = mkdtempSync(join(tmpdir(), 'chat-restore-'));
  old = await startCluster();
  chat = new Conversation(old);
  await chat.addUser('ann');
  await chat.addUser('bob');
  chat.start();
  await chat.progress('before the backup', 20);
});
afterAll(async () => {
  await chat?.stop();
  chat?.close();
  await old?.stop();
  rmSync(root, { recursive: true, force: true });
});

interface Addresses {
  address: string;
  peerAddress: string;
}

/** A cluster file for replicas A, B, C at these client and peer addresses. */
function clusterFile(name: string, addresses: Addresses[]): string {
  const path = join(root, name);
  writeFileSync(path, JSON.stringify({ name: 'chat', replicas: replicasAt(addresses) }));
  return path;
}

function replicasAt(addresses: Addresses[]): { id: string; address: string; peerAddress: string }[] {
  return addresses.map((a, i) => ({ id: String.fromCharCode(65 + i), ...a }));
}

/** A new replica's client and peer addresses, on free ports. */
async function freeAddresses(): Promise<Addresses> {
  return { address: `127.0.0.1:${await freePort()}`, peerAddress: `127.0.0.1:${await freePort()}` };
}

/** Restored replicas run with the original cluster's secret (the worst case: only the cluster id tells them apart). */
const restoredArgs = () => ['--cluster-secret-file', old.secretFile, '--admin-token-file', old.adminTokenFile];

async function restore(id: string, file: string, dataDir: string): Promise<string> {
  const run = await runProgram(SERVER_MAIN, [
    'restore',
    backup(),
    '--data-dir',
    dataDir,
    '--id',
    id,
    '--cluster-file',
    file,
  ]);
  expect(run.code, run.stderr).toBe(0);
  return run.stdout;
}

let saved: { lastIndex: number; sha256: string; takenFrom: string };
let ackedBefore: number[];

describe('backup and restore', () => {
  it('chat-ops snapshot save takes a verified backup from the leader while chat goes on', async () => {
    const leader = await old.waitForLeader();
    const committedBefore = (await old.status(leader)).commitIndex;
    ackedBefore = chat.acked.map((m) => m.id);
    const withoutToken = await runBuiltOps(['snapshot', 'save', backup()], { servers: old.addresses });
    expect(withoutToken.code, withoutToken.stderr).toBe(5);
    const wrongToken = await runBuiltOps(['snapshot', 'save', backup()], {
      servers: old.addresses,
      env: { CHAT_ADMIN_TOKEN: 'not-the-admin-token-0123456789' },
    });
    expect(wrongToken.code, wrongToken.stderr).toBe(5);
    expect(wrongToken.stderr).toContain('UNAUTHENTICATED');
    expect(existsSync(backup())).toBe(false);
    const run = await runBuiltOps(['snapshot', 'save', backup(), '--json'], {
      servers: old.addresses,
      env: { CHAT_ADMIN_TOKEN_FILE: old.adminTokenFile },
    });
    expect(run.code, run.stderr).toBe(0);
    saved = JSON.parse(run.stdout) as typeof saved;
    expect(saved.takenFrom).toBe(leader);
    expect(saved.lastIndex).toBeGreaterThanOrEqual(committedBefore);
    expect(existsSync(`${backup()}.partial`)).toBe(false);
    expect(readBackupFile(backup()).header).toMatchObject({
      cluster: 'chat',
      mode: 'in-sync',
      lastIndex: saved.lastIndex,
      sha256: saved.sha256,
    });
    await chat.progress('after the backup', 10);
    await chat.stop();
    expect(chat.failures).toBe(0);

    // Saving over it needs --force; a damaged file is refused by restore.
    const again = await runBuiltOps(['snapshot', 'save', backup()], {
      servers: old.addresses,
      env: { CHAT_ADMIN_TOKEN_FILE: old.adminTokenFile },
    });
    expect(again.code).toBe(2);
    const damaged = join(root, 'damaged.chat');
    const bytes = readFileSync(backup());
    bytes[bytes.length - 10] ^= 0xff;
    writeFileSync(damaged, bytes);
    const refused = await runProgram(SERVER_MAIN, [
      'restore',
      damaged,
      '--data-dir',
      join(root, 'never'),
      '--id',
      'A',
      '--peers',
      'B=127.0.0.1:1,C=127.0.0.1:2',
      '--listen',
      '127.0.0.1:3',
    ]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("is damaged: the state's SHA-256 is");
    expect(existsSync(join(root, 'never'))).toBe(false);
  });

  it('restores three replicas of a new cluster that elect a leader and hold exactly the saved state', async () => {
    const { data } = readBackupFile(backup());
    const db = openMemoryReplicaDatabase();
    const state = new ChatState(db);
    state.importState(data);
    const expected = state.digest();
    db.close();

    const members: Addresses[] = [];
    for (let i = 0; i < 3; i++) members.push(await freeAddresses());
    const addresses = members.map((m) => m.address);
    const file = clusterFile('restored.json', members);
    const dirs = Object.fromEntries(['A', 'B', 'C'].map((id) => [id, join(root, `restored-${id}`)]));
    for (const id of ['A', 'B', 'C']) expect(await restore(id, file, dirs[id]!)).toContain(`state digest ${expected}`);
    const refusedAgain = await runProgram(SERVER_MAIN, [
      'restore',
      backup(),
      '--data-dir',
      dirs.A!,
      '--id',
      'A',
      '--cluster-file',
      file,
    ]);
    expect(refusedAgain.code).toBe(2);
    expect(refusedAgain.stderr).toContain('is not empty');

    const restored = new ProcessCluster({
      serverMain: SERVER_MAIN,
      root,
      replicas: replicasAt(members),
      dataDirs: dirs,
      args: restoredArgs(),
    });
    const ops = new ClusterClient({ servers: addresses });
    const reader = new ChatClient({ servers: addresses, retryBudgetMs: 20_000 });
    try {
      restored.startAll();
      await restored.waitForLeader(30_000);
      // Each starts at the saved state; they agree again once each has applied the new leader's first entry too.
      const digests = await waitUntil('every restored replica to apply the same state', 20_000, async () => {
        const all = await Promise.all(addresses.map((a) => ops.stateDigest(a)));
        return all.every(
          (d) =>
            d.digest === all[0]!.digest && d.appliedIndex === all[0]!.appliedIndex && d.appliedIndex > saved.lastIndex,
        )
          ? all
          : undefined;
      });
      for (const d of digests) {
        expect(d.digest).toBe(expected);
        expect(d.appliedIndex).toBeGreaterThan(saved.lastIndex); // the new leader's first entry (its configuration) follows
      }
      const statuses = await Promise.all(addresses.map((a) => ops.status(a)));
      expect(new Set(statuses.map((s) => s.epoch)).size).toBe(1);
      expect(statuses.every((s) => s.logStartIndex === saved.lastIndex + 1)).toBe(true);

      // Every message acknowledged before the backup was asked for is there, readable with the same password.
      await reader.login('ann', 'ann-password');
      const stored = new Set((await wholeConversation(reader, 'bob')).map((m) => m.id));
      expect(ackedBefore.filter((id) => !stored.has(id))).toEqual([]);
    } finally {
      reader.close();
      ops.close();
      await restored.killAll();
      restored.close();
    }
  });

  it('a restored cluster and the one its backup came from refuse each other', async () => {
    // The danger: a restored cluster configured with an address of the original cluster. Its messages are refused there.
    const oldLeader = await old.waitForLeader();
    const oldEpoch = (await old.status(oldLeader)).epoch;
    // The victim keeps its own id in the restored cluster: same name, same id, same secret; only the cluster id differs.
    const victim = old.ids.find((id) => id !== oldLeader)!;
    const ids = ['A', 'B', 'C'];
    const members = await Promise.all(
      ids.map(async (id) =>
        id === victim
          ? { address: old.addressOf(victim), peerAddress: old.peerAddressOf(victim) }
          : await freeAddresses(),
      ),
    );
    const file = clusterFile('crossed.json', members);
    const restoredIds = ids.filter((id) => id !== victim);
    const dirs = Object.fromEntries(restoredIds.map((id) => [id, join(root, `crossed-${id}`)]));
    const out = await restore(restoredIds[0]!, file, dirs[restoredIds[0]!]!);
    await restore(restoredIds[1]!, file, dirs[restoredIds[1]!]!);
    const clusterId = /cluster id ([0-9a-f]+)/.exec(out)![1]!;
    const crossed = new ProcessCluster({
      serverMain: SERVER_MAIN,
      root,
      replicas: replicasAt(members),
      dataDirs: dirs,
      args: restoredArgs(),
    });
    const first = restoredIds[0]!;
    try {
      for (const id of restoredIds) crossed.start(id);
      for (const id of restoredIds) await crossed.waitForAnswer(id);
      // The peer handshake proves the cluster's name and id: with the same secret, the original's replica fails the restored one's check.
      const refusal = await waitUntil(`the restored ${first} to refuse ${victim} of the original cluster`, 15_000, () =>
        readFileSync(crossed.logFile(first), 'utf8')
          .split('\n')
          .find((l) => l.includes('"event":"peer.unauthenticated"') && l.includes(`"peer":"${victim}"`)),
      );
      expect(refusal).toContain(`not a replica of cluster \\"chat/${clusterId}\\"`);
      // The restored pair waits for its third member; the original cluster goes on, same leader, same epoch.
      const status = await crossed.status(first);
      expect(status.leaderId).toBe('');
      expect(status.clusterId).toBe(clusterId);
      expect(await old.waitForLeader()).toBe(oldLeader);
      expect((await old.status(oldLeader)).epoch).toBe(oldEpoch);
    } finally {
      await crossed.killAll();
      crossed.close();
    }
  });
});
