/**
 * `chat-ops add-replica` and `chat-ops remove-replica`: membership changes,
 * one at a time, through the leader. Each shows the configuration and what the
 * change does, asks (y/N; --yes for scripts; no terminal and no --yes refuses),
 * makes the change, and reports the new configuration. add-replica then waits
 * until the leader has promoted the learner to a voting member, printing its
 * progress. Questions and progress go to standard error, results to standard
 * output (with --json, one JSON document).
 */
import {
  ChatError,
  type ClusterApi,
  type ClusterMemberView,
  type MembershipView,
  type ReplicaStatusView,
} from '../../client/api.js';
import {
  EXIT_CREDENTIALS,
  EXIT_NO_LEADER,
  EXIT_OK,
  EXIT_UNHEALTHY,
  EXIT_USAGE,
  EXIT_WAIT_TIMEOUT,
  shortError,
} from '../model/health.js';
import { formatDuration } from '../model/text.js';
import { checkHostPort, UsageError } from '../options.js';
import { agreed, askLine, canAsk, type Ask } from './confirm.js';
import { credentialRefusal } from './credentials.js';
import type { CommandIo } from './io.js';

/** The server's rule for replica ids. */
const REPLICA_ID = /^[A-Za-z0-9_-]{1,32}$/;

export const DEFAULT_ADD_TIMEOUT_S = 120;
const DEFAULT_POLL_MS = 500;
/** While waiting, an unchanged progress line is repeated this often. */
const PROGRESS_REPEAT_MS = 10_000;

export interface ConfirmOptions {
  /** Skip the question (scripts). */
  yes?: boolean;
  /** Print one JSON document on standard output instead of text. */
  json?: boolean;
  /** Reads the answer; default: a line from standard input. */
  ask?: Ask;
  /** Whether someone can answer; default: standard input is a terminal. */
  interactive?: boolean;
}

export interface AddReplicaOptions extends ConfirmOptions {
  /** Where the other replicas reach it (default: the port of `address` 1000 up). */
  peerAddress?: string;
  /** Wait until the learner is a voting member (default true). */
  wait?: boolean;
  /** How long to wait for that (default 120 s). */
  timeoutMs?: number;
  /** How often to ask the leader meanwhile (default 500 ms). */
  pollMs?: number;
}

export function checkReplicaId(id: string): string {
  if (!REPLICA_ID.test(id)) throw new UsageError(`"${id}" is not a replica id: 1-32 letters, digits, _ or -`);
  return id;
}

/** One address (a list is refused, not cut to its first item). */
function checkAddress(address: string): string {
  return checkHostPort(address.trim(), 'address (where every replica reaches the new one)');
}

/** --timeout in seconds. */
export function timeoutSeconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || n > 86_400)
    throw new UsageError(`--timeout must be a number of seconds above 0 and at most 86400, not "${value}"`);
  return n;
}

/** The configuration as aligned lines: id, address, voter or learner, in sync. */
function memberLines(members: readonly ClusterMemberView[], leaderId = ''): string[] {
  const idWidth = Math.max(2, ...members.map((m) => m.id.length + 1));
  const addressWidth = Math.max(7, ...members.map((m) => m.address.length));
  return members.map((m) => {
    const mark = m.id === leaderId ? '*' : ' ';
    const kind = m.learner ? 'learner (no vote)' : m.inSync ? 'voter, in sync' : 'voter, not in sync';
    return `  ${(mark + m.id).padEnd(idWidth)}  ${(m.address || '?').padEnd(addressWidth)}  ${kind}`;
  });
}

function voters(members: readonly ClusterMemberView[]): ClusterMemberView[] {
  return members.filter((m) => !m.learner);
}

function names(members: readonly ClusterMemberView[]): string {
  return members.map((m) => m.id).join(', ') || 'none';
}

/** What a membership call's failure means for the operator, and the exit status. */
function membershipFailure(err: unknown, action: 'add' | 'remove'): { exitCode: number; lines: string[] } {
  if (!(err instanceof ChatError))
    return { exitCode: EXIT_UNHEALTHY, lines: [`failed: ${err instanceof Error ? err.message : String(err)}`] };
  const says = `the cluster says: ${err.message}`;
  switch (err.code) {
    case 'INVALID_ARGUMENT':
      return { exitCode: EXIT_USAGE, lines: [`refused, the request is not valid (${says})`] };
    case 'ALREADY_EXISTS':
      return {
        exitCode: EXIT_UNHEALTHY,
        lines: [
          `refused: that id or address is already in the configuration (${says})`,
          'chat-ops status lists the members.',
        ],
      };
    case 'NOT_FOUND':
      return {
        exitCode: EXIT_UNHEALTHY,
        lines: [`refused: no such member (${says})`, 'chat-ops status lists the members.'],
      };
    case 'FAILED_PRECONDITION':
      return {
        exitCode: EXIT_UNHEALTHY,
        lines: [
          `refused, the cluster cannot make this change now (${says})`,
          action === 'add'
            ? 'Changes go one at a time: wait until the previous one is done (a learner shows in chat-ops status until it is promoted), then retry.'
            : 'Changes go one at a time, and a removal must leave a voting, in-sync member: wait for the previous change, or for the others to catch up (chat-ops status), then retry.',
        ],
      };
    case 'RESOURCE_EXHAUSTED':
      return {
        exitCode: EXIT_UNHEALTHY,
        lines: [
          `refused: the cluster has as many replicas as it may (${says})`,
          'Remove one first (chat-ops remove-replica).',
        ],
      };
    case 'UNAUTHENTICATED':
    case 'PERMISSION_DENIED':
      return { exitCode: EXIT_CREDENTIALS, lines: credentialRefusal(err) };
    case 'UNIMPLEMENTED':
      return {
        exitCode: EXIT_UNHEALTHY,
        lines: [`the replicas do not know membership changes (${says}); upgrade them first.`],
      };
    case 'UNAVAILABLE':
      return {
        exitCode: EXIT_NO_LEADER,
        lines: [
          `no leader answered (${err.message}).`,
          'The change was not confirmed: check with chat-ops status before trying again.',
        ],
      };
    case 'DEADLINE_EXCEEDED':
      return {
        exitCode: EXIT_NO_LEADER,
        lines: [
          'the leader did not answer in time: the change may or may not have been made.',
          'Check with chat-ops status before trying again.',
        ],
      };
    default:
      return { exitCode: EXIT_UNHEALTHY, lines: [`failed: ${err.code}: ${err.message}`] };
  }
}

/**
 * The leader's own status (with the configuration), or undefined when no leader
 * answers. `lastLeader`, where the leader was last time, is asked first: one call
 * while the leader stays put instead of asking every replica where it is.
 */
async function leaderStatus(cluster: ClusterApi, lastLeader?: string): Promise<ReplicaStatusView | undefined> {
  if (lastLeader) {
    const status = await cluster.status(lastLeader).catch(() => undefined);
    if (status?.role === 'leader') return status;
  }
  const found = await cluster.findLeader().catch(() => undefined);
  if (!found || found.leaderAddress === '') return undefined;
  const status = await cluster.status(found.leaderAddress).catch(() => undefined);
  return status?.role === 'leader' ? status : undefined;
}

function noLeader(io: CommandIo): number {
  io.err(
    'chat-ops: no replica leads at the moment, and membership changes go through the leader.\nchat-ops status says why (a total outage waits for replicas; force-leader is the override).\n',
  );
  return EXIT_NO_LEADER;
}

/** Asks unless --yes. Returns undefined to go ahead, or the exit status to stop with (the reason printed). */
async function confirmChange(
  io: CommandIo,
  o: ConfirmOptions,
  command: string,
  question: string,
): Promise<number | undefined> {
  if (o.yes) return undefined;
  if (!(o.interactive ?? canAsk())) {
    io.err(
      `chat-ops: ${command} changes the cluster and asks first, but standard input is not a terminal: nothing was changed. Pass --yes to go ahead without asking.\n`,
    );
    return EXIT_USAGE;
  }
  const answer = await (o.ask ?? askLine)(`${question} [y/N] `);
  if (!agreed(answer)) {
    io.err('aborted: nothing was changed.\n');
    return EXIT_UNHEALTHY;
  }
  return undefined;
}

function printFailure(io: CommandIo, command: string, err: unknown, action: 'add' | 'remove'): number {
  const failure = membershipFailure(err, action);
  io.err(`chat-ops ${command}: ${failure.lines.join('\n')}\n`);
  return failure.exitCode;
}

function toJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

type Reach = { answers: true; status: ReplicaStatusView } | { answers: false; error: string };

/** Whether something answers at the new replica's address, and as whom. */
function probe(cluster: ClusterApi, address: string): Promise<Reach> {
  return cluster.status(address).then(
    (status) => ({ answers: true as const, status }),
    (err: unknown) => ({ answers: false as const, error: err instanceof Error ? err.message : String(err) }),
  );
}

function answersAs(address: string, s: ReplicaStatusView): string {
  return `${address} answers as ${s.id}, ${s.role}`;
}

/** The plan of an add, as lines for the operator. */
function addPlan(leader: ReplicaStatusView, id: string, address: string, reach: Reach): string[] {
  const before = voters(leader.members);
  const majority = leader.mode === 'majority';
  const lines = [
    `Adding replica ${id} at ${address} (leader ${leader.id}, epoch ${leader.epoch}, ${leader.mode || 'in-sync'} mode).`,
    'Configuration now:',
    ...memberLines(leader.members, leader.id),
    'What happens:',
    `  - ${id} joins as a learner: the leader sends it the log (or a snapshot), and it has no vote and holds up no write meanwhile.`,
    `  - Once it has caught up, the leader makes it a voting member on its own: ${before.length + 1} voting members` +
      (majority
        ? `, and an entry then commits on ${Math.floor((before.length + 1) / 2) + 1} of them.`
        : '; in the in-sync set, every write then waits for it too.'),
  ];
  if (reach.answers) {
    const s = reach.status;
    lines.push(`  - ${answersAs(address, s)}${s.waitingReason ? `: ${s.waitingReason}` : ''}.`);
  } else {
    lines.push(
      `  - Nothing answers at ${address} yet (${shortError(reach.error)}). The leader keeps trying; start it with`,
      `      chat-server --id ${id} --listen ${address} --data-dir <empty dir> --join`,
    );
  }
  return lines;
}

/** The plan of a removal, as lines for the operator. */
function removePlan(leader: ReplicaStatusView, target: ClusterMemberView): string[] {
  const remaining = leader.members.filter((m) => m.id !== target.id);
  const remainingVoters = voters(remaining);
  const lines = [
    `Removing replica ${target.id} (${target.address}) (leader ${leader.id}, epoch ${leader.epoch}, ${leader.mode || 'in-sync'} mode).`,
    'Configuration now:',
    ...memberLines(leader.members, leader.id),
    'What happens:',
    target.learner
      ? `  - ${target.id} is a learner: it stops receiving the log; the voting members stay ${names(remainingVoters)}.`
      : `  - ${target.id} loses its vote and stops receiving the log once the change is committed; ${remainingVoters.length} voting member${remainingVoters.length === 1 ? '' : 's'} remain${remainingVoters.length === 1 ? 's' : ''}: ${names(remainingVoters)}.`,
  ];
  if (target.id === leader.id)
    lines.push(
      `  - ${target.id} leads now: it steps down once the change is committed, and the others elect a new leader (writes pause briefly).`,
    );
  if (!target.learner && leader.mode === 'majority' && remainingVoters.length > 0) {
    lines.push(
      `  - An entry then commits on ${Math.floor(remainingVoters.length / 2) + 1} of ${remainingVoters.length}; the cluster survives ${Math.floor((remainingVoters.length - 1) / 2)} failure(s).`,
    );
  }
  if (!target.learner && remainingVoters.length === 1)
    lines.push(`  - Only ${remainingVoters[0]!.id} is left to vote: if it fails, there is no replica to take over.`);
  lines.push(
    `  - The process of ${target.id} keeps running until you stop it; its data directory no longer belongs to the cluster.`,
  );
  return lines;
}

/** Finds a member by id (exact, then ignoring case) or by address. */
function findMember(members: readonly ClusterMemberView[], target: string): ClusterMemberView | undefined {
  return (
    members.find((m) => m.id === target) ??
    members.find((m) => m.id.toLowerCase() === target.toLowerCase()) ??
    members.find((m) => m.address === target)
  );
}

interface WaitResult {
  exitCode: number;
  members: ClusterMemberView[];
  waitedMs: number;
}

/**
 * One progress report of a learner: a kind (a change of kind is printed at once)
 * and the text. While the leader has not reached it, says what answers at its address.
 */
async function learnerProgress(
  cluster: ClusterApi,
  leader: ReplicaStatusView,
  id: string,
  address: string,
): Promise<{ kind: string; text: string }> {
  const peer = leader.peers.find((p) => p.id === id);
  if (!peer || peer.lastAckMsAgo < 0) {
    const reach = await probe(cluster, address);
    const what = reach.answers ? answersAs(address, reach.status) : `${address}: ${shortError(reach.error)}`;
    return { kind: 'unreached', text: `${id} is a learner; the leader has not reached it yet (${what})` };
  }
  if (peer.lagEntries > 0) {
    const how =
      peer.state === 'snapshot'
        ? ', receiving a snapshot'
        : peer.state === 'probe'
          ? ', the leader is finding where its log ends'
          : '';
    return {
      kind: `behind ${peer.state}`,
      text: `${id} is a learner, ${peer.lagEntries} entries behind the leader${how}`,
    };
  }
  return { kind: 'caught-up', text: `${id} is a learner and has caught up; the leader promotes it next` };
}

async function waitForVoter(
  cluster: ClusterApi,
  io: CommandIo,
  id: string,
  address: string,
  o: AddReplicaOptions,
): Promise<WaitResult> {
  const started = Date.now();
  const deadline = started + (o.timeoutMs ?? DEFAULT_ADD_TIMEOUT_S * 1000);
  const pollMs = o.pollMs ?? DEFAULT_POLL_MS;
  let lastKind = '';
  let lastPrint = 0;
  let lastText = '';
  let members: ClusterMemberView[] = [];
  const say = (kind: string, text: string) => {
    const now = Date.now();
    if (kind === lastKind && now - lastPrint < PROGRESS_REPEAT_MS) return;
    lastKind = kind;
    lastPrint = now;
    lastText = text;
    io.err(`  ${formatDuration(now - started).padStart(6)}  ${text}\n`);
  };
  io.err(
    `Waiting up to ${formatDuration(deadline - started)} for ${id} to become a voting member (Ctrl-C stops waiting; the change stays):\n`,
  );
  let lastLeader: string | undefined;
  for (;;) {
    const leader = await leaderStatus(cluster, lastLeader);
    lastLeader = leader?.address;
    if (!leader) {
      say('no-leader', 'no leader answers at the moment (an election?); asking again');
    } else {
      members = leader.members;
      const member = leader.members.find((m) => m.id === id);
      if (!member) {
        io.err(`chat-ops add-replica: ${id} is no longer in the configuration (removed meanwhile?).\n`);
        return { exitCode: EXIT_UNHEALTHY, members, waitedMs: Date.now() - started };
      }
      if (!member.learner) {
        io.err(
          `  ${formatDuration(Date.now() - started).padStart(6)}  ${id} is a voting member${member.inSync ? ' and in sync' : ''}\n`,
        );
        return { exitCode: EXIT_OK, members, waitedMs: Date.now() - started };
      }
      const progress = await learnerProgress(cluster, leader, id, address);
      say(progress.kind, progress.text);
    }
    if (Date.now() + pollMs > deadline) break;
    await new Promise((r) => setTimeout(r, pollMs));
  }
  io.err(
    `chat-ops add-replica: ${id} is still a learner after ${formatDuration(Date.now() - started)}${lastText ? ` (last: ${lastText})` : ''}.\n` +
      `It stays in the configuration as a learner and the leader promotes it once it catches up; chat-ops status shows it. chat-ops remove-replica ${id} takes it out.\n`,
  );
  return { exitCode: EXIT_WAIT_TIMEOUT, members, waitedMs: Date.now() - started };
}

export async function runAddReplica(
  cluster: ClusterApi,
  io: CommandIo,
  rawId: string,
  rawAddress: string,
  o: AddReplicaOptions = {},
): Promise<number> {
  const id = checkReplicaId(rawId);
  const address = checkAddress(rawAddress);
  const wait = o.wait ?? true;
  const leader = await leaderStatus(cluster);
  if (!leader) return noLeader(io);
  const report = (result: { membership: MembershipView | undefined; already: boolean; waited?: WaitResult }) => {
    const members = result.waited?.members.length
      ? result.waited.members
      : (result.membership?.members ?? leader.members);
    const voter = members.find((m) => m.id === id)?.learner === false;
    if (o.json) {
      io.out(
        toJson({
          action: 'add-replica',
          id,
          address,
          alreadyMember: result.already,
          voter,
          leader: {
            id: result.membership?.leaderId ?? leader.id,
            address: result.membership?.leaderAddress ?? leader.address,
          },
          epoch: result.membership?.epoch ?? leader.epoch,
          configIndex: result.membership?.configIndex ?? null,
          waitedMs: result.waited?.waitedMs ?? 0,
          members,
        }),
      );
    } else {
      io.out(
        `${[`${voter ? `${id} is a voting member.` : `${id} is a learner; the leader makes it a voting member once it has caught up (chat-ops status shows it).`}`, 'Configuration:', ...memberLines(members, result.membership?.leaderId ?? leader.id)].join('\n')}\n`,
      );
    }
  };

  // Already there (e.g. a second run after Ctrl-C while waiting): nothing to change, maybe still something to wait for.
  const existing = leader.members.find((m) => m.id === id);
  if (existing) {
    if (existing.address !== address) {
      io.err(
        `chat-ops add-replica: ${id} is already a member, at ${existing.address}: nothing was changed. To move it, remove it and add it again.\n`,
      );
      return EXIT_UNHEALTHY;
    }
    io.err(
      `${id} (${address}) is already in the configuration as ${existing.learner ? 'a learner' : 'a voting member'}: nothing to add.\n`,
    );
    const waited = existing.learner && wait ? await waitForVoter(cluster, io, id, address, o) : undefined;
    report({ membership: undefined, already: true, waited });
    return waited?.exitCode ?? EXIT_OK;
  }
  const taken = leader.members.find((m) => m.address === address);
  if (taken) {
    io.err(`chat-ops add-replica: ${address} is the address of ${taken.id}: nothing was changed.\n`);
    return EXIT_UNHEALTHY;
  }
  const reach = await probe(cluster, address);
  if (reach.answers && reach.status.id !== id) {
    io.err(
      `chat-ops add-replica: the replica at ${address} says it is ${reach.status.id}, not ${id}: nothing was changed. Start it with --id ${id}, or add it as ${reach.status.id}.\n`,
    );
    return EXIT_UNHEALTHY;
  }
  io.err(`${addPlan(leader, id, address, reach).join('\n')}\n\n`);
  const stop = await confirmChange(
    io,
    o,
    'add-replica',
    `Add ${id} (${address}) as a learner, to become a voting member once it has caught up?`,
  );
  if (stop !== undefined) return stop;

  let membership: MembershipView;
  try {
    membership = await cluster.addReplica(
      id,
      address,
      o.peerAddress === undefined ? undefined : checkAddress(o.peerAddress),
    );
  } catch (err) {
    return printFailure(io, 'add-replica', err, 'add');
  }
  const where = membership.configIndex === undefined ? '' : ` at log index ${membership.configIndex}`;
  io.err(
    `${id} was added as a learner (committed${where}, epoch ${membership.epoch}, leader ${membership.leaderId}).\n`,
  );
  const added = membership.members.find((m) => m.id === id);
  if (!wait || added?.learner === false) {
    report({ membership, already: false });
    return EXIT_OK;
  }
  const waited = await waitForVoter(cluster, io, id, address, o);
  report({ membership, already: false, waited });
  return waited.exitCode;
}

export async function runRemoveReplica(
  cluster: ClusterApi,
  io: CommandIo,
  target: string,
  o: ConfirmOptions = {},
): Promise<number> {
  if (target.trim() === '') throw new UsageError('name the replica to remove by its id (or address)');
  const leader = await leaderStatus(cluster);
  if (!leader) return noLeader(io);
  const member = findMember(leader.members, target.trim());
  if (!member) {
    io.err(
      `chat-ops remove-replica: ${target} is not in the configuration (members: ${leader.members.map((m) => `${m.id}${m.learner ? ' (learner)' : ''}`).join(', ') || 'none'}): nothing was changed.\n`,
    );
    return EXIT_UNHEALTHY;
  }
  io.err(`${removePlan(leader, member).join('\n')}\n\n`);
  const stop = await confirmChange(
    io,
    o,
    'remove-replica',
    `Remove ${member.id} (${member.address}) from the cluster?`,
  );
  if (stop !== undefined) return stop;

  let membership: MembershipView;
  try {
    membership = await cluster.removeReplica(member.id);
  } catch (err) {
    return printFailure(io, 'remove-replica', err, 'remove');
  }
  const steppedDown = member.id === membership.leaderId;
  if (o.json) {
    io.out(
      toJson({
        action: 'remove-replica',
        id: member.id,
        address: member.address,
        steppedDown,
        leader: { id: membership.leaderId, address: membership.leaderAddress },
        epoch: membership.epoch,
        configIndex: membership.configIndex ?? null,
        members: membership.members,
      }),
    );
    return EXIT_OK;
  }
  const where = membership.configIndex === undefined ? '' : ` at log index ${membership.configIndex}`;
  const lines = [`${member.id} was removed (committed${where}, epoch ${membership.epoch}).`];
  if (steppedDown)
    lines.push(`${member.id} led and steps down; the others elect a new leader (chat-ops status shows who).`);
  lines.push('Configuration:', ...memberLines(membership.members, steppedDown ? '' : membership.leaderId));
  lines.push(`You may now stop ${member.id}'s chat-server.`);
  io.out(`${lines.join('\n')}\n`);
  return EXIT_OK;
}
