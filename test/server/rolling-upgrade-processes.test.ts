/**
 * A rolling upgrade as the README describes it: replicas of an older build and of
 * this build run together while each in turn is stopped (SIGTERM, a leader hands
 * over) and started on the new build. chat-ops status names the mixed versions
 * meanwhile, chat goes on throughout, and the replicas end with equal states.
 *
 * The "old build" is this build's dist/ copied beside a package.json of another
 * version and a build-info.json of another commit (with proto/ and node_modules): what the replicas report and
 * compare, without a second checkout to compile.
 */
import { cpSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireBuiltOps, runBuiltOps } from '../ops/built-cli.js';
import { SERVER_MAIN, startCluster, waitUntil, type TestCluster } from '../support/cluster.js';
import { Conversation, expectEqualStates } from '../support/conversation.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const OLD_VERSION = '0.0.9';
const OLD_COMMIT = '0bd0bd0bd0bd0bd0bd0bd0bd0bd0bd0bd0bd0bd0';

let root: string;
let oldMain: string;
/** The replicas that run the old build at their next start. */
const onOldBuild = new Set(['A', 'B', 'C']);
let cluster: TestCluster | undefined;
let chat: Conversation | undefined;

beforeAll(() => {
  requireBuiltOps();
  root = mkdtempSync(join(tmpdir(), 'chat-upgrade-'));
  const old = join(root, 'old');
  cpSync(join(REPO, 'dist'), join(old, 'dist'), { recursive: true });
  writeFileSync(join(old, 'dist', 'build-info.json'), JSON.stringify({ commit: OLD_COMMIT }));
  writeFileSync(
    join(old, 'package.json'),
    JSON.stringify({ name: 'chat-cluster', version: OLD_VERSION, type: 'module' }),
  );
  cpSync(join(REPO, 'proto'), join(old, 'proto'), { recursive: true }); // served by gRPC reflection
  symlinkSync(join(REPO, 'node_modules'), join(old, 'node_modules'), 'dir');
  oldMain = join(old, 'dist', 'server', 'main.js');
});

afterAll(async () => {
  await chat?.stop();
  chat?.close();
  await cluster?.stop();
  rmSync(root, { recursive: true, force: true });
});

/** As the README's step 3: waits until chat-ops status exits 0 (one leader, every replica up and caught up); its report. */
async function healthyStatus(c: TestCluster): Promise<string> {
  let last = '';
  return waitUntil('chat-ops status to report a healthy cluster', 30_000, async () => {
    const run = await runBuiltOps(['status'], { servers: c.addresses });
    last = run.stdout;
    return run.code === 0 ? run.stdout : undefined;
  }).catch((err: Error) => {
    throw new Error(`${err.message}\n${last}`);
  });
}

describe('rolling upgrade', () => {
  it('runs old and new builds together, replica by replica, with chat going on and equal states at the end', async () => {
    cluster = await startCluster({
      command: (id, argv) => (onOldBuild.has(id) ? argv.map((a) => (a === SERVER_MAIN ? oldMain : a)) : argv),
    });
    const c = cluster;
    chat = new Conversation(c);
    await chat.addUser('ann');
    await chat.addUser('bob');
    chat.start();
    await chat.progress('on the old build');
    expect(await healthyStatus(c)).not.toContain('mixed versions');

    for (const id of c.ids) {
      await c.kill(id, 'SIGTERM');
      onOldBuild.delete(id);
      await c.restart(id);
      await chat.progress(`with ${id} upgraded`);
      // The next replica only once this one is back in step (README, step 3).
      const status = await healthyStatus(c);
      // Mixed after the first replica, one build again after the last.
      if (onOldBuild.size === c.ids.length - 1) {
        expect(status).toContain(
          `note: mixed versions: ${[...onOldBuild].sort().join(', ')} run ${OLD_VERSION} (commit ${OLD_COMMIT.slice(0, 7)}, peer protocol`,
        );
        expect(status).toMatch(new RegExp(`; ${id} runs \\S+ \\(commit`));
      }
      if (onOldBuild.size === 0) expect(status).not.toContain('mixed versions');
    }
    await chat.stop();
    await chat.verifyStored();
    await expectEqualStates(c);
  });
});
