/**
 * Send-to-delivery latency: senders write at a fixed rate to recipients that
 * have a Subscribe stream open (in another process); latency is from the
 * start of the send call to the arrival on the recipient's stream.
 */
import { createAccounts, listeners, ring } from '../lib/accounts.js';
import { sleep, waitFor } from '../lib/clock.js';
import { BenchCluster } from '../lib/cluster.js';
import type { BenchContext } from '../lib/context.js';
import type { ListenResult, SendResult } from '../lib/jobs.js';
import { roundSummary, summarize, type LatencySummary } from '../lib/stats.js';
import { LoadWorker, results, startWorkers } from '../lib/workers.js';

export interface DeliveryResult {
  perSecond: number;
  seconds: number;
  acked: number;
  delivered: number;
  duplicates: number;
  ackLatencyMs: LatencySummary;
  deliveryLatencyMs: LatencySummary;
}

export async function runDelivery(ctx: BenchContext): Promise<DeliveryResult> {
  const perSecond = ctx.settings.quick ? 100 : 200;
  const durationMs = ctx.settings.durationMs;
  const cluster = await BenchCluster.start();
  try {
    const leader = await cluster.waitForLeader();
    const accounts = await createAccounts(
      cluster.addresses,
      Array.from({ length: 16 }, (_, i) => `dlv${i}`),
    );
    const listen = new LoadWorker(
      { kind: 'listen', servers: cluster.addresses, users: listeners(accounts), streamsPerUser: 1, afterMessageId: 0 },
      'listen',
    );
    await listen.whenReady();
    await waitFor(
      '16 open streams on the leader',
      20_000,
      async () => (await cluster.status(leader)).openStreams >= 16 || undefined,
    );
    const [sender] = await startWorkers([
      {
        name: 'rate',
        job: {
          kind: 'rate',
          servers: cluster.addresses,
          users: ring(accounts),
          perSecond,
          durationMs,
          textBytes: 100,
          tag: 'dlv',
        },
      },
    ]);
    const [sent] = await results<SendResult>([sender!], durationMs + 60_000);
    const acked = sent!.ok.reduce((n, ok) => n + ok, 0);
    await waitFor(
      'every acknowledged message to be delivered',
      30_000,
      () => listen.delivered >= acked || undefined,
      100,
    ).catch(() => undefined);
    await sleep(200);
    listen.stop();
    const [got] = await results<ListenResult>([listen]);
    const ackLatency: number[] = [];
    for (let i = 0; i < sent!.latencies.length; i++) if (sent!.ok[i]) ackLatency.push(sent!.latencies[i]!);
    const delivery: number[] = [];
    for (let i = 0; i < got!.ids.length; i++) {
      const at = got!.sentAt[i]!;
      if (Number.isFinite(at)) delivery.push(got!.receivedAt[i]! - at);
    }
    const result: DeliveryResult = {
      perSecond,
      seconds: durationMs / 1000,
      acked: ackLatency.length,
      delivered: delivery.length,
      duplicates: got!.duplicates,
      ackLatencyMs: roundSummary(summarize(ackLatency)),
      deliveryLatencyMs: roundSummary(summarize(delivery)),
    };
    ctx.log(
      `  ${perSecond}/s for ${durationMs / 1000} s: ${result.acked} acked, ${result.delivered} delivered, delivery p50 ${result.deliveryLatencyMs.p50} ms, p99 ${result.deliveryLatencyMs.p99} ms`,
    );
    return result;
  } finally {
    await cluster.stop();
  }
}
