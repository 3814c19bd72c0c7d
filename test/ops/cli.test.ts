/**
 * The built chat-ops (`node dist/ops/main.js`; `npm run build` first) against a
 * real three-replica cluster: the status exit codes scripts rely on, logs
 * filtering, and force-leader after a total outage.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type TestCluster } from '../support/cluster.js';
import { requireBuiltOps, runBuiltOps, type Run } from './built-cli.js';
import { waitFor } from './wait.js';

let cluster: TestCluster;

function chatOps(args: string[], options: { input?: string; env?: Record<string, string> } = {}): Promise<Run> {
  return runBuiltOps(args, {
    servers: cluster.addresses,
    ...options,
    env: { CHAT_ADMIN_TOKEN_FILE: cluster.adminTokenFile, ...options.env },
  });
}

interface StatusDoc {
  leader: { id: string; address: string; epoch: number } | null;
  healthy: boolean;
  serving: boolean;
  problems: string[];
  waitingFor: string[];
  replicas: { address: string; up: boolean; id?: string; role?: string }[];
}

async function statusJson(): Promise<{ code: number | null; doc: StatusDoc }> {
  const run = await chatOps(['status', '--json']);
  return { code: run.code, doc: JSON.parse(run.stdout) as StatusDoc };
}

/** Event lines: ISO time, replica, kind, epoch, message, details. */
function parseLines(stdout: string): { replica: string; kind: string; epoch: number; line: string }[] {
  return stdout
    .trim()
    .split('\n')
    .filter((l) => l !== '')
    .map((line) => {
      const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) (\S+) (\S+) e(\d+) /.exec(line);
      if (!m) throw new Error(`not an event line: ${line}`);
      return { replica: m[2]!, kind: m[3]!, epoch: Number(m[4]), line };
    });
}

beforeAll(async () => {
  requireBuiltOps();
  cluster = await startCluster();
});

afterAll(async () => {
  await cluster?.stop();
});

describe('chat-ops (built CLI) against a live cluster', () => {
  it('rejects bad usage with exit status 2', async () => {
    const [unknownOption, badAddress, noCommand, help, watch] = await Promise.all([
      chatOps(['status', '--no-such-option']),
      chatOps(['--servers', 'not-an-address', 'status']),
      chatOps([]),
      chatOps(['--help']),
      chatOps(['watch']),
    ]);
    expect(unknownOption.code).toBe(2);
    expect(badAddress.code).toBe(2);
    expect(badAddress.stderr).toContain('not-an-address');
    expect(noCommand.code).toBe(2);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(
      /Exit status:[\s\S]*0 {2}success[\s\S]*1 {2}status: serving but degraded[\s\S]*2 {2}usage error[\s\S]*5 {2}force-leader[\s\S]*6 {2}status: not serving/,
    );
    expect(watch.code).toBe(2);
    expect(watch.stderr).toContain('needs an interactive terminal');
  });

  it('status exits 0 while healthy and 1 (degraded, serving) once a replica is down; logs filter by replica and kind', async () => {
    const leader = await cluster.waitForLeader();
    const healthy = await statusJson();
    expect(healthy.code).toBe(0);
    expect(healthy.doc.healthy).toBe(true);
    expect(healthy.doc.leader?.id).toBe(leader);
    expect(healthy.doc.replicas.map((r) => [r.address, r.up])).toEqual(cluster.addresses.map((a) => [a, true]));

    const table = await chatOps(['status']);
    expect(table.code).toBe(0);
    expect(table.stdout).toContain(`leader ${leader}`);
    expect(table.stdout).toContain('healthy');

    const elections = await chatOps(['logs', '--replica', leader, '--kind', 'election']);
    expect(elections.code).toBe(0);
    const lines = parseLines(elections.stdout);
    expect(lines.some((l) => l.kind === 'election.won')).toBe(true);
    for (const l of lines) {
      expect(l.replica).toBe(leader);
      expect(l.kind.startsWith('election.')).toBe(true);
    }
    const exact = parseLines((await chatOps(['logs', '--kind', 'election.promised'])).stdout);
    expect(exact.length).toBeGreaterThan(0);
    expect(new Set(exact.map((l) => l.kind))).toEqual(new Set(['election.promised']));

    const victim = cluster.ids.find((id) => id !== leader)!;
    await cluster.kill(victim);
    const degraded = await statusJson();
    expect(degraded.code).toBe(1);
    expect(degraded.doc.healthy).toBe(false);
    expect(degraded.doc.serving).toBe(true);
    expect(degraded.doc.replicas.find((r) => r.address === cluster.addressOf(victim))?.id).toBe(victim);
    expect(degraded.doc.leader?.id).toBe(leader);
    expect(degraded.doc.replicas.find((r) => r.address === cluster.addressOf(victim))?.up).toBe(false);
    expect(degraded.doc.problems.join('\n')).toContain(cluster.addressOf(victim));
    const text = await chatOps(['status']);
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(/problem: .* is down/);

    // The leader drops the dead replica from the in-sync set; its own log file says so too.
    await waitFor(
      'the in-sync set to shrink',
      async () => {
        const isr = parseLines((await chatOps(['logs', '--kind', 'isr', '--replica', leader])).stdout);
        return isr.some((l) => l.kind === 'isr.shrink' && l.line.includes(victim)) || undefined;
      },
      15_000,
    );
    const fromFile = await chatOps(['logs', '--log-file', cluster.logFile(leader), '--kind', 'isr.shrink']);
    expect(fromFile.code).toBe(0);
    expect(parseLines(fromFile.stdout).map((l) => `${l.replica} ${l.kind}`)).toContain(`${leader} isr.shrink`);
  });

  it('force-leader after a total outage: refuses without the right confirmation, then forces with --yes', async () => {
    for (const id of cluster.ids) await cluster.kill(id);
    const survivor = cluster.ids[0]!;
    await cluster.restart(survivor);
    const outage = await waitFor(
      'the survivor to wait for the others',
      async () => {
        const s = await statusJson();
        return s.doc.waitingFor.length > 0 ? s : undefined;
      },
      15_000,
    );
    // Not serving (6): no leader, and the survivor waits for the others.
    expect(outage.code).toBe(6);
    expect(outage.doc.serving).toBe(false);
    expect(outage.doc.leader).toBeNull();

    const refused = await chatOps(['force-leader', cluster.addressOf(survivor)], { input: 'nope\n' });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('LOST');
    expect(refused.stderr).toContain('aborted');
    expect((await statusJson()).doc.leader).toBeNull();

    const forced = await chatOps(['force-leader', cluster.addressOf(survivor), '--yes']);
    expect(forced.stderr).toContain('waits for');
    expect(forced.code).toBe(0);
    const epoch = Number(/now leads epoch (\d+)/.exec(forced.stdout)?.[1]);
    expect(epoch).toBeGreaterThan(0);
    const after = await waitFor('the forced leader', async () => {
      const s = await statusJson();
      return s.doc.leader ? s : undefined;
    });
    expect(after.doc.leader).toMatchObject({ id: survivor, epoch });
    // Serving again, degraded: the others are down.
    expect(after.code).toBe(1);
    expect(after.doc.serving).toBe(true);
  });
});
