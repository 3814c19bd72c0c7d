/**
 * Open Subscribe streams: the leader's CPU (from /proc/<pid>/stat over a
 * window) and memory with no streams and with one idle stream per account
 * (1,000 by default, from four client processes), then the fan-out: one
 * message to every online account at a fixed rate, timed from the start of
 * the send to the arrival on the recipient's stream, and the leader's CPU
 * once more after the streams closed.
 *
 * The streams' cost is the leader's CPU with them minus without them (the
 * mean of the windows before they opened and after they closed): an idle
 * leader is not idle (heartbeats to every follower, the replica's tick), and
 * on a shared machine a single window moves by a percent or two.
 */
import { sleep, waitFor } from '../lib/clock.js';
import { BenchCluster } from '../lib/cluster.js';
import type { BenchContext } from '../lib/context.js';
import type { ListenResult, SendResult, SendUser } from '../lib/jobs.js';
import { cpuSeconds, CpuWindow, rssMiB } from '../lib/proc.js';
import { roundSummary, summarize, type LatencySummary } from '../lib/stats.js';
import { LoadWorker, results, split, startWorkers } from '../lib/workers.js';

export interface SubscriptionsResult {
  streams: number;
  idleWindowSeconds: number;
  /** Percent of one core: the leader with no streams, and with every stream open and idle. */
  leaderCpuIdle: number;
  leaderCpuWithStreams: number;
  // The next three are missing from results written before they were measured.
  /** The leader's CPU in the same window length after the streams closed. */
  leaderCpuAfter?: number;
  /** What the open idle streams cost: with streams minus the mean of before and after (percent of one core). */
  leaderCpuStreamsCost?: number;
  /** Leader CPU time spent while the clients connected and opened their streams, per stream (ms). */
  openCpuMsPerStream?: number;
  followerCpuWithStreams: number;
  /** Percent of one core used by the whole machine during the window with streams (other work skews it). */
  machineCpuWithStreams: number;
  leaderRssMiB: { before: number; after: number; perStreamKiB: number };
  fanout: {
    messages: number;
    perSecond: number;
    delivered: number;
    duplicates: number;
    latencyMs: LatencySummary;
    ackLatencyMs: LatencySummary;
  };
}

export async function runSubscriptions(ctx: BenchContext): Promise<SubscriptionsResult> {
  const ds = await ctx.usersStore();
  const streams = ds.accounts.length;
  const windowMs = ctx.settings.quick ? 6_000 : 10_000;
  const cluster = await BenchCluster.start({ seedDataDir: ds.dir });
  const listeners: LoadWorker[] = [];
  try {
    const leader = await cluster.waitForLeader(60_000);
    for (const id of cluster.ids) if (id !== leader) await cluster.waitInSync(id, 60_000);
    const followers = cluster.ids.filter((id) => id !== leader);
    await sleep(2_000);
    const idle = new CpuWindow({ leader: cluster.pid(leader) });
    await sleep(windowMs);
    const leaderCpuIdle = idle.finish().leader ?? Number.NaN;
    const rssBefore = rssMiB(cluster.pid(leader)!) ?? Number.NaN;
    const cpuBeforeOpen = cpuSeconds(cluster.pid(leader)!) ?? Number.NaN;

    for (const [w, slice] of split(ds.accounts, 4).entries()) {
      listeners.push(
        new LoadWorker(
          {
            kind: 'listen',
            servers: cluster.addresses,
            users: slice.map((a) => ({ token: a.token, username: a.username })),
            streamsPerUser: 1,
            afterMessageId: 0,
          },
          `listen${w}`,
        ),
      );
    }
    await Promise.all(listeners.map((l) => l.whenReady(120_000)));
    let open = '';
    await waitFor(
      `${streams} open streams on the leader`,
      120_000,
      async () => {
        const all = await Promise.all(cluster.ids.map((id) => cluster.status(id)));
        open = all.map((st) => `${st.id} (${st.role}, epoch ${st.epoch}): ${st.openStreams}`).join(', ');
        return all.find((st) => st.id === leader)!.openStreams >= streams || undefined;
      },
      200,
    ).catch((err: Error) => {
      throw new Error(
        `${err.message}; open streams per replica: ${open}\n${cluster.ids.map((id) => `--- ${id}\n${cluster.logTail(id, 12)}`).join('\n')}`,
      );
    });
    const openCpuMsPerStream = (((cpuSeconds(cluster.pid(leader)!) ?? Number.NaN) - cpuBeforeOpen) * 1000) / streams;
    await sleep(2_000);
    const withStreams = new CpuWindow({
      leader: cluster.pid(leader),
      ...Object.fromEntries(followers.map((f) => [f, cluster.pid(f)])),
    });
    await sleep(windowMs);
    const cpu = withStreams.finish();
    const rssAfter = rssMiB(cluster.pid(leader)!) ?? Number.NaN;
    ctx.log(
      `  leader CPU: ${leaderCpuIdle}% idle without streams, ${cpu.leader}% with ${streams} idle streams; RSS ${rssBefore.toFixed(0)} -> ${rssAfter.toFixed(0)} MiB`,
    );

    // Fan-out: one message to every account, from 16 senders, at a rate well within what the cluster sustains.
    const perSecond = 100;
    const senders = ds.accounts.slice(0, 16);
    const sendUsers: SendUser[] = ds.accounts.map((a, i) => {
      const from =
        senders[i % senders.length]!.username === a.username
          ? senders[(i + 1) % senders.length]!
          : senders[i % senders.length]!;
      return { token: from.token, username: from.username, recipient: a.username };
    });
    const [sender] = await startWorkers([
      {
        name: 'fanout',
        job: {
          kind: 'rate',
          servers: cluster.addresses,
          users: sendUsers,
          perSecond,
          durationMs: Math.round((streams / perSecond) * 1000),
          textBytes: 100,
          tag: 'fan',
        },
      },
    ]);
    const [sent] = await results<SendResult>([sender!], 120_000);
    const acked = sent!.ok.reduce((n, ok) => n + ok, 0);
    const delivered = () => listeners.reduce((n, l) => n + l.delivered, 0);
    await waitFor(
      'every acknowledged message to be delivered',
      30_000,
      () => delivered() >= acked || undefined,
      100,
    ).catch(() => undefined);
    await sleep(200);
    for (const l of listeners) l.stop();
    const got = await results<ListenResult>(listeners, 60_000);
    const latency: number[] = [];
    let duplicates = 0;
    for (const g of got) {
      duplicates += g.duplicates;
      for (let i = 0; i < g.ids.length; i++)
        if (Number.isFinite(g.sentAt[i]!)) latency.push(g.receivedAt[i]! - g.sentAt[i]!);
    }
    // The same leader, idle again without streams.
    await waitFor(
      'the streams to close on the leader',
      30_000,
      async () => (await cluster.status(leader)).openStreams === 0 || undefined,
      200,
    ).catch(() => undefined);
    await sleep(2_000);
    const after = new CpuWindow({ leader: cluster.pid(leader) });
    await sleep(windowMs);
    const leaderCpuAfter = after.finish().leader ?? Number.NaN;
    const leaderCpuWithStreams = cpu.leader ?? Number.NaN;
    const leaderCpuStreamsCost = Math.round((leaderCpuWithStreams - (leaderCpuIdle + leaderCpuAfter) / 2) * 10) / 10;
    ctx.log(
      `  leader CPU after the streams closed: ${leaderCpuAfter}%; the streams' cost: ${leaderCpuStreamsCost}% of a core; opening them: ${openCpuMsPerStream.toFixed(2)} ms of leader CPU each`,
    );
    const ackLatency: number[] = [];
    for (let i = 0; i < sent!.latencies.length; i++) if (sent!.ok[i]) ackLatency.push(sent!.latencies[i]!);
    const result: SubscriptionsResult = {
      streams,
      idleWindowSeconds: windowMs / 1000,
      leaderCpuIdle,
      leaderCpuWithStreams,
      leaderCpuAfter,
      leaderCpuStreamsCost,
      openCpuMsPerStream: Math.round(openCpuMsPerStream * 100) / 100,
      followerCpuWithStreams: Math.max(...followers.map((f) => cpu[f] ?? 0)),
      machineCpuWithStreams: cpu.machine ?? Number.NaN,
      leaderRssMiB: {
        before: Math.round(rssBefore),
        after: Math.round(rssAfter),
        perStreamKiB: Math.round(((rssAfter - rssBefore) * 1024) / streams),
      },
      fanout: {
        messages: sent!.latencies.length,
        perSecond,
        delivered: latency.length,
        duplicates,
        latencyMs: roundSummary(summarize(latency)),
        ackLatencyMs: roundSummary(summarize(ackLatency)),
      },
    };
    ctx.log(
      `  fan-out of ${result.fanout.messages} messages at ${perSecond}/s: ${result.fanout.delivered} delivered, p50 ${result.fanout.latencyMs.p50} ms, p99 ${result.fanout.latencyMs.p99} ms`,
    );
    return result;
  } finally {
    for (const l of listeners) l.kill();
    await cluster.stop();
  }
}
