/**
 * chat-ops add-replica and remove-replica through the CLI entry point, against
 * in-process replicas (test/support/local-replica.ts) over real gRPC: what the
 * operator is told, what changes, and the exit statuses.
 */
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { ClusterClient } from '../../src/client/index.js';
import { runCli } from '../../src/ops/cli.js';
import { freePort } from '../support/cluster.js';
import { LocalCluster, LOCAL_ADMIN_TOKEN, startLocalServer, type LocalServer } from '../support/local-replica.js';

let cluster: LocalCluster | undefined;
const servers: LocalServer[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.stop()));
  cluster?.close();
  cluster = undefined;
});

/** A, B, C with `leader` leading, and D running but not a member (started with --join). */
async function serve(leader = 'A'): Promise<{ addresses: string[]; d: LocalServer }> {
  cluster = new LocalCluster(['A', 'B', 'C'], leader);
  for (const id of ['A', 'B', 'C']) servers.push(await startLocalServer(cluster.replica(id)));
  const d = await startLocalServer(cluster.addStandby('D'));
  servers.push(d);
  return { addresses: servers.slice(0, 3).map((s) => s.address), d };
}

interface Run {
  code: number;
  out: string;
  err: string;
  questions: string[];
}

/** `onErr` sees standard error so far after each write (to act on progress lines). */
async function chatOps(
  servers: string[],
  args: string[],
  o: { answer?: string; interactive?: boolean; onErr?: (soFar: string) => void } = {},
): Promise<Run> {
  let out = '';
  let err = '';
  const questions: string[] = [];
  const code = await runCli(['node', 'chat-ops', '--servers', servers.join(','), ...args], {
    io: {
      out: (t) => void (out += t),
      err: (t) => {
        err += t;
        o.onErr?.(err);
      },
      columns: 120,
    },
    connect: (options) => new ClusterClient(options),
    env: { CHAT_ADMIN_TOKEN: LOCAL_ADMIN_TOKEN },
    interactive: o.interactive ?? true,
    ask: async (q) => {
      questions.push(q);
      return o.answer;
    },
  });
  return { code, out, err, questions };
}

describe('chat-ops add-replica', () => {
  it('says what will happen and changes nothing when the answer is not yes', async () => {
    const { addresses, d } = await serve();
    for (const answer of ['n', '', 'whatever', undefined]) {
      const run = await chatOps(addresses, ['add-replica', 'D', d.address], { answer });
      expect(run.code).toBe(1);
      expect(run.questions).toEqual([
        `Add D (${d.address}) as a learner, to become a voting member once it has caught up? [y/N] `,
      ]);
      expect(run.err).toContain('D joins as a learner');
      expect(run.err).toContain(`${d.address} answers as D, learner`);
      expect(run.err).toContain('aborted: nothing was changed.');
    }
    expect(cluster!.member('D')).toBeUndefined();
  });

  it('refuses without a terminal and without --yes, changing nothing (exit 2)', async () => {
    const { addresses, d } = await serve();
    const run = await chatOps(addresses, ['add-replica', 'D', d.address], { interactive: false, answer: 'y' });
    expect(run.code).toBe(2);
    expect(run.questions).toEqual([]);
    expect(run.err).toContain('standard input is not a terminal: nothing was changed. Pass --yes');
    expect(cluster!.member('D')).toBeUndefined();
  });

  it('with y adds the learner through a follower, shows its progress, and returns once the leader promoted it', async () => {
    const { addresses, d } = await serve('B');
    cluster!.learnerLag.set('D', 1234);
    // The learner catches up once the command has reported it behind, and the leader promotes it once it reported that.
    const run = await chatOps([addresses[0]!], ['add-replica', 'D', d.address], {
      answer: 'y',
      onErr: (soFar) => {
        if (soFar.includes('entries behind the leader')) cluster!.learnerLag.set('D', 0);
        if (soFar.includes('has caught up; the leader promotes it next') && cluster!.member('D')?.learner)
          cluster!.promote('D');
      },
    });
    expect(run.err).toMatch(/D was added as a learner \(committed at log index \d+, epoch \d+, leader B\)/);
    expect(run.err).toContain('D is a learner, 1234 entries behind the leader, receiving a snapshot');
    expect(run.err).toContain('D is a learner and has caught up; the leader promotes it next');
    expect(run.err).toMatch(/D is a voting member and in sync/);
    expect(run.code).toBe(0);
    expect(run.out).toContain('D is a voting member.');
    expect(run.out).toMatch(new RegExp(`  D +${d.address.replace(/\./g, '\\.')} +voter, in sync`));
    expect(cluster!.member('D')).toMatchObject({ learner: false });
  });

  it('--yes --no-wait --json adds without asking and prints the configuration for scripts', async () => {
    const { addresses, d } = await serve();
    const run = await chatOps(addresses, ['add-replica', 'D', d.address, '--yes', '--no-wait', '--json'], {
      interactive: false,
    });
    expect(run.code).toBe(0);
    expect(run.questions).toEqual([]);
    const doc = JSON.parse(run.out) as {
      id: string;
      voter: boolean;
      alreadyMember: boolean;
      configIndex: number;
      members: { id: string; learner: boolean }[];
    };
    expect(doc).toMatchObject({ id: 'D', voter: false, alreadyMember: false, configIndex: cluster!.configIndex });
    expect(doc.members.map((m) => [m.id, m.learner])).toEqual([
      ['A', false],
      ['B', false],
      ['C', false],
      ['D', true],
    ]);
    expect(cluster!.member('D')).toMatchObject({ learner: true });
  });

  it('gives up waiting after --timeout with exit 4, leaving the learner in place', async () => {
    const { addresses, d } = await serve();
    cluster!.learnerLag.set('D', 50);
    const run = await chatOps(addresses, ['add-replica', 'D', d.address, '--yes', '--timeout', '0.6']);
    expect(run.code).toBe(4);
    expect(run.err).toContain('D is still a learner after');
    expect(run.err).toContain('chat-ops remove-replica D takes it out');
    expect(cluster!.member('D')).toMatchObject({ learner: true });
  });

  it('run again for a learner already added, it only waits (nothing is added twice)', async () => {
    const { addresses, d } = await serve();
    cluster!.addLearner('D', d.address);
    const run = await chatOps(addresses, ['add-replica', 'D', d.address], {
      onErr: (soFar) => {
        if (soFar.includes('nothing to add') && cluster!.member('D')?.learner) cluster!.promote('D');
      },
    });
    expect(run.questions).toEqual([]);
    expect(run.err).toContain(`D (${d.address}) is already in the configuration as a learner: nothing to add.`);
    expect(run.code).toBe(0);
    expect(cluster!.config.filter((m) => m.id === 'D')).toHaveLength(1);
  });

  it('warns when nothing answers at the new address, and refuses a replica that answers under another id', async () => {
    const { addresses, d } = await serve();
    const nowhere = `127.0.0.1:${await freePort()}`;
    const absent = await chatOps(addresses, ['add-replica', 'E', nowhere], { answer: 'n' });
    expect(absent.err).toContain(`Nothing answers at ${nowhere} yet (connection refused)`);
    expect(absent.err).toContain(`chat-server --id E --listen ${nowhere}`);
    const wrong = await chatOps(addresses, ['add-replica', 'E', d.address], { answer: 'y' });
    expect(wrong.code).toBe(1);
    expect(wrong.questions).toEqual([]);
    expect(wrong.err).toContain(`the replica at ${d.address} says it is D, not E: nothing was changed`);
    expect(cluster!.member('E')).toBeUndefined();
  });

  it('checks the id and address before asking anything (exit 2)', async () => {
    const { addresses } = await serve();
    const badId = await chatOps(addresses, ['add-replica', 'no spaces', '127.0.0.1:7004'], { answer: 'y' });
    expect(badId.code).toBe(2);
    expect(badId.err).toContain('"no spaces" is not a replica id');
    const badAddress = await chatOps(addresses, ['add-replica', 'D', 'localhost'], { answer: 'y' });
    expect(badAddress.code).toBe(2);
    expect(badAddress.err).toContain('"localhost" is not a host:port address');
    const badTimeout = await chatOps(addresses, ['add-replica', 'D', '127.0.0.1:7004', '--timeout', 'soon']);
    expect(badTimeout.code).toBe(2);
    expect(cluster!.config).toHaveLength(3);
  });

  it.each([
    [
      grpc.status.FAILED_PRECONDITION,
      'another configuration change is still being committed',
      1,
      'Changes go one at a time',
    ],
    [grpc.status.RESOURCE_EXHAUSTED, 'at most 7 replicas', 1, 'Remove one first'],
    [grpc.status.ALREADY_EXISTS, 'address in use', 1, 'already in the configuration'],
    [grpc.status.INVALID_ARGUMENT, 'bad address', 2, 'the request is not valid'],
    [grpc.status.DEADLINE_EXCEEDED, 'slow', 3, 'the change may or may not have been made'],
  ])('maps the leader refusing with status %i to a message and exit %i', async (code, details, exit, says) => {
    const { addresses, d } = await serve();
    cluster!.membershipFaults.push({ code, details });
    const run = await chatOps(addresses, ['add-replica', 'D', d.address, '--yes']);
    expect(run.code).toBe(exit);
    expect(run.err).toContain(says);
    if (code !== grpc.status.DEADLINE_EXCEEDED) expect(run.err).toContain(`the cluster says: ${details}`);
    expect(cluster!.member('D')).toBeUndefined();
  });

  it('says there is no leader (exit 3) instead of asking', async () => {
    const { addresses, d } = await serve();
    cluster!.setLeader(undefined);
    const run = await chatOps(addresses, ['add-replica', 'D', d.address], { answer: 'y' });
    expect(run.code).toBe(3);
    expect(run.questions).toEqual([]);
    expect(run.err).toContain('no replica leads at the moment');
  });
});

describe('chat-ops remove-replica', () => {
  it('changes nothing when the answer is not yes', async () => {
    const { addresses } = await serve();
    const run = await chatOps(addresses, ['remove-replica', 'C'], { answer: 'N' });
    expect(run.code).toBe(1);
    expect(run.err).toContain(
      'C loses its vote and stops receiving the log once the change is committed; 2 voting members remain: A, B.',
    );
    expect(run.questions).toEqual([`Remove C (${cluster!.replica('C').address}) from the cluster? [y/N] `]);
    expect(cluster!.member('C')).toBeDefined();
  });

  it('with y removes the member and prints the resulting configuration', async () => {
    const { addresses } = await serve();
    const run = await chatOps(addresses, ['remove-replica', 'c'], { answer: 'yes' });
    expect(run.code).toBe(0);
    expect(run.out).toMatch(/C was removed \(committed at log index \d+, epoch \d+\)\./);
    expect(run.out).toMatch(/\*A +127\.0\.0\.1:\d+ +voter, in sync/);
    expect(run.out).not.toMatch(/^ +C /m);
    expect(cluster!.member('C')).toBeUndefined();
  });

  it('removing the leader says it steps down; --json for scripts', async () => {
    const { addresses } = await serve('B');
    const run = await chatOps(addresses, ['remove-replica', 'B', '--yes', '--json'], { interactive: false });
    expect(run.code).toBe(0);
    expect(run.err).toContain('B leads now: it steps down once the change is committed');
    const doc = JSON.parse(run.out) as { id: string; steppedDown: boolean; members: { id: string }[] };
    expect(doc).toMatchObject({ id: 'B', steppedDown: true });
    expect(doc.members.map((m) => m.id)).toEqual(['A', 'C']);
    expect(cluster!.leaderId).toBe('A');
  });

  it("refuses an unknown replica before asking, and maps the leader's refusals", async () => {
    const { addresses } = await serve();
    const unknown = await chatOps(addresses, ['remove-replica', 'Z'], { answer: 'y' });
    expect(unknown.code).toBe(1);
    expect(unknown.questions).toEqual([]);
    expect(unknown.err).toContain('Z is not in the configuration (members: A, B, C): nothing was changed.');

    cluster!.membershipFaults.push({
      code: grpc.status.FAILED_PRECONDITION,
      details: 'removing C would leave no in-sync member',
    });
    const refused = await chatOps(addresses, ['remove-replica', 'C', '--yes']);
    expect(refused.code).toBe(1);
    expect(refused.err).toContain('the cluster says: removing C would leave no in-sync member');
    expect(cluster!.member('C')).toBeDefined();

    const noTerminal = await chatOps(addresses, ['remove-replica', 'C'], { interactive: false });
    expect(noTerminal.code).toBe(2);
    expect(cluster!.member('C')).toBeDefined();
  });
});
