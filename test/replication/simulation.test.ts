import { describe, expect, it } from 'vitest';
import { Simulation } from './simulator.js';

/**
 * Seeded random schedules of the replication core in virtual time. Set
 * SIM_SEEDS to run more (e.g. SIM_SEEDS=20000 for a soak) and SIM_SEED to
 * replay one schedule.
 */
const replay = process.env.SIM_SEED ? [Number(process.env.SIM_SEED)] : undefined;
const count = Number(process.env.SIM_SEEDS ?? 1000);
const firstSeed = Number(process.env.SIM_FIRST_SEED ?? 1);

type Totals = ReturnType<Simulation['summary']>;

/** Runs one schedule per seed and adds up what they did. */
function runSchedules(seeds: readonly number[], options: Omit<ConstructorParameters<typeof Simulation>[0], 'seed'>): Totals {
  const totals: Totals = { acked: 0, elections: 0, snapshots: 0, quarantined: 0, restarts: 0, partitions: 0, pauses: 0, membershipChanges: 0, transfersStarted: 0, transfersDone: 0 };
  for (const seed of seeds) {
    const sim = new Simulation({ seed, ...options });
    sim.run();
    const s = sim.summary();
    for (const k of Object.keys(totals) as (keyof Totals)[]) totals[k] += s[k];
  }
  return totals;
}

describe('replication core under simulated crashes and a faulty network', () => {
  it(`keeps every invariant over ${replay ? 'the replayed schedule' : `${count} seeded schedules`}`, () => {
    const seeds = replay ?? Array.from({ length: count }, (_, i) => firstSeed + i);
    const totals = runSchedules(seeds, { durationMs: 3_000 });
    // The schedules must actually exercise what they claim to: failovers, restarts, snapshots, truncation.
    expect(totals.acked).toBeGreaterThan(seeds.length * 20);
    if (!replay) {
      expect(totals.elections).toBeGreaterThan(seeds.length);
      expect(totals.restarts).toBeGreaterThan(seeds.length / 2);
      expect(totals.snapshots).toBeGreaterThan(0);
      expect(totals.quarantined).toBeGreaterThan(0);
    }
  }, Math.max(60_000, count * 20));
});

describe('majority mode under partitions, pauses and crashes (five replicas)', () => {
  const majorityCount = Number(process.env.SIM_MAJORITY_SEEDS ?? Math.max(1, Math.floor(count / 2)));
  it(`keeps every invariant over ${replay ? 'the replayed schedule' : `${majorityCount} seeded schedules`}`, () => {
    const seeds = replay ?? Array.from({ length: majorityCount }, (_, i) => firstSeed + i);
    const totals = runSchedules(seeds, { nodes: 5, mode: 'majority', durationMs: 3_000, partitionEveryMs: 400, pauseEveryMs: 700, faultEveryMs: 1_200 });
    expect(totals.acked).toBeGreaterThan(seeds.length * 10);
    if (!replay) {
      expect(totals.partitions).toBeGreaterThan(seeds.length);
      expect(totals.pauses).toBeGreaterThan(seeds.length);
      expect(totals.elections).toBeGreaterThan(seeds.length);
    }
  }, Math.max(60_000, majorityCount * 40));
});

describe('membership changes: replicas added as learners, promoted and removed while everything else goes wrong', () => {
  const membershipCount = Number(process.env.SIM_MEMBERSHIP_SEEDS ?? Math.max(1, Math.floor(count / 4)));
  const seedsOf = () => replay ?? Array.from({ length: membershipCount }, (_, i) => firstSeed + i);
  const run = (options: Omit<ConstructorParameters<typeof Simulation>[0], 'seed'>) => runSchedules(seedsOf(), options);

  it(`in-sync mode keeps every invariant over ${replay ? 'the replayed schedule' : `${membershipCount} seeded schedules`}`, () => {
    const totals = run({ durationMs: 4_000, membershipEveryMs: 400 });
    expect(totals.acked).toBeGreaterThan(seedsOf().length * 20);
    if (!replay) expect(totals.membershipChanges).toBeGreaterThan(seedsOf().length * 2);
  }, Math.max(60_000, membershipCount * 40));

  it(`majority mode with partitions and pauses keeps every invariant over ${replay ? 'the replayed schedule' : `${membershipCount} seeded schedules`}`, () => {
    const totals = run({
      nodes: 5, mode: 'majority', durationMs: 4_000, membershipEveryMs: 400, partitionEveryMs: 500, pauseEveryMs: 900, faultEveryMs: 1_200,
    });
    expect(totals.acked).toBeGreaterThan(seedsOf().length * 10);
    if (!replay) expect(totals.membershipChanges).toBeGreaterThan(seedsOf().length * 2);
  }, Math.max(60_000, membershipCount * 60));
});

describe('leadership transfers asked at random points, with crashes, restarts and membership changes', () => {
  const transferCount = Number(process.env.SIM_TRANSFER_SEEDS ?? Math.max(1, Math.floor(count / 4)));
  const seedsOf = () => replay ?? Array.from({ length: transferCount }, (_, i) => firstSeed + i);

  it(`in-sync mode keeps every invariant over ${replay ? 'the replayed schedule' : `${transferCount} seeded schedules`}`, () => {
    const totals = runSchedules(seedsOf(), { durationMs: 3_000, transferEveryMs: 150, membershipEveryMs: 800 });
    expect(totals.acked).toBeGreaterThan(seedsOf().length * 20);
    if (!replay) {
      expect(totals.transfersStarted).toBeGreaterThan(seedsOf().length * 3);
      expect(totals.transfersDone).toBeGreaterThan(seedsOf().length * 2);
    }
  }, Math.max(60_000, transferCount * 40));

  it(`majority mode with partitions and pauses keeps every invariant over ${replay ? 'the replayed schedule' : `${transferCount} seeded schedules`}`, () => {
    const totals = runSchedules(seedsOf(), {
      nodes: 5, mode: 'majority', durationMs: 3_000, transferEveryMs: 150, membershipEveryMs: 800, partitionEveryMs: 500, pauseEveryMs: 900, faultEveryMs: 1_200,
    });
    expect(totals.acked).toBeGreaterThan(seedsOf().length * 10);
    if (!replay) expect(totals.transfersDone).toBeGreaterThan(seedsOf().length * 2);
  }, Math.max(60_000, transferCount * 60));
});
