/**
 * A real three-replica cluster with --metrics-listen: the exposition of every
 * replica passes promtool's parser and linter, the numbers move under chat
 * load, /healthz and /readyz answer, and the alert rules and the dashboard in
 * deploy/ name only metrics a replica exposes (and pass promtool's checks and
 * the rules' unit tests). Needs `npm run build` and promtool (Debian's
 * prometheus package; .ci/run installs it).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PEER_PROTOCOL_VERSION } from '../../src/server/versions.js';
import { Conversation } from '../support/conversation.js';
import { startCluster, waitUntil, type TestCluster } from '../support/cluster.js';
import {
  families,
  get,
  metricsAddress,
  PROM_CLIENT_LINT,
  promtool,
  promtoolCheckMetrics,
  sample,
} from './exposition.js';

const DEPLOY = fileURLToPath(new URL('../../deploy/', import.meta.url));

let cluster: TestCluster;
const metricsOf = new Map<string, string>();

beforeAll(async () => {
  cluster = await startCluster({ args: ['--metrics-listen', '127.0.0.1:0'] });
  for (const id of cluster.ids) metricsOf.set(id, await metricsAddress(cluster.logFile(id)));
});
afterAll(async () => {
  await cluster?.stop();
});

async function scrape(id: string): Promise<string> {
  const res = await get(metricsOf.get(id)!, '/metrics');
  expect(res.status).toBe(200);
  expect(res.type).toContain('text/plain');
  return res.body;
}

describe('metrics of a live cluster', () => {
  it("exposes text that promtool parses, with no lint findings but prom-client's own", async () => {
    for (const id of cluster.ids) {
      const check = promtoolCheckMetrics(await scrape(id));
      expect(check.parsed, check.output).toBe(true);
      const ours = check.findings.filter((f) => !PROM_CLIENT_LINT.some((name) => f.startsWith(`${name} `)));
      expect(ours, check.output).toEqual([]);
    }
  });

  it('says who leads, and the numbers move under load', async () => {
    const leader = await cluster.waitForLeader();
    const follower = cluster.ids.find((id) => id !== leader)!;
    const before = await scrape(leader);
    expect(sample(before, 'chat_replica_is_leader')).toBe(1);
    expect(sample(before, 'chat_replica_role', { role: 'leader' })).toBe(1);
    expect(sample(before, 'nodejs_eventloop_lag_seconds')).toBeGreaterThanOrEqual(0);
    expect(sample(await scrape(follower), 'chat_replica_role', { role: 'follower' })).toBe(1);

    const chat = new Conversation(cluster);
    try {
      await chat.addUser('ann');
      await chat.addUser('bob');
      chat.start();
      await chat.progress('under load', 40);
      const during = await scrape(leader);
      expect(sample(during, 'chat_open_streams')).toBe(2);
      // Both users' clients live in this process, whose channels share one connection: one client.
      expect(sample(during, 'chat_connected_clients')).toBeGreaterThanOrEqual(1);
      await chat.stop();
      const sent = chat.acked.length;
      const after = await waitUntil('the leader to count every acknowledged send', 10_000, async () => {
        const text = await scrape(leader);
        return (sample(text, 'chat_commit_seconds_count') ?? 0) - (sample(before, 'chat_commit_seconds_count') ?? 0) >=
          sent
          ? text
          : undefined;
      });
      const delta = (name: string, labels?: Record<string, string>) =>
        (sample(after, name, labels) ?? 0) - (sample(before, name, labels) ?? 0);
      // Accounts and log-ins are ops too: at least one per acknowledged message.
      expect(delta('chat_ops_applied_total')).toBeGreaterThanOrEqual(sent);
      expect(delta('chat_log_commit_index')).toBeGreaterThanOrEqual(sent);
      // The histograms: every series there, the +Inf bucket holding every observation; one commit observed per op
      // answered, and the log's syncs carried every entry the leader appended for those ops.
      for (const name of ['chat_commit_seconds', 'chat_log_sync_seconds', 'chat_log_sync_entries']) {
        expect(delta(`${name}_count`), name).toBeGreaterThan(0);
        expect(sample(after, `${name}_bucket`, { le: '+Inf' }), name).toBe(sample(after, `${name}_count`));
        expect(after).toMatch(new RegExp(`^${name}_bucket\\{le="[0-9.]+"\\} \\d+$`, 'm'));
        expect(sample(after, `${name}_sum`), name).toBeDefined();
      }
      expect(delta('chat_log_sync_entries_sum')).toBeGreaterThanOrEqual(sent);
      expect(delta('chat_log_written_bytes_total')).toBeGreaterThan(0);
      expect(delta('chat_applied_entries_total')).toBeGreaterThanOrEqual(sent);
      expect(sample(after, 'chat_in_sync_replicas')).toBe(3);
      for (const peer of cluster.ids.filter((id) => id !== leader)) {
        expect(sample(after, 'chat_peer_in_sync', { peer })).toBe(1);
        expect(sample(after, 'chat_peer_lag_entries', { peer })).toBeGreaterThanOrEqual(0);
      }
      // The followers applied the same ops (the leader may have applied more since, so at least as far).
      const followerAfter = await waitUntil('the follower to apply as much', 10_000, async () => {
        const text = await scrape(follower);
        return (sample(text, 'chat_log_applied_index') ?? 0) >= (sample(after, 'chat_log_applied_index') ?? Infinity)
          ? text
          : undefined;
      });
      expect(followerAfter).toMatch(
        new RegExp(
          `^chat_peer_build_info\\{peer="${leader}",version="[^"]+",commit="[^"]+",protocol="${PEER_PROTOCOL_VERSION}"\\} 1$`,
          'm',
        ),
      );
    } finally {
      await chat.stop();
      chat.close();
    }
  });

  it('counts an in-sync set shrinking when a follower dies', async () => {
    const leader = await cluster.waitForLeader();
    const victim = cluster.ids.find((id) => id !== leader)!;
    const before = sample(await scrape(leader), 'chat_isr_changes_total', { change: 'shrink' }) ?? 0;
    await cluster.kill(victim);
    const text = await waitUntil('the leader to drop the dead follower', 10_000, async () => {
      const t = await scrape(leader);
      return sample(t, 'chat_in_sync_replicas') === 2 ? t : undefined;
    });
    expect(sample(text, 'chat_isr_changes_total', { change: 'shrink' })).toBe(before + 1);
    expect(sample(text, 'chat_peer_in_sync', { peer: victim })).toBe(0);
    await cluster.restart(victim);
    await waitUntil(
      `${victim} to be ready again`,
      20_000,
      async () => (await get(await metricsAddress(cluster.logFile(victim)), '/readyz')).status === 200,
    );
  });

  it('answers /healthz, and /readyz only for a replica that knows its leader and is caught up', async () => {
    for (const id of cluster.ids) {
      const address = await metricsAddress(cluster.logFile(id));
      expect((await get(address, '/healthz')).status).toBe(200);
      const ready = await get(address, '/readyz');
      expect(ready.status, ready.body).toBe(200);
      expect(ready.body).toMatch(/^ready: (leads|follows)/);
      expect((await get(address, '/nothing')).status).toBe(404);
    }
    // A replica waiting to be added is not ready.
    await cluster.spawnJoining('D');
    const joining = await get(await metricsAddress(cluster.logFile('D')), '/readyz');
    expect(joining.status).toBe(503);
    expect(joining.body).toContain('not ready: not a member of a cluster yet');
  });

  it('the alert rules and the dashboard in deploy/ use only metrics a replica exposes, and the rules pass promtool', async () => {
    const exposed = families(await scrape(await cluster.waitForLeader()));
    exposed.add('up'); // Prometheus's own, per scrape target
    // Our metric names and Node's start with these prefixes; no label name or function does.
    const used = (expr: string) =>
      new Set(
        [...expr.matchAll(/\b(?:chat|nodejs|process)_[a-z0-9_]+\b|\bup(?=\{)/g)].map((m) =>
          m[0].replace(/_(bucket|sum|count)$/, ''),
        ),
      );
    const rules = readFileSync(`${DEPLOY}prometheus/chat-alerts.yml`, 'utf8');
    const exprs = [...rules.matchAll(/^\s+expr: (.+)$/gm)].map((m) => m[1]!);
    const dashboard = JSON.parse(readFileSync(`${DEPLOY}grafana/chat-cluster.json`, 'utf8')) as {
      panels: { targets?: { expr: string }[] }[];
    };
    const panelExprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
    expect(exprs.length).toBeGreaterThan(10);
    expect(panelExprs.length).toBeGreaterThan(20);
    for (const expr of [...exprs, ...panelExprs]) {
      for (const name of used(expr)) expect(exposed.has(name), `${name} in ${expr}`).toBe(true);
    }
    for (const args of [
      ['check', 'rules', 'chat-alerts.yml'],
      ['test', 'rules', 'chat-alerts.test.yml'],
      ['check', 'config', 'prometheus.yml'],
    ]) {
      const run = promtool(args, { cwd: `${DEPLOY}prometheus` });
      expect(run.status, `promtool ${args.join(' ')}: ${run.stdout}${run.stderr}`).toBe(0);
    }
  });
});
