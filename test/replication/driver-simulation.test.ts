import { describe, expect, it } from 'vitest';
import { DriverSimulation, type DriverSimOptions } from './driver-simulator.js';

/**
 * Seeded random schedules of the real replica driver over the real segmented
 * log on disks that lose and tear unsynced writes and fail syncs. Set
 * DRIVER_SIM_SEEDS to run more (a soak) and DRIVER_SIM_SEED to replay one.
 */
const replay = process.env.DRIVER_SIM_SEED ? [Number(process.env.DRIVER_SIM_SEED)] : undefined;
const count = Number(process.env.DRIVER_SIM_SEEDS ?? 60);
const firstSeed = Number(process.env.DRIVER_SIM_FIRST_SEED ?? 1);

type Totals = ReturnType<DriverSimulation['summary']>;

async function runSchedules(seeds: readonly number[], options: Omit<DriverSimOptions, 'seed'>): Promise<Totals> {
  let totals: Totals | undefined;
  for (const seed of seeds) {
    const sim = new DriverSimulation({ seed, ...options });
    await sim.run();
    const s = sim.summary();
    totals = totals
      ? (Object.fromEntries(Object.entries(totals).map(([k, v]) => [k, v + s[k as keyof Totals]])) as Totals)
      : s;
  }
  return totals!;
}

const seedsOf = (n: number) => replay ?? Array.from({ length: n }, (_, i) => firstSeed + i);

describe('the replica driver under crashes that lose unsynced writes, failing disks and a faulty network', () => {
  it(`in-sync mode keeps every invariant over ${replay ? 'the replayed schedule' : `${count} seeded schedules`}`, async () => {
    const seeds = seedsOf(count);
    const totals = await runSchedules(seeds, { durationMs: 3_000 });
    expect(totals.acked).toBeGreaterThan(seeds.length * 20);
    if (!replay) {
      expect(totals.elections).toBeGreaterThan(seeds.length);
      expect(totals.restarts).toBeGreaterThan(seeds.length / 2);
      expect(totals.storageFailures).toBeGreaterThan(0);
      expect(totals.snapshots).toBeGreaterThan(0);
      expect(totals.quarantined).toBeGreaterThan(0);
    }
  }, 240_000);

  it('keeps seeds 100179, 100931, 303749 and 305471: after a restart, a new leader replaces entries from before the new segment, then a compaction', async () => {
    // The first two once left a segment holding entries below its own start as the oldest one, the other two a segment
    // wholly replaced by the next one (a crash between two deletions): the log refused to load.
    const totals = await runSchedules([100179, 100931, 303749, 305471], { durationMs: 3_000 });
    expect(totals.restarts).toBeGreaterThan(0);
    expect(totals.acked).toBeGreaterThan(40);
  });

  it(`majority mode with partitions, pauses and membership changes keeps every invariant over ${replay ? 'the replayed schedule' : `${Math.ceil(count / 2)} seeded schedules`}`, async () => {
    const seeds = seedsOf(Math.ceil(count / 2));
    const totals = await runSchedules(seeds, {
      nodes: 5,
      mode: 'majority',
      durationMs: 3_000,
      maxDiskMs: 20,
      partitionEveryMs: 500,
      pauseEveryMs: 900,
      faultEveryMs: 1_200,
      membershipEveryMs: 600,
    });
    expect(totals.acked).toBeGreaterThan(seeds.length * 10);
    if (!replay) {
      expect(totals.partitions).toBeGreaterThan(seeds.length / 2);
      expect(totals.membershipChanges).toBeGreaterThan(seeds.length / 2);
    }
  }, 240_000);
});
