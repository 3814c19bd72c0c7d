/**
 * A short chaos run on every test run: three real chat-server processes under
 * load from several users while a seeded schedule kills, pauses and restarts
 * replicas, takes the cluster down and churns clients; the checker must find
 * every acknowledged message delivered exactly once and in order, every
 * acknowledged account present and the replicas' digests equal.
 * CHAOS_SEED=<n> replays a schedule; CHAOS_SECONDS changes the length.
 */
import { describe, expect, it } from 'vitest';
import { runChaos } from '../../bench/chaos/run.js';

const seed =
  process.env.CHAOS_SEED !== undefined ? Number(process.env.CHAOS_SEED) : Math.floor(Math.random() * 1_000_000);
const seconds = Number(process.env.CHAOS_SECONDS ?? 20);

describe('chaos run against real processes', () => {
  it(
    `keeps every acknowledged message through crashes, pauses, outages and client churn (seed ${seed})`,
    async () => {
      const lines: string[] = [];
      const report = await runChaos({ durationMs: seconds * 1000, seed, users: 4, log: (l) => lines.push(l) });
      const replay = `replay with CHAOS_SEED=${seed} npx vitest run test/chaos (or: npm run chaos -- --duration ${seconds} --seed ${seed})`;
      expect(
        report.violations,
        `${report.violations.slice(0, 20).join('\n')}\nschedule:\n${lines.join('\n')}\n${replay}`,
      ).toEqual([]);
      // The run must have done what it claims: chatted, and hit the cluster with faults.
      expect(
        report.stats.acknowledged,
        `too few messages were acknowledged to check anything\n${lines.join('\n')}`,
      ).toBeGreaterThan(50);
      expect(
        report.stats.kills + report.stats.pauses + report.stats.outages,
        `no faults were injected\n${lines.join('\n')}`,
      ).toBeGreaterThan(3);
      expect(report.stats.delivered).toBeGreaterThanOrEqual(report.stats.acknowledged);
    },
    (seconds + 150) * 1000,
  );
});
