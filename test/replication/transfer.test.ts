/**
 * Leadership transfer in the core (Raft's TimeoutNow), on a lossless network
 * with a one-way delay of 1 ms in virtual time: the leader hands over to a
 * follower that holds its whole log, which takes over without an election
 * timeout and without losing anything committed; what the leader must refuse;
 * and a target that never answers. Transfers at random points of faulty
 * schedules are in simulation.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { ReplicaCore } from '../../src/server/replication/core.js';
import { MAJORITY_POLICY } from '../../src/server/replication/quorum.js';
import type { Action, PeerMessage } from '../../src/server/replication/types.js';

const DELAY_MS = 1;
const ELECTION_MIN_MS = 250;

type Event = Extract<Action, { type: 'event' }> & { replica: string; at: number };

function cluster(mode: 'in-sync' | 'majority', n: number) {
  const ids = Array.from({ length: n }, (_, i) => String.fromCharCode(65 + i));
  const founders = ids.map((id) => ({ id, address: `${id}:1` }));
  const policy = mode === 'majority' ? MAJORITY_POLICY : undefined;
  /** A replica on a data directory of this incarnation (its first one is "1"), with nothing on it yet. */
  const fresh = (id: string, incarnation: string, at: number) =>
    new ReplicaCore(
      {
        id,
        bootstrap: founders,
        seed: ids.indexOf(id) + 7,
        policy,
        timings: { electionMinMs: ELECTION_MIN_MS },
        incarnation: `${id}-${incarnation}`,
      },
      undefined,
      at,
    );
  const cores = new Map(ids.map((id) => [id, fresh(id, '1', 0)]));
  const dead = new Set<string>();
  const events: Event[] = [];
  let inFlight: { at: number; message: PeerMessage }[] = [];
  let now = 0;
  const drain = (core: ReplicaCore) => {
    for (const a of core.takeActions()) {
      if (a.type === 'send' && !dead.has(a.message.to)) inFlight.push({ at: now + DELAY_MS, message: a.message });
      if (a.type === 'event') events.push({ ...a, replica: core.id, at: now });
    }
  };
  const live = () => [...cores.values()].filter((c) => !dead.has(c.id));
  const step = () => {
    now += 1;
    const due = inFlight.filter((m) => m.at <= now);
    inFlight = inFlight.filter((m) => m.at > now);
    for (const { message } of due) {
      const core = cores.get(message.to)!;
      if (dead.has(core.id)) continue;
      core.receive(message, now);
      drain(core);
    }
    if (now % 10 === 0) {
      for (const core of live()) {
        core.tick(now);
        drain(core);
      }
    }
  };
  const readyLeader = () => live().find((c) => c.isReadyLeader);
  const run = (ms: number, until?: () => boolean) => {
    for (const end = now + ms; now < end;) {
      step();
      if (until?.()) return true;
    }
    return false;
  };
  const propose = (core: ReplicaCore, text: string) => {
    const r = core.propose([new TextEncoder().encode(text)], now);
    drain(core);
    return r;
  };
  run(3_000, () => readyLeader() !== undefined);
  const leader = readyLeader();
  if (!leader) throw new Error('no leader');
  for (let i = 0; i < 20; i++) propose(leader, `op ${i}`);
  run(100);
  return { cores, dead, events, run, propose, readyLeader, leader, now: () => now, drain, fresh };
}

describe.each([
  ['in-sync', 3],
  ['majority', 5],
] as const)('leadership transfer (%s mode, %i replicas)', (mode, n) => {
  it('hands over to the most up-to-date follower without an election timeout, keeping everything committed', () => {
    const c = cluster(mode, n);
    const old = c.leader;
    const committed = old.commit;
    const epoch = old.epoch;
    // Writes still in flight when the transfer starts: the target must catch up with them first.
    for (let i = 0; i < 5; i++) c.propose(old, `late ${i}`);
    const asked = c.now();
    const r = old.transferLeadership(undefined, asked);
    c.drain(old);
    expect(r.ok).toBe(true);
    const to = r.ok ? r.to : '';
    expect(to).not.toBe(old.id);
    // No new entries meanwhile: the target catches up with a log that stands still.
    expect(c.propose(old, 'refused').ok).toBe(false);
    expect(old.changeMembership({ type: 'remove', id: to }, c.now())).toMatchObject({ ok: false, reason: 'busy' });

    expect(c.run(ELECTION_MIN_MS, () => c.readyLeader()?.id === to)).toBe(true);
    const took = c.now() - asked;
    const next = c.cores.get(to)!;
    // A few round trips (catch up, timeoutNow, promises, the first entry of the new epoch), far below the election timeout.
    expect(took).toBeLessThan(ELECTION_MIN_MS / 5);
    expect(next.epoch).toBeGreaterThan(epoch);
    expect(next.commit).toBeGreaterThanOrEqual(committed + 5);
    const campaigns = c.events.filter((e) => e.at >= asked && e.kind.startsWith('election.'));
    // One campaign, the target's, without a pre-vote (a pre-vote's success shows as no event, its failure as election.lost).
    expect(
      campaigns
        .filter((e) => e.kind === 'election.started' || e.kind === 'election.won')
        .map((e) => `${e.replica} ${e.kind}`),
    ).toEqual([`${to} election.started`, `${to} election.won`]);
    expect(new Set(campaigns.filter((e) => e.kind === 'election.promised').map((e) => e.replica)).has(old.id)).toBe(
      true,
    );
    expect(campaigns.filter((e) => e.kind === 'election.lost')).toEqual([]);
    expect(campaigns.find((e) => e.kind === 'election.started')?.fields.transfer).toBe(true);
    expect(
      c.events.filter((e) => e.replica === old.id && e.kind === 'leader.transfer_done').map((e) => e.fields.to),
    ).toEqual([to]);

    // The old leader follows, and the new one takes writes.
    c.run(50);
    expect(old.currentRole).toBe('follower');
    expect(old.leader).toBe(to);
    expect(c.propose(next, 'after').ok).toBe(true);
    c.run(120); // followers learn the commit index with the next append or heartbeat
    for (const core of c.cores.values()) expect(core.commit).toBe(next.lastIndex);
  });

  it('hands over to a named follower, and refuses what it cannot do', () => {
    const c = cluster(mode, n);
    const old = c.leader;
    const follower = [...c.cores.values()].find((x) => x !== old)!;
    expect(follower.transferLeadership(undefined, c.now())).toMatchObject({
      ok: false,
      reason: expect.stringContaining('does not lead'),
    });
    expect(old.transferLeadership(old.id, c.now())).toMatchObject({
      ok: false,
      reason: expect.stringContaining('already leads'),
    });
    expect(old.transferLeadership('Z', c.now())).toMatchObject({
      ok: false,
      reason: expect.stringContaining('not a voting member'),
    });
    const target = [...c.cores.keys()]
      .filter((id) => id !== old.id)
      .sort()
      .at(-1)!;
    expect(old.transferLeadership(target, c.now())).toEqual({ ok: true, to: target });
    c.drain(old);
    // Asking again names the transfer under way; another target is refused.
    expect(old.transferLeadership(undefined, c.now())).toEqual({ ok: true, to: target });
    expect(
      old.transferLeadership(
        [...c.cores.keys()].find((id) => id !== old.id && id !== target),
        c.now(),
      ),
    ).toMatchObject({ ok: false });
    expect(c.run(ELECTION_MIN_MS, () => c.readyLeader()?.id === target)).toBe(true);
  });

  it('gives up on a target that never takes over and serves again', () => {
    const c = cluster(mode, n);
    const old = c.leader;
    const target = [...c.cores.keys()].find((id) => id !== old.id)!;
    const r = old.transferLeadership(target, c.now());
    c.drain(old);
    expect(r.ok).toBe(true);
    c.dead.add(target); // it dies before it could campaign
    c.run(2 * ELECTION_MIN_MS + 20);
    expect(c.events.filter((e) => e.kind === 'leader.transfer_failed').map((e) => e.replica)).toEqual([old.id]);
    expect(old.currentRole).toBe('leader');
    expect(old.transferringTo).toBeUndefined();
    const accepted = c.propose(old, 'served again');
    expect(accepted.ok).toBe(true);
    // In in-sync mode it first drops the dead target from the in-sync set; then the write commits.
    c.run(1_000);
    expect(old.commit).toBeGreaterThanOrEqual(accepted.ok ? accepted.firstIndex : Infinity);
  });
});

describe('leadership transfer in in-sync mode', () => {
  it('refuses a target outside the in-sync set', () => {
    const c = cluster('in-sync', 3);
    const old = c.leader;
    const [dropped, other] = [...c.cores.keys()].filter((id) => id !== old.id);
    c.dead.add(dropped!);
    c.run(1_000); // past the sync timeout: the leader drops it from the in-sync set
    expect(old.inSyncSet()).not.toContain(dropped);
    expect(old.transferLeadership(dropped, c.now())).toMatchObject({
      ok: false,
      reason: expect.stringContaining('in the in-sync set'),
    });
    expect(old.transferLeadership(undefined, c.now())).toEqual({ ok: true, to: other });
  });
});

describe('leadership transfer and lost data', () => {
  it('never hands over to a replica that lost its data: refused by name, passed over when the leader picks', () => {
    const c = cluster('in-sync', 3);
    const old = c.leader;
    const [lost, other] = [...c.cores.keys()].filter((id) => id !== old.id);
    c.run(500); // the leader records every member's data directory
    expect(old.config.replicas.map((r) => r.incarnation).sort()).toEqual(['A-1', 'B-1', 'C-1']);
    // `lost` restarts on an empty data directory: the leader notices at its first answer.
    c.cores.set(lost!, c.fresh(lost!, '2', c.now()));
    const noticed = c.run(500, () => old.status(c.now()).peers.find((p) => p.id === lost)?.dataLost === true);
    expect(noticed).toBe(true);
    expect(old.transferLeadership(lost, c.now())).toMatchObject({
      ok: false,
      reason: expect.stringContaining('lost its data'),
    });
    expect(old.transferLeadership(undefined, c.now())).toEqual({ ok: true, to: other });
  });
});
