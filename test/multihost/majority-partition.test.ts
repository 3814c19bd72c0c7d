/**
 * Five replicas in majority mode, each in its own network namespace with its
 * own address (see netns.ts), and two chat clients in namespaces of their own
 * writing continuously through the client library: alice (to bob) on what
 * becomes the majority side, carol (to dave) on what becomes the minority side.
 *
 * The switch is split in two: the leader, one follower and carol's client on
 * one side, the other three replicas and alice's client on the other. The
 * three must elect a leader and keep acknowledging alice's writes; the old
 * leader, hearing from no majority, must step down (check-quorum), and none
 * of carol's writes may be acknowledged while the partition lasts. Then the
 * partition heals; after that the leader of the day is cut off alone (its
 * cable unplugged) and plugged back in; last, the next leader's packets to
 * the other replicas are dropped while theirs still reach it (a one-way cut),
 * and let through again. Each time a new leader must take over and both
 * clients' writes must go on.
 *
 * At the end every acknowledged write must be stored exactly once (each
 * user's history, read from the leader), every replica must hold the same
 * state (equal state digests at the same applied index), and no epoch may
 * have had two leaders, as the replicas' own log files tell it.
 *
 * Needs root (CI runs as root). Elsewhere it fails with the reason, unless
 * CHAT_SKIP_NETNS=1 says to skip it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitUntil } from '../support/cluster.js';
import { Agent, LabReplicas } from './lab-processes.js';
import { labUnavailable, NetnsLab } from './netns.js';
import type { WriteRecord } from './agent.js';

const REPLICAS = ['A', 'B', 'C', 'D', 'E'];
const skip = process.env.CHAT_SKIP_NETNS === '1';

interface StatusRow {
  id: string;
  role: string;
  epoch: number;
  leaderId: string;
  commitIndex: number;
  appliedIndex: number;
}

describe.skipIf(skip)('a five-replica majority cluster partitioned by the network (namespaces)', () => {
  const lab = new NetnsLab();
  let root = '';
  let replicas: LabReplicas | undefined;
  const agents: Agent[] = [];
  let unavailable: string | undefined;

  beforeAll(() => {
    unavailable = labUnavailable();
    if (unavailable) return;
    root = mkdtempSync(join(tmpdir(), 'chat-partition-'));
    lab.create([...REPLICAS, 'cmaj', 'cmin']);
    replicas = new LabReplicas(lab, root, REPLICAS, ['--mode', 'majority']);
  });

  afterAll(async () => {
    await Promise.all(agents.map((a) => a.stop()));
    await replicas?.killAll();
    lab.destroy();
    if (root) rmSync(root, { recursive: true, force: true });
    expect(lab.leftovers(), 'network namespaces left behind').toEqual([]);
  });

  it('elects on the majority side only, acknowledges nothing on the minority side, and loses no acknowledged write', async () => {
    if (unavailable)
      throw new Error(
        `the partition test cannot run here: ${unavailable}. Set CHAT_SKIP_NETNS=1 to skip it explicitly.`,
      );
    const r = replicas!;
    for (const id of REPLICAS) r.start(id);
    const maj = Agent.spawn(lab, 'cmaj', r.addresses());
    const min = Agent.spawn(lab, 'cmin', r.addresses());
    agents.push(maj, min);

    const step = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
      try {
        return await fn();
      } catch (err) {
        throw new Error(`${what}: ${(err as Error).message}\n${r.logTails()}`);
      }
    };
    /** Waits until `user` (on `agent`) has `count` acknowledged writes that started at or after `since`. */
    const progress = (what: string, agent: Agent, user: string, since: number, count = 10, timeoutMs = 20_000) =>
      step(`${user}'s writes going on (${what})`, () =>
        waitUntil(
          `${count} acknowledged writes by ${user} started after ${what}`,
          timeoutMs,
          async () => {
            const writes = await agent.call<WriteRecord[]>('writes', { user });
            return writes.filter((w) => w.startedAt >= since && w.ackedAt !== undefined).length >= count || undefined;
          },
          100,
        ),
      );
    const leaderOf = (agent: Agent) => step('a serving leader', () => agent.call<{ id: string }>('leader', {}, 20_000));
    /**
     * Whether the replica's own log says it no longer leads: its last election.won is followed by a
     * leader.stepped_down. (Asked from the log: a replica cut off cannot be asked. And not "stepped down
     * after the cut": under load the leader may change on its own just before the cut.)
     */
    const notLeadingByLog = (id: string) => {
      const kinds = r
        .logLines(id)
        .map((l) => l.event)
        .filter((e) => e === 'election.won' || e === 'election.forced' || e === 'leader.stepped_down');
      return kinds.length > 0 && kinds[kinds.length - 1] === 'leader.stepped_down';
    };

    await leaderOf(maj);
    await step('accounts', async () => {
      for (const user of ['alice', 'bob', 'dave']) await maj.call('account', { user, create: true }, 20_000);
      // carol gives up on a write after 2 s, so that several writes are tried while her side is cut off.
      await min.call('account', { user: 'carol', create: true, retryBudgetMs: 2_000 }, 20_000);
    });
    const startedAt = Date.now();
    await maj.call('startWriting', { user: 'alice', to: 'bob' });
    await min.call('startWriting', { user: 'carol', to: 'dave' });
    await progress('the start', maj, 'alice', startedAt);
    await progress('the start', min, 'carol', startedAt);

    // --- Two-way partition: {old leader, one follower, carol} | {three replicas, alice}.
    const oldLeader = (await leaderOf(maj)).id;
    const minority = [oldLeader, REPLICAS.find((id) => id !== oldLeader)!];
    const majority = REPLICAS.filter((id) => !minority.includes(id));
    lab.partition([
      [...majority, 'cmaj'],
      [...minority, 'cmin'],
    ]);
    const cutAt = Date.now();

    const newLeader = (await leaderOf(maj)).id;
    expect(majority, `the leader elected during the partition (${newLeader}) is on the majority side`).toContain(
      newLeader,
    );
    await progress('the partition', maj, 'alice', cutAt);
    await step(`the old leader ${oldLeader} stepping down`, () =>
      waitUntil(
        `${oldLeader} to step down`,
        10_000,
        async () => {
          const s = await min.call<StatusRow>('status', { address: r.address(oldLeader) }, 5_000);
          return s.role !== 'leader' || undefined;
        },
        100,
      ),
    );
    await step(`${oldLeader} logging that it stepped down`, () =>
      waitUntil(`leader.stepped_down in ${oldLeader}'s log`, 5_000, () => notLeadingByLog(oldLeader) || undefined, 100),
    );
    // Let carol's side try for a while without a majority (at least one of her writes runs into its retry budget).
    await step('carol trying to write without a majority', () =>
      waitUntil(
        'a write by carol to fail during the partition',
        15_000,
        async () => {
          const writes = await min.call<WriteRecord[]>('writes', { user: 'carol' });
          return writes.some((w) => w.startedAt >= cutAt && w.error !== undefined) || undefined;
        },
        200,
      ),
    );
    for (const id of minority) {
      const s = await step(`the status of ${id}`, () =>
        min.call<StatusRow>('status', { address: r.address(id) }, 5_000),
      );
      expect(s.role, `${id} on the minority side during the partition`).not.toBe('leader');
    }
    const healAt = Date.now();
    lab.heal();

    const carolDuring = (await min.call<WriteRecord[]>('writes', { user: 'carol' })).filter(
      (w) => w.startedAt >= cutAt && w.startedAt < healAt,
    );
    expect(carolDuring.length, 'carol tried to write during the partition').toBeGreaterThan(0);
    expect(
      carolDuring.filter((w) => w.ackedAt !== undefined && w.ackedAt < healAt),
      'writes acknowledged on the minority side during the partition',
    ).toEqual([]);

    await progress('the heal', maj, 'alice', healAt);
    await progress('the heal', min, 'carol', healAt);

    // --- The leader alone cut off (its cable unplugged), then plugged back in.
    const lonely = (await leaderOf(maj)).id;
    lab.cut(lonely);
    const lonelyAt = Date.now();
    const nextLeader = (await leaderOf(maj)).id;
    expect(nextLeader, 'a leader other than the cut-off one').not.toBe(lonely);
    await progress(`${lonely} cut off`, maj, 'alice', lonelyAt);
    await progress(`${lonely} cut off`, min, 'carol', lonelyAt);
    await step(`${lonely} stepping down while cut off`, () =>
      waitUntil(`leader.stepped_down in ${lonely}'s log`, 10_000, () => notLeadingByLog(lonely) || undefined, 100),
    );
    const plugAt = Date.now();
    lab.restore(lonely);
    await progress(`${lonely} plugged back in`, maj, 'alice', plugAt);
    await progress(`${lonely} plugged back in`, min, 'carol', plugAt);

    // --- A one-way cut: the leader's packets to the other replicas are lost, theirs still reach it
    // (and the clients still reach it both ways).
    const mute = (await leaderOf(maj)).id;
    const others = REPLICAS.filter((id) => id !== mute);
    lab.oneWayCut(mute, others);
    const muteAt = Date.now();
    await step(`a leader other than ${mute}`, () =>
      waitUntil(
        `a leader other than ${mute}`,
        20_000,
        async () => {
          const rows = await maj.call<StatusRow[]>('statuses', {}, 10_000);
          return rows.some((s) => s.role === 'leader' && s.id !== mute && s.commitIndex > 0) || undefined;
        },
        100,
      ),
    );
    await progress(`${mute}'s packets to the replicas lost`, maj, 'alice', muteAt);
    await progress(`${mute}'s packets to the replicas lost`, min, 'carol', muteAt);
    await step(`${mute} stepping down while it cannot reach the others`, () =>
      waitUntil(
        `${mute} to step down`,
        10_000,
        async () => {
          const s = await maj.call<StatusRow>('status', { address: r.address(mute) }, 5_000);
          return (s.role !== 'leader' && notLeadingByLog(mute)) || undefined;
        },
        100,
      ),
    );
    const unmuteAt = Date.now();
    lab.oneWayRestore(mute, others);
    await progress(`${mute} reaching the others again`, maj, 'alice', unmuteAt);
    await progress(`${mute} reaching the others again`, min, 'carol', unmuteAt);

    // --- Stop writing and check.
    const alice = await maj.call<WriteRecord[]>('stopWriting', { user: 'alice' }, 30_000);
    const carol = await min.call<WriteRecord[]>('stopWriting', { user: 'carol' }, 30_000);
    const final = await step('the replicas converging', () =>
      maj.call<{ leader: string; appliedIndex: number }>('converged', {}, 30_000),
    );
    expect(final.appliedIndex).toBeGreaterThan(0);

    const unackedStored: string[] = [];
    for (const [agent, user, to, writes] of [
      [maj, 'alice', 'bob', alice],
      [min, 'carol', 'dave', carol],
    ] as const) {
      const history = await step(`${user}'s history`, () =>
        agent.call<{ id: number; text: string; sender: string }[]>('history', { user, to }, 30_000),
      );
      const problems: string[] = [];
      const acked = writes.filter((w) => w.ackedAt !== undefined);
      for (const w of acked) {
        const stored = history.filter((m) => m.text === w.text);
        if (stored.length !== 1 || stored[0]!.id !== w.id)
          problems.push(
            `"${w.text}" (acknowledged as id ${w.id}) is stored ${stored.length} times (ids ${stored.map((m) => m.id).join(',')})`,
          );
      }
      const ids = history.map((m) => m.id);
      if (new Set(ids).size !== ids.length) problems.push(`${user}'s history repeats an id`);
      const texts = history.map((m) => m.text);
      if (new Set(texts).size !== texts.length) problems.push(`${user}'s history holds a message twice`);
      expect(problems, `${user}: ${acked.length} acknowledged of ${writes.length} tried`).toEqual([]);
      // An unacknowledged write may or may not be stored; only counted, for the summary below.
      const stored = writes.filter((w) => w.ackedAt === undefined && history.some((m) => m.text === w.text));
      const when = (t: number | undefined) => (t === undefined ? '-' : `${t - cutAt} ms`);
      unackedStored.push(
        `${user} ${stored.length}/${writes.length - acked.length}${stored.map((w) => ` ("${w.text}" started ${when(w.startedAt)}, failed ${when(w.failedAt)} after the cut)`).join('')}`,
      );
    }

    // No epoch had two leaders, by every replica's own log: neither two winners nor a follower
    // following another replica than the winner. Nothing was refused as a safety violation.
    const won = new Map<number, Set<string>>();
    const leadersOf = new Map<number, Set<string>>();
    const violations: string[] = [];
    const evidence = new Map<number, string[]>();
    const mislabelled: string[] = [];
    const note = (map: Map<number, Set<string>>, epoch: number, leader: string) =>
      map.set(epoch, (map.get(epoch) ?? new Set<string>()).add(leader));
    /**
     * The epoch a leadership line is about: the one its message names ("C leads epoch 7 ...", "A follows C
     * in epoch 7"), else the logged one. Events carry the epoch they happened in, so the two agree; a line
     * where they do not is printed below, as the sign of that bug coming back.
     */
    const epochOf = (line: Record<string, unknown>, id: string) => {
      const named = /\bepoch (\d+)\b/.exec(String(line.msg));
      if (named && Number(named[1]) !== Number(line.epoch))
        mislabelled.push(`${id}: "${String(line.msg)}" logged with epoch ${String(line.epoch)}`);
      return named ? Number(named[1]) : Number(line.epoch);
    };
    for (const id of REPLICAS) {
      for (const line of r.logLines(id)) {
        if (line.event === 'safety.violation') violations.push(`${id}: ${String(line.msg)}`);
        if (typeof line.event === 'string' && /^(election|leader)\./.test(line.event)) {
          const named = /\bepoch (\d+)\b/.exec(String(line.msg));
          for (const epoch of new Set([Number(line.epoch), ...(named ? [Number(named[1])] : [])])) {
            evidence.set(epoch, [
              ...(evidence.get(epoch) ?? []),
              `${new Date(Number(line.time)).toISOString()} ${id} ${line.event} (logged with epoch ${String(line.epoch)}): ${String(line.msg)}`,
            ]);
          }
        }
        if (line.event === 'election.won' || line.event === 'election.forced') {
          const epoch = epochOf(line, id);
          note(won, epoch, String(line.replica));
          note(leadersOf, epoch, String(line.replica));
        }
        if (line.event === 'leader.changed' && line.leader) note(leadersOf, epochOf(line, id), String(line.leader));
      }
    }
    if (mislabelled.length > 0)
      console.log(`log lines with another epoch than their message names:\n${mislabelled.join('\n')}`);
    const quarantined = REPLICAS.map(
      (id) => `${id} ${r.logLines(id).filter((l) => l.event === 'log.quarantined').length}`,
    ).join(', ');
    console.log(
      `partition: ${minority.join('+')} | ${majority.join('+')}, old leader ${oldLeader}, new leader ${newLeader}; ` +
        `carol tried ${carolDuring.length} writes during it, ${carolDuring.filter((w) => w.ackedAt !== undefined).length} acknowledged after the heal; ` +
        `then ${lonely} cut off alone, next leader ${nextLeader}; then ${mute} muted (one way); acknowledged: alice ${alice.filter((w) => w.ackedAt).length}/${alice.length}, ` +
        `carol ${carol.filter((w) => w.ackedAt).length}/${carol.length}; unacknowledged but stored: ${unackedStored.join(', ')}; applied index ${final.appliedIndex}; ${won.size} elections; log.quarantined events: ${quarantined}; ` +
        `phases: start ${cutAt - startedAt} ms, partition ${healAt - cutAt} ms, leader cut off ${plugAt - lonelyAt} ms, ${mute} muted ${unmuteAt - muteAt} ms`,
    );
    expect(violations, 'safety.violation events').toEqual([]);
    for (const [epoch, leaders] of leadersOf) {
      expect(
        [...leaders],
        `the leaders of epoch ${epoch}:\n${(evidence.get(epoch) ?? []).sort().join('\n')}\n`,
      ).toHaveLength(1);
    }
    expect(
      won.size,
      'elections seen in the logs (the first, one in the partition, one after the leader was cut off, one after it was muted)',
    ).toBeGreaterThanOrEqual(4);
  }, 90_000);
});
