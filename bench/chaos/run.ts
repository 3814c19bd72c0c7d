/**
 * The chaos run: three real chat-server processes (in-sync mode) under steady
 * load from several users, while a seeded schedule SIGKILLs replicas (the
 * leader or a follower), pauses them with SIGSTOP/SIGCONT for less than the
 * failure timeouts, restarts them, takes the whole cluster down and up again,
 * and churns clients (reconnects, new logins, new accounts). Then everything
 * is restored, the load stops, and the checker verifies:
 *
 * - every acknowledged message reached its recipient's stream exactly once,
 *   and is in the history exactly once, under its acknowledged id;
 * - no message was stored twice (a failed send may be stored, at most once);
 * - each sender's messages arrived in the order sent;
 * - every acknowledged account creation exists;
 * - the replicas' state digests are equal once they applied the same index.
 *
 * The seed replays the same schedule of faults (by role: "the leader", "a
 * follower"); process timing still differs from run to run.
 */
import { ChatClient } from '../../src/client/index.js';
import { Rng } from '../../src/server/replication/rng.js';
import { sleep, waitFor } from '../lib/clock.js';
import { BenchCluster } from '../lib/cluster.js';
import { wholeConversation } from '../lib/history.js';
import { ChaosUser, CHAOS_PASSWORD } from './users.js';

export interface ChaosOptions {
  durationMs: number;
  seed: number;
  /** Users chatting from the start (more join during the run). */
  users?: number;
  /** Longest SIGSTOP pause; keep it below the 250 ms election timeout. */
  maxPauseMs?: number;
  log?: (line: string) => void;
  /** Extra chat-server options. */
  serverArgs?: string[];
}

export interface ScheduleEntry {
  atMs: number;
  action: string;
}

export interface ChaosReport {
  ok: boolean;
  seed: number;
  durationMs: number;
  schedule: ScheduleEntry[];
  stats: {
    users: number;
    acknowledged: number;
    failedSends: number;
    delivered: number;
    accountsCreated: number;
    kills: number;
    pauses: number;
    outages: number;
    churns: number;
    appliedIndex: number;
  };
  violations: string[];
}

type Fault =
  | 'kill-leader'
  | 'kill-follower'
  | 'pause-leader'
  | 'pause-follower'
  | 'restart'
  | 'outage'
  | 'churn-stream'
  | 'churn-login'
  | 'new-user';

/** Picks the next fault from the seed and what the harness itself knows (which replicas it took down). */
function nextFault(rng: Rng, down: number, total: number): Fault {
  const r = rng.next();
  if (down > 0 && r < 0.3) return 'restart';
  if (r < 0.42) return down < total - 1 ? 'kill-leader' : 'restart';
  if (r < 0.52) return down < total - 1 ? 'kill-follower' : 'restart';
  if (r < 0.64) return 'pause-leader';
  if (r < 0.72) return 'pause-follower';
  if (r < 0.76) return 'outage';
  if (r < 0.86) return 'churn-stream';
  if (r < 0.94) return 'churn-login';
  return 'new-user';
}

async function leaderOf(cluster: BenchCluster): Promise<string | undefined> {
  const answers = await Promise.all(
    cluster.ids.filter((id) => cluster.isRunning(id)).map((id) => cluster.status(id).catch(() => undefined)),
  );
  return answers.find((s) => s?.role === 'leader')?.id;
}

export async function runChaos(o: ChaosOptions): Promise<ChaosReport> {
  const log = o.log ?? (() => undefined);
  const rng = new Rng(o.seed);
  const maxPause = Math.min(o.maxPauseMs ?? 180, 200);
  const schedule: ScheduleEntry[] = [];
  const violations: string[] = [];
  const stats = {
    users: 0,
    acknowledged: 0,
    failedSends: 0,
    delivered: 0,
    accountsCreated: 0,
    kills: 0,
    pauses: 0,
    outages: 0,
    churns: 0,
    appliedIndex: 0,
  };
  const cluster = await BenchCluster.start({ args: o.serverArgs });
  const t0 = Date.now();
  const note = (action: string) => {
    const entry = { atMs: Date.now() - t0, action };
    schedule.push(entry);
    log(`${(entry.atMs / 1000).toFixed(2).padStart(7)} s  ${action}`);
  };
  const users: ChaosUser[] = [];
  const created: string[] = [];
  const joining: Promise<void>[] = [];
  const setup = new ChatClient({ servers: cluster.addresses, retryBudgetMs: 60_000 });
  const addUser = async (name: string) => {
    await setup.createAccount(name, CHAOS_PASSWORD);
    created.push(name);
    const user = new ChaosUser(name, cluster.addresses, new Rng(o.seed ^ (users.length * 7919 + 17)));
    await user.open();
    users.push(user);
    user.start(() => users.map((u) => u.name), [5, 40]);
  };
  try {
    for (let i = 0; i < (o.users ?? 4); i++) await addUser(`chaos${i}`);
    note(`${users.length} users chatting`);
    const down = new Set<string>();
    const deadline = t0 + o.durationMs;
    let lastLeaderSeen = Date.now();
    while (Date.now() < deadline) {
      await sleep(rng.int(200, 1_200));
      if (Date.now() >= deadline) break;
      const leader = await leaderOf(cluster);
      if (leader) lastLeaderSeen = Date.now();
      // Never leave the cluster without a serving leader for long: restore everyone.
      if (!leader && down.size > 0 && Date.now() - lastLeaderSeen > 5_000) {
        note(`no leader for 5 s with ${[...down].join(',')} down: restarting them`);
        for (const id of [...down]) {
          await cluster.restart(id);
          down.delete(id);
        }
        lastLeaderSeen = Date.now();
        continue;
      }
      const fault = nextFault(rng, down.size, cluster.ids.length);
      const running = cluster.ids.filter((id) => !down.has(id));
      const followerPick = (list: string[]) => (list.length > 0 ? list[rng.int(0, list.length)] : undefined);
      switch (fault) {
        case 'kill-leader':
        case 'kill-follower': {
          const victim =
            fault === 'kill-leader'
              ? (leader ?? followerPick(running))
              : followerPick(running.filter((id) => id !== leader));
          if (!victim || running.length <= 1) break;
          note(`SIGKILL ${victim}${victim === leader ? ' (leader)' : ''}`);
          await cluster.kill(victim);
          down.add(victim);
          stats.kills++;
          break;
        }
        case 'restart': {
          if (down.size === 0) break;
          const back = [...down][rng.int(0, down.size)]!;
          note(`restart ${back}`);
          await cluster.restart(back, { wait: false });
          down.delete(back);
          break;
        }
        case 'pause-leader':
        case 'pause-follower': {
          const victim = fault === 'pause-leader' ? leader : followerPick(running.filter((id) => id !== leader));
          if (!victim || !cluster.isRunning(victim)) break;
          const ms = rng.int(20, maxPause);
          note(`SIGSTOP ${victim}${victim === leader ? ' (leader)' : ''} for ${ms} ms`);
          cluster.signal(victim, 'SIGSTOP');
          await sleep(ms);
          cluster.signal(victim, 'SIGCONT');
          stats.pauses++;
          break;
        }
        case 'outage': {
          const ms = rng.int(200, 1_500);
          note(`total outage: SIGKILL every replica, restart all after ${ms} ms`);
          await Promise.all(cluster.ids.map((id) => cluster.kill(id)));
          await sleep(ms);
          for (const id of cluster.ids) await cluster.restart(id, { wait: false });
          down.clear();
          stats.outages++;
          break;
        }
        case 'churn-stream': {
          const u = users[rng.int(0, users.length)]!;
          note(`${u.name} reconnects its stream (new login, resume after its last id)`);
          void u
            .reconnectReceiver()
            .catch((err: Error) => violations.push(`${u.name} could not reconnect: ${err.message}`));
          stats.churns++;
          break;
        }
        case 'churn-login': {
          const u = users[rng.int(0, users.length)]!;
          note(`${u.name} logs in again on a new client`);
          u.replaceSender();
          stats.churns++;
          break;
        }
        case 'new-user': {
          const name = `chaos${users.length}`;
          note(`new account ${name} joins`);
          joining.push(
            addUser(name).catch((err: Error) => note(`creating ${name} failed for the user: ${err.message}`)),
          );
          stats.churns++;
          break;
        }
      }
    }

    // Restore everyone, let the load run on a healthy cluster for a moment, then stop it.
    note(`end of faults: restarting ${[...down].join(',') || 'nothing'}`);
    for (const id of [...down]) await cluster.restart(id, { wait: false });
    for (const id of cluster.ids) await cluster.waitInSync(id, 60_000);
    await sleep(500);
    await Promise.all(joining);
    note('every replica in sync; stopping the load');
    await Promise.all(users.map((u) => u.stop()));
    stats.users = users.length;

    // Every acknowledged message must reach its recipient's stream.
    const byName = new Map(users.map((u) => [u.name, u]));
    const acked = users.flatMap((u) => u.sent.filter((s) => s.id !== undefined));
    stats.acknowledged = acked.length;
    stats.failedSends = users.reduce((n, u) => n + u.sent.filter((s) => s.id === undefined).length, 0);
    try {
      await waitFor(
        'every acknowledged message to arrive on its stream',
        30_000,
        () => acked.every((s) => byName.get(s.to)!.received.some((r) => r.message.id === s.id)) || undefined,
        100,
      );
    } catch {
      // reported below, message by message
    }
    const allSent = users.flatMap((u) => u.sent);
    const sentByText = new Map(allSent.map((s) => [s.text, s]));
    for (const u of users) {
      const incoming = u.received.filter((r) => r.message.recipient === u.name && r.message.sender !== u.name);
      stats.delivered += incoming.length;
      const seenIds = new Map<number, number>();
      const seenTexts = new Map<string, number>();
      for (const r of incoming) {
        seenIds.set(r.message.id, (seenIds.get(r.message.id) ?? 0) + 1);
        seenTexts.set(r.message.text, (seenTexts.get(r.message.text) ?? 0) + 1);
      }
      for (const [id, n] of seenIds) if (n > 1) violations.push(`${u.name} received message ${id} ${n} times`);
      for (const [text, n] of seenTexts)
        if (n > 1) violations.push(`${u.name} received "${text}" ${n} times (stored twice)`);
      for (const s of acked.filter((a) => a.to === u.name)) {
        if (!seenIds.has(s.id!))
          violations.push(`acknowledged message ${s.id} "${s.text}" never reached ${u.name}'s stream`);
      }
      for (const r of incoming) {
        const s = sentByText.get(r.message.text);
        if (!s) violations.push(`${u.name} received "${r.message.text}" (id ${r.message.id}), which nobody sent`);
        else if (s.id !== undefined && s.id !== r.message.id)
          violations.push(`"${s.text}" was acknowledged as ${s.id} but delivered as ${r.message.id}`);
      }
      // Per-sender order, in arrival order.
      const lastSeq = new Map<string, number>();
      for (const r of incoming) {
        const s = sentByText.get(r.message.text);
        if (!s) continue;
        const prev = lastSeq.get(s.from) ?? 0;
        if (s.seq <= prev) violations.push(`${u.name} got ${s.from}'s #${s.seq} after #${prev}`);
        lastSeq.set(s.from, Math.max(prev, s.seq));
      }
    }

    // The same through the history: each acknowledged message stored exactly once, under its id.
    for (const u of users) {
      const peers = [...new Set(u.sent.map((s) => s.to))];
      for (const peer of peers) {
        const stored = await wholeConversation(u.reader(), peer);
        const mine = stored.filter((m) => m.sender === u.name);
        const count = new Map<string, number[]>();
        for (const m of mine) count.set(m.text, [...(count.get(m.text) ?? []), m.id]);
        for (const [text, ids] of count)
          if (ids.length > 1)
            violations.push(`history of ${u.name}>${peer} holds "${text}" ${ids.length} times (ids ${ids.join(', ')})`);
        for (const s of u.sent.filter((x) => x.to === peer && x.id !== undefined)) {
          const ids = count.get(s.text);
          if (!ids) violations.push(`acknowledged message ${s.id} "${s.text}" is missing from the history`);
          else if (ids[0] !== s.id) violations.push(`"${s.text}" acknowledged as ${s.id} is stored as ${ids[0]}`);
        }
      }
    }

    // Every acknowledged account creation exists.
    for (const name of created) {
      const page = await users[0]!.reader().listAccounts({ pattern: name, pageSize: 10 });
      if (!page.accounts.some((a) => a.username === name))
        violations.push(`account ${name} was acknowledged but does not exist`);
    }
    stats.accountsCreated = created.length;

    // Equal state digests once every replica applied the same index.
    const applied = await cluster.waitApplied(30_000);
    stats.appliedIndex = applied;
    const digests = await Promise.all(cluster.addresses.map((a) => cluster.ops.stateDigest(a)));
    const first = digests[0]!;
    for (const [i, d] of digests.entries()) {
      if (d.appliedIndex !== first.appliedIndex || d.digest !== first.digest) {
        violations.push(
          `replica ${cluster.ids[i]} has digest ${d.digest.slice(0, 12)} at index ${d.appliedIndex}, ${cluster.ids[0]} has ${first.digest.slice(0, 12)} at ${first.appliedIndex}`,
        );
      }
    }
    for (const u of users) for (const e of u.streamEnds) violations.push(`a stream ended for good: ${e}`);
    note(
      `checked: ${stats.acknowledged} acknowledged, ${stats.failedSends} failed for the user, ${stats.delivered} delivered, digests at index ${applied}`,
    );
  } catch (err) {
    violations.push(`the run itself failed: ${(err as Error).message}`);
  } finally {
    await Promise.all(users.map((u) => u.stop().catch(() => undefined)));
    for (const u of users) u.close();
    setup.close();
    await cluster.stop();
  }
  return { ok: violations.length === 0, seed: o.seed, durationMs: o.durationMs, schedule, stats, violations };
}
