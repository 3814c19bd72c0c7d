/**
 * Failures and planned restarts under steady load (16 sends in flight from two
 * client processes):
 *
 * - leader SIGKILLed (a crash): time from the kill to the first send
 *   acknowledged by another replica (the client retries with the same
 *   idempotency key);
 * - leader SIGTERMed (a planned restart): it hands leadership over before it
 *   stops; the same time, and the longest time without any acknowledgement;
 * - follower SIGKILLed: how long acknowledgements stop (the leader waits for
 *   the dead member until the sync timeout, then drops it from the in-sync set).
 *
 * Afterwards every conversation is read back: each acknowledged send must be
 * stored exactly once under its acknowledged id, and no send may fail.
 */
import { ChatClient } from '../../src/client/index.js';
import { createAccounts, ring } from '../lib/accounts.js';
import { sleep, waitFor, wallMs } from '../lib/clock.js';
import { BenchCluster } from '../lib/cluster.js';
import type { BenchContext } from '../lib/context.js';
import { addReports, checkExactlyOnce, wholeConversation, type ExactlyOnceReport } from '../lib/history.js';
import { labelOf, type SendResult } from '../lib/jobs.js';
import { median, round } from '../lib/stats.js';
import { results, split, startWorkers } from '../lib/workers.js';

export interface FailoverTrial {
  victim: string;
  newLeader: string;
  /** ms from the kill to the first acknowledgement from another replica. */
  recoveryMs: number;
}

export interface PlannedTrial extends FailoverTrial {
  /** The longest time without any acknowledgement after the signal, ms. */
  stallMs: number;
  /** From the signal to the process's exit, ms. */
  stopMs: number;
}

export interface PlannedResult {
  trials: PlannedTrial[];
  medianMs: number;
  maxMs: number;
  medianStallMs: number;
  maxStallMs: number;
  /** Acknowledgements per 100 ms around the median planned restart. */
  timeline: Timeline;
}

export interface FollowerTrial {
  victim: string;
  /** The longest time without any acknowledgement after the kill, ms. */
  stallMs: number;
}

export interface Timeline {
  /** Bucket width and the start of the first bucket relative to the kill, ms. */
  bucketMs: number;
  fromMs: number;
  /** Acknowledgements per bucket. */
  counts: number[];
}

export interface FailoverResult {
  inflight: number;
  trials: FailoverTrial[];
  medianMs: number;
  maxMs: number;
  followerTrials: FollowerTrial[];
  followerMedianStallMs: number;
  followerMaxStallMs: number;
  /** Sends the user saw fail (after the client's retries). */
  failedSends: number;
  failureSamples: string[];
  check: ExactlyOnceReport;
  /** Acknowledgements per 100 ms around the median leader kill. */
  timeline: Timeline;
  /** The usual gap between acknowledgements in steady state (median), ms. */
  steadyGapMs: number;
  /** Leaders stopped with SIGTERM (handing over first), beside the crashes; absent in results from before it was measured. */
  planned?: PlannedResult;
}

interface Ack {
  end: number;
  replica: string;
}

export async function runFailover(ctx: BenchContext): Promise<FailoverResult> {
  const s = ctx.settings;
  const cluster = await BenchCluster.start();
  const inflight = 16;
  try {
    await cluster.waitForLeader();
    const accounts = await createAccounts(
      cluster.addresses,
      Array.from({ length: inflight }, (_, i) => `fo${i}`),
    );
    const users = ring(accounts);
    const workers = await startWorkers(
      split(users, 2).map((slice, w) => ({
        name: `fo${w}`,
        job: {
          kind: 'send' as const,
          servers: cluster.addresses,
          users: slice,
          loopsPerUser: 1,
          durationMs: null,
          textBytes: 100,
          deadlineMs: 2_000,
          retryBudgetMs: 20_000,
          tag: 'fo',
          keepTexts: true,
        },
      })),
    );
    const leaderKills: { at: number; victim: string }[] = [];
    const plannedStops: { at: number; victim: string; stopMs: number }[] = [];
    const followerKills: { at: number; victim: string }[] = [];
    try {
      await sleep(2_000);
      for (let t = 0; t < s.failoverTrials; t++) {
        const victim = await cluster.waitForLeader();
        const at = wallMs();
        await cluster.kill(victim);
        leaderKills.push({ at, victim });
        const next = await cluster.waitForLeader(20_000);
        ctx.log(`  trial ${t + 1}: killed leader ${victim}; ${next} leads`);
        await sleep(1_500);
        await cluster.restart(victim);
        await cluster.waitInSync(victim);
        await sleep(1_000);
      }
      for (let t = 0; t < s.failoverTrials; t++) {
        const victim = await cluster.waitForLeader();
        const at = wallMs();
        await cluster.kill(victim, 'SIGTERM');
        plannedStops.push({ at, victim, stopMs: round(wallMs() - at) });
        const next = await cluster.waitForLeader(20_000);
        ctx.log(
          `  planned trial ${t + 1}: stopped leader ${victim} (SIGTERM, exited after ${round(wallMs() - at)} ms); ${next} leads`,
        );
        await sleep(1_500);
        await cluster.restart(victim);
        await cluster.waitInSync(victim);
        await sleep(1_000);
      }
      for (let t = 0; t < s.followerTrials; t++) {
        const leader = await cluster.waitForLeader();
        const victim = cluster.ids.find((id) => id !== leader && cluster.isRunning(id))!;
        const at = wallMs();
        await cluster.kill(victim);
        followerKills.push({ at, victim });
        ctx.log(`  follower trial ${t + 1}: killed follower ${victim} of leader ${leader}`);
        await sleep(2_500);
        await cluster.restart(victim);
        await cluster.waitInSync(victim);
        await sleep(1_000);
      }
    } finally {
      for (const w of workers) w.stop();
    }
    const all = await results<SendResult>(workers, 60_000);
    const acks: Ack[] = [];
    let failedSends = 0;
    const failureSamples: string[] = [];
    const sentBy = new Map<string, { text: string; ok: boolean; id: number }[]>();
    for (const r of all) {
      for (let i = 0; i < r.starts.length; i++) {
        const ok = r.ok[i] === 1;
        if (ok) acks.push({ end: r.starts[i]! + r.latencies[i]!, replica: r.replicas[r.replica[i]!] ?? '?' });
        else failedSends++;
        const text = r.texts[i]!;
        const sender = labelOf(text).split('/')[1]!;
        let list = sentBy.get(sender);
        if (!list) sentBy.set(sender, (list = []));
        list.push({ text, ok, id: r.ids[i]! });
      }
      failureSamples.push(...r.failures.slice(0, 3));
    }
    acks.sort((a, b) => a.end - b.end);

    const firstAckElsewhere = (at: number, victim: string) => acks.find((a) => a.end > at && a.replica !== victim);
    const trials: FailoverTrial[] = leaderKills.map(({ at, victim }) => {
      const first = firstAckElsewhere(at, victim);
      return { victim, newLeader: first?.replica ?? '?', recoveryMs: first ? round(first.end - at) : Number.NaN };
    });
    const followerTrials: FollowerTrial[] = followerKills.map(({ at, victim }) => ({
      victim,
      stallMs: round(longestStall(acks, at)),
    }));
    const plannedTrials: PlannedTrial[] = plannedStops.map(({ at, victim, stopMs }) => {
      const first = firstAckElsewhere(at, victim);
      return {
        victim,
        newLeader: first?.replica ?? '?',
        recoveryMs: first ? round(first.end - at) : Number.NaN,
        stallMs: round(longestStall(acks, at)),
        stopMs,
      };
    });
    const gaps: number[] = [];
    const firstKill = leaderKills[0]?.at ?? Number.POSITIVE_INFINITY;
    for (let i = 1; i < acks.length && acks[i]!.end < firstKill; i++) gaps.push(acks[i]!.end - acks[i - 1]!.end);

    const recoveries = trials.map((t) => t.recoveryMs).filter(Number.isFinite);
    const medianTrial = [...trials].sort((a, b) => a.recoveryMs - b.recoveryMs)[Math.floor(trials.length / 2)];
    const timeline = timelineAround(acks, leaderKills[trials.indexOf(medianTrial!)]?.at ?? 0);
    const plannedRecoveries = plannedTrials.map((t) => t.recoveryMs).filter(Number.isFinite);
    const medianPlanned = [...plannedTrials].sort((a, b) => a.recoveryMs - b.recoveryMs)[
      Math.floor(plannedTrials.length / 2)
    ];
    const planned: PlannedResult | undefined =
      plannedTrials.length === 0
        ? undefined
        : {
            trials: plannedTrials,
            medianMs: round(median(plannedRecoveries)),
            maxMs: round(Math.max(...plannedRecoveries)),
            medianStallMs: round(median(plannedTrials.map((t) => t.stallMs))),
            maxStallMs: round(Math.max(...plannedTrials.map((t) => t.stallMs))),
            timeline: timelineAround(acks, plannedStops[plannedTrials.indexOf(medianPlanned!)]?.at ?? 0),
          };

    // Read every conversation back.
    let check: ExactlyOnceReport = { acked: 0, lost: 0, doubled: 0, wrongId: 0, failedButStored: 0 };
    await cluster.waitForLeader();
    for (const u of users) {
      const client = new ChatClient({ servers: cluster.addresses, token: u.token, retryBudgetMs: 20_000 });
      try {
        await waitFor(`${u.username}'s client to connect`, 20_000, () => client.connection().kind === 'connected');
        const stored = await wholeConversation(client, u.recipient);
        check = addReports(check, checkExactlyOnce(stored, u.username, sentBy.get(u.username) ?? []));
      } finally {
        client.close();
      }
    }
    const result: FailoverResult = {
      inflight,
      trials,
      medianMs: round(median(recoveries)),
      maxMs: round(Math.max(...recoveries)),
      followerTrials,
      followerMedianStallMs: round(median(followerTrials.map((t) => t.stallMs))),
      followerMaxStallMs: round(Math.max(...followerTrials.map((t) => t.stallMs))),
      failedSends,
      failureSamples: [...new Set(failureSamples)].slice(0, 5),
      check,
      timeline,
      steadyGapMs: round(median(gaps)),
      planned,
    };
    ctx.log(
      `  leader kill -> next ack: median ${result.medianMs} ms, max ${result.maxMs} ms; follower kill stall: median ${result.followerMedianStallMs} ms, max ${result.followerMaxStallMs} ms`,
    );
    if (planned)
      ctx.log(
        `  planned restart (leader SIGTERM) -> next ack elsewhere: median ${planned.medianMs} ms, max ${planned.maxMs} ms; longest time without an ack: median ${planned.medianStallMs} ms, max ${planned.maxStallMs} ms`,
      );
    ctx.log(
      `  ${check.acked} acknowledged sends checked: ${check.lost} lost, ${check.doubled} doubled, ${check.wrongId} under another id; ${failedSends} failed for the user`,
    );
    return result;
  } finally {
    await cluster.stop();
  }
}

/** The longest time without any acknowledgement in the 3 s after `at`, ms. */
function longestStall(acks: readonly Ack[], at: number): number {
  let stall = 0;
  let prev = acks.filter((a) => a.end <= at).at(-1)?.end ?? at;
  for (const a of acks) {
    if (a.end <= at) continue;
    if (a.end > at + 3_000) break;
    stall = Math.max(stall, a.end - Math.max(prev, at));
    prev = a.end;
  }
  return stall;
}

/** Acknowledgements per 100 ms from 1 s before `at` to 3 s after. */
function timelineAround(acks: readonly Ack[], at: number): Timeline {
  const bucketMs = 100;
  const fromMs = -1_000;
  const counts = new Array<number>(40).fill(0);
  for (const a of acks) {
    const rel = a.end - at - fromMs;
    if (rel >= 0 && rel < counts.length * bucketMs) counts[Math.floor(rel / bucketMs)]!++;
  }
  return { bucketMs, fromMs, counts };
}
