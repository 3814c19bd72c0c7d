import { describe, expect, it } from 'vitest';
import { SimulationFailure } from '../replication/simulator.js';
import { CrossGroupSim, type CrossGroupOptions, type CrossGroupSummary } from './cross-group-sim.js';
import type { Flaw } from './mailbox-state.js';

/**
 * Cross-group delivery (docs/scaling.md) in seeded virtual-time schedules:
 * replica groups of real ReplicaCores exchanging messages through outboxes
 * and idempotent inboxes, and accounts moving between groups, while replicas
 * crash, groups go down whole, links between groups are cut and packets are
 * lost, duplicated and reordered.
 *
 * CROSS_SEEDS=20000 for a soak (CROSS_MAJORITY_SEEDS, a fifth of it by
 * default, for the majority-mode groups), CROSS_SEED=n to replay one
 * schedule (a failure prints it), CROSS_FIRST_SEED to start elsewhere.
 */
const replay = process.env.CROSS_SEED ? [Number(process.env.CROSS_SEED)] : undefined;
const count = Number(process.env.CROSS_SEEDS ?? 1000);
const firstSeed = Number(process.env.CROSS_FIRST_SEED ?? 1);
const seedsOf = (n: number) => replay ?? Array.from({ length: n }, (_, i) => firstSeed + i);

function runSeeds(seeds: readonly number[], options: Omit<CrossGroupOptions, 'seed'>): CrossGroupSummary {
  const totals: CrossGroupSummary = {
    acked: 0,
    ackedCrossGroup: 0,
    deliveredAcrossFailover: 0,
    elections: 0,
    outages: 0,
    crashes: 0,
    snapshots: 0,
    cuts: 0,
    isolations: 0,
    moves: 0,
    relayBatches: 0,
    duplicateArrivals: 0,
  };
  for (const seed of seeds) {
    const sim = new CrossGroupSim({ seed, ...options });
    sim.run();
    const s = sim.summary();
    for (const k of Object.keys(totals) as (keyof CrossGroupSummary)[]) totals[k] += s[k];
  }
  return totals;
}

describe('messages between replica groups: outbox, relay, idempotent inbox', () => {
  it(
    `two in-sync groups: every acknowledged message delivered once, in order, across crashes, outages, cuts and moves (${replay ? 'replayed seed' : `${count} schedules`})`,
    () => {
      const seeds = seedsOf(count);
      const t = runSeeds(seeds, { moveEveryMs: 300 });
      expect(t.ackedCrossGroup).toBeGreaterThan(seeds.length * 10);
      if (!replay) {
        // The schedules must do what they claim: failovers on both sides of deliveries, outages, cuts, duplicates, snapshots.
        expect(t.deliveredAcrossFailover).toBeGreaterThan(t.ackedCrossGroup / 2);
        expect(t.elections).toBeGreaterThan(seeds.length * 2);
        expect(t.outages).toBeGreaterThan(seeds.length / 4);
        expect(t.cuts).toBeGreaterThan(seeds.length);
        expect(t.duplicateArrivals).toBeGreaterThan(seeds.length / 2);
        expect(t.snapshots).toBeGreaterThan(0);
        expect(t.moves).toBeGreaterThan(seeds.length / 2);
      }
    },
    Math.max(120_000, count * 60),
  );

  const majorityCount = Number(process.env.CROSS_MAJORITY_SEEDS ?? Math.max(1, Math.floor(count / 5)));
  it(
    `three majority-mode groups: replicas cut off from their group, crashes, outages, cuts and moves (${replay ? 'replayed seed' : `${majorityCount} schedules`})`,
    () => {
      const seeds = seedsOf(majorityCount);
      const t = runSeeds(seeds, { groups: 3, mode: 'majority', isolateEveryMs: 400, moveEveryMs: 300 });
      expect(t.ackedCrossGroup).toBeGreaterThan(seeds.length * 10);
      if (!replay) {
        expect(t.isolations).toBeGreaterThan(seeds.length);
        expect(t.moves).toBeGreaterThan(seeds.length / 2);
        expect(t.deliveredAcrossFailover).toBeGreaterThan(t.ackedCrossGroup / 2);
      }
    },
    Math.max(120_000, majorityCount * 120),
  );
});

describe('the checker catches a broken protocol', () => {
  /** The first failure among `seeds` schedules with `flaw`, or undefined (the search stops at the first: usually within ten). */
  function firstFailure(flaw: Flaw, extra: Omit<CrossGroupOptions, 'seed'> = {}, seeds = 100): string | undefined {
    for (let seed = 1; seed <= seeds; seed++) {
      try {
        new CrossGroupSim({ seed, flaw, ...extra }).run();
      } catch (err) {
        if (!(err instanceof SimulationFailure)) throw err;
        return err.message;
      }
    }
    return undefined;
  }

  it('an inbox that does not deduplicate stores a relayed message twice', () => {
    expect(firstFailure('inbox-without-dedup')).toMatch(/stored 2 times|out of send order/);
  });

  it('a recipient that acknowledges before committing is caught marking undelivered messages delivered', () => {
    expect(firstFailure('ack-before-commit')).toMatch(
      /marked its stream to slot \w+ delivered up to \d+, but only \d+ are committed there/,
    );
  });

  it('… and without that check, what it loses when its leader is cut off is missing at the end', () => {
    // A leader cut off from its group (majority mode) acknowledges a batch it can never commit.
    const partitions = {
      mode: 'majority',
      isolateEveryMs: 200,
      faultEveryMs: 200,
      checkDeliveredMarks: false,
    } as const;
    expect(firstFailure('ack-before-commit', partitions, 300)).toMatch(/is stored 0 times on the recipient's side/);
  });

  it('a relay that marks a batch delivered when it sends it is caught', () => {
    expect(firstFailure('delivered-on-send', { checkDeliveredMarks: false })).toMatch(
      /is stored 0 times on the recipient's side/,
    );
  });

  it("moving a slot before its users' messages in the outbox are delivered lets later ones overtake them", () => {
    expect(firstFailure('move-without-drain', { moveEveryMs: 300 })).toMatch(/out of send order/);
  });

  it("moving a slot without its streams' numbers stores relayed messages again", () => {
    expect(firstFailure('move-without-highs', { moveEveryMs: 300 })).toMatch(
      /stands at \d+, G\d's outbox at|out of send order|stored 2 times/,
    );
  });

  it('a failure names the seed and how to replay it', () => {
    expect(firstFailure('delivered-on-send')).toMatch(/replay: CROSS_SEED=\d+ npx vitest run test\/multigroup/);
  });
});
