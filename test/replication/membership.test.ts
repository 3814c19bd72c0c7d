/**
 * The configuration as values, and what a leader says to membership changes it
 * must refuse. The schedules that exercise changes under failures are in
 * simulation.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { NOT_A_MEMBER_YET, ReplicaCore } from '../../src/server/replication/core.js';
import {
  decodeConfig,
  encodeConfig,
  EPOCH_SLOTS,
  initialConfig,
  learnersOf,
  nextEpochOfSlot,
  votersOf,
  withLearner,
  withPromoted,
  without,
} from '../../src/server/replication/membership.js';
import { MAJORITY_POLICY } from '../../src/server/replication/quorum.js';
import type { MembershipResult, PeerMessage } from '../../src/server/replication/types.js';

const founders = [
  { id: 'C', address: 'c:1' },
  { id: 'A', address: 'a:1' },
  { id: 'B', address: 'b:1' },
];

describe('configurations', () => {
  it('gives the founders slots in id order and every replica its own epochs, forever', () => {
    const cfg = initialConfig(founders);
    expect(cfg.replicas.map((r) => [r.id, r.slot])).toEqual([
      ['A', 0],
      ['B', 1],
      ['C', 2],
    ]);
    const grown = withPromoted(withLearner(cfg, 'D', 'd:1'), 'D');
    const shrunk = withLearner(without(grown, 'B'), 'E', 'e:1');
    expect(shrunk.replicas.map((r) => [r.id, r.slot])).toEqual([
      ['A', 0],
      ['C', 2],
      ['D', 3],
      ['E', 4],
    ]);
    // No two slots ever own the same epoch, and each slot gets epochs above any given one.
    const owners = new Map<number, number>();
    for (let slot = 0; slot < 5; slot++) {
      let e = 0;
      for (let round = 0; round < 20; round++) {
        const next = nextEpochOfSlot(slot, e);
        expect(next).toBeGreaterThan(e);
        expect(next % EPOCH_SLOTS).toBe(slot);
        expect(owners.get(next), `epoch ${next}`).toBeUndefined();
        owners.set(next, slot);
        e = next;
      }
    }
  });

  it('adds a learner without a vote, promotes it into the in-sync set, and removes from everything', () => {
    const withD = withLearner(initialConfig(founders), 'D', 'd:1');
    expect(votersOf(withD)).toEqual(['A', 'B', 'C']);
    expect(learnersOf(withD)).toEqual(['D']);
    expect(withD.inSync).toEqual(['A', 'B', 'C']);
    const promoted = withPromoted(withD, 'D');
    expect(votersOf(promoted)).toEqual(['A', 'B', 'C', 'D']);
    expect(promoted.inSync).toEqual(['A', 'B', 'C', 'D']);
    const removed = without(promoted, 'B');
    expect(votersOf(removed)).toEqual(['A', 'C', 'D']);
    expect(removed.inSync).toEqual(['A', 'C', 'D']);
  });

  it('a replica started to join says it waits to be added from the start, before any tick', () => {
    const joining = new ReplicaCore({ id: 'D', bootstrap: [], seed: 1 }, undefined, 0);
    expect(joining.status(0)).toMatchObject({ role: 'follower', waitingReason: NOT_A_MEMBER_YET });
    const founder = new ReplicaCore({ id: 'A', bootstrap: founders, seed: 1 }, undefined, 0);
    expect(founder.status(0).waitingReason).toBe('');
  });

  it('round-trips through a config entry, placed where the entry stands', () => {
    const cfg = withLearner(initialConfig(founders), 'D', 'd:1');
    const back = decodeConfig({ index: 7, epoch: 65, kind: 'config', data: encodeConfig(cfg) });
    expect(back).toEqual({ ...cfg, index: 7, epoch: 65 });
  });
});

/**
 * Cores on a lossless, instant network in virtual time: `run(ms)` ticks every
 * 5 ms and delivers every message, except between replicas on different sides
 * of `cut` (the cut ones and the rest).
 */
function network(cores: Map<string, ReplicaCore>, cut: Set<string> = new Set()) {
  let now = 0;
  return {
    now: () => now,
    run(ms: number) {
      for (const end = now + ms; now < end; now += 5) {
        for (const core of cores.values()) core.tick(now);
        for (let round = 0; round < 10; round++) {
          const messages: PeerMessage[] = [];
          for (const core of cores.values())
            for (const a of core.takeActions()) if (a.type === 'send') messages.push(a.message);
          if (messages.length === 0) break;
          for (const m of messages) if (cut.has(m.from) === cut.has(m.to)) cores.get(m.to)?.receive(m, now);
        }
      }
    },
  };
}

/** A three-replica cluster of cores, driven until one leads and has committed its first entry. */
function clusterWithLeader(mode: 'in-sync' | 'majority') {
  const policy = mode === 'majority' ? MAJORITY_POLICY : undefined;
  const cores = new Map(
    founders.map((f) => [f.id, new ReplicaCore({ id: f.id, bootstrap: founders, seed: 1, policy }, undefined, 0)]),
  );
  const { run, now } = network(cores);
  run(3_000);
  const leader = [...cores.values()].find((c) => c.isReadyLeader);
  if (!leader) throw new Error('no leader');
  return { cores, leader, run, now };
}

describe.each(['in-sync', 'majority'] as const)('a leader asked to change the membership (%s mode)', (mode) => {
  const refusal = (r: MembershipResult) => (r.ok ? 'accepted' : r.reason);

  it('refuses on a follower, naming the leader', () => {
    const { cores, leader, now } = clusterWithLeader(mode);
    const follower = [...cores.values()].find((c) => c !== leader)!;
    const r = follower.changeMembership({ type: 'add', id: 'D', address: 'd:1' }, now());
    expect(r).toMatchObject({ ok: false, reason: 'not_leader', leaderId: leader.id });
  });

  it('refuses a second change while the first is uncommitted, an existing id or address, and an unknown removal', () => {
    const { leader, now } = clusterWithLeader(mode);
    expect(refusal(leader.changeMembership({ type: 'add', id: 'A', address: 'x:1' }, now()))).toBe('exists');
    expect(refusal(leader.changeMembership({ type: 'add', id: 'D', address: 'b:1' }, now()))).toBe('exists');
    expect(refusal(leader.changeMembership({ type: 'remove', id: 'Z' }, now()))).toBe('not_found');
    const added = leader.changeMembership({ type: 'add', id: 'D', address: 'd:1' }, now());
    expect(added.ok).toBe(true);
    // Nothing has been acked yet: the learner entry is not committed.
    expect(refusal(leader.changeMembership({ type: 'remove', id: 'B' }, now()))).toBe('busy');
    expect(learnersOf(leader.config)).toEqual(['D']);
  });

  it('commits a removal and shrinks the quorum to the remaining voters', () => {
    const { cores, leader, run, now } = clusterWithLeader(mode);
    const victim = [...cores.keys()].find((id) => id !== leader.id)!;
    const r = leader.changeMembership({ type: 'remove', id: victim }, now());
    expect(r.ok).toBe(true);
    run(500);
    expect(leader.commit).toBeGreaterThanOrEqual(r.ok ? r.index : Infinity);
    expect(votersOf(leader.config)).not.toContain(victim);
    // The removed replica learned it and does not campaign: it is no voter in its own latest configuration.
    expect(votersOf(cores.get(victim)!.config)).not.toContain(victim);
    run(3_000);
    expect(cores.get(victim)!.currentRole).toBe('follower');
    expect(leader.currentRole).toBe('leader');
  });
});

describe('a minority cut off from the leader (majority mode)', () => {
  it('keeps failing its pre-votes without driving epochs up, and follows the leader after the heal', () => {
    const five = ['A', 'B', 'C', 'D', 'E'].map((id) => ({ id, address: `${id}:1` }));
    const cores = new Map(
      five.map((f, i) => [
        f.id,
        new ReplicaCore({ id: f.id, bootstrap: five, seed: i + 1, policy: MAJORITY_POLICY }, undefined, 0),
      ]),
    );
    const cut = new Set<string>();
    const { run } = network(cores, cut);
    run(3_000);
    const leader = [...cores.values()].find((c) => c.isReadyLeader)!;
    const minority = [...cores.keys()].filter((id) => id !== leader.id).slice(0, 2);
    for (const id of minority) cut.add(id);
    const before = Math.max(...[...cores.values()].map((c) => c.epoch));
    run(10_000); // dozens of election timeouts
    expect(Math.max(...minority.map((id) => cores.get(id)!.epoch))).toBe(before);
    cut.clear();
    run(2_000);
    expect(leader.isReadyLeader).toBe(true);
    for (const id of minority) expect(cores.get(id)!.leader).toBe(leader.id);
    // The next election (the leader crashes) takes one of the next epochs, not one past the minority's failed tries.
    cores.delete(leader.id);
    run(3_000);
    const next = [...cores.values()].find((c) => c.isReadyLeader)!;
    expect(next.epoch - before).toBeLessThanOrEqual(2 * EPOCH_SLOTS);
  });
});
