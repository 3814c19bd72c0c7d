/**
 * The chat client side of the multi-host test, run inside the client's own
 * network namespace (`ip netns exec ... node --import tsx agent.ts <servers>`).
 * It takes one JSON command per line on stdin and answers one JSON line on
 * stdout: {"id", "ok", "result" | "error"}. Two users chat through the
 * client library; the agent also reads the cluster's status and digests.
 * Other accounts (op "account") can write continuously ("startWriting" ...
 * "stopWriting"), each write recorded with when it started and when (if ever)
 * it was acknowledged.
 */
import { createInterface } from 'node:readline';
import { wholeConversation } from '../../bench/lib/history.js';
import { ChatClient, ClusterClient, type ChatMessage, type ReplicaStatusView } from '../../src/client/index.js';

interface Command {
  id: number;
  op:
    | 'setup'
    | 'chat'
    | 'leader'
    | 'statuses'
    | 'waitInSync'
    | 'waitOutOfSync'
    | 'verify'
    | 'account'
    | 'startWriting'
    | 'writes'
    | 'stopWriting'
    | 'status'
    | 'converged'
    | 'history';
  count?: number;
  replica?: string;
  timeoutMs?: number;
  user?: string;
  to?: string;
  create?: boolean;
  deadlineMs?: number;
  retryBudgetMs?: number;
  address?: string;
}

/** One write of a continuous writer: acknowledged (ackedAt, id) or not (error, or still in flight). */
export interface WriteRecord {
  text: string;
  startedAt: number;
  ackedAt?: number;
  id?: number;
  error?: string;
  failedAt?: number;
}

interface Account {
  client: ChatClient;
  records: WriteRecord[];
  running: boolean;
  loop?: Promise<void>;
}

interface User {
  name: string;
  client: ChatClient;
  received: ChatMessage[];
  sent: { to: string; seq: number; text: string; id: number }[];
  seq: number;
}

const servers = process.argv[2]!.split(',');
const PASSWORD = 'multihost-password';
const users: User[] = [];
const accounts = new Map<string, Account>();
const ops = new ClusterClient({ servers, deadlineMs: 1_000 });

function reply(id: number, body: { ok: true; result: unknown } | { ok: false; error: string }): void {
  process.stdout.write(`${JSON.stringify({ id, ...body })}\n`);
}

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() > end)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (${last})` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function statuses(): Promise<ReplicaStatusView[]> {
  const probes = await ops.statusAll();
  return probes.filter((p) => p.up).map((p) => (p as { status: ReplicaStatusView }).status);
}

async function leader(timeoutMs: number): Promise<ReplicaStatusView> {
  return until('a serving leader', timeoutMs, async () => {
    const all = await statuses();
    return all.find((s) => s.role === 'leader' && s.commitIndex > 0 && s.appliedIndex >= s.commitIndex);
  });
}

async function setup(): Promise<unknown> {
  for (const name of ['alice', 'bob']) {
    const client = new ChatClient({ servers, deadlineMs: 2_000, retryBudgetMs: 30_000 });
    await client.createAccount(name, PASSWORD);
    await client.login(name, PASSWORD);
    const user: User = { name, client, received: [], sent: [], seq: 0 };
    client.subscribe({
      onMessage: (m) => {
        if (m.recipient === name && m.sender !== name) user.received.push(m);
      },
    });
    users.push(user);
  }
  return { users: users.map((u) => u.name) };
}

/** Each user sends `count` messages to the other, one at a time; every one must be acknowledged. */
async function chat(count: number): Promise<unknown> {
  await Promise.all(
    users.map(async (u) => {
      const to = users.find((o) => o !== u)!.name;
      for (let i = 0; i < count; i++) {
        const seq = ++u.seq;
        const text = `${u.name} #${seq}`;
        const m = await u.client.sendMessage(to, text);
        u.sent.push({ to, seq, text, id: m.id });
      }
    }),
  );
  const c = users[0]!.client.connection();
  return {
    acknowledged: users.reduce((n, u) => n + u.sent.length, 0),
    via: c.kind === 'connected' ? c.replicaId : c.kind,
  };
}

async function verify(timeoutMs: number): Promise<unknown> {
  const problems: string[] = [];
  for (const u of users) {
    const expected = users.filter((o) => o !== u).flatMap((o) => o.sent);
    await until(`${u.name} to receive ${expected.length} messages`, timeoutMs, async () =>
      expected.every((s) => u.received.some((r) => r.id === s.id)) ? true : undefined,
    ).catch((err: Error) => problems.push(err.message));
    const ids = u.received.map((m) => m.id);
    if (new Set(ids).size !== ids.length) problems.push(`${u.name} received a message twice`);
    const seqs = u.received.map((m) => Number(m.text.split('#')[1]));
    for (let i = 1; i < seqs.length; i++)
      if (seqs[i]! <= seqs[i - 1]!) problems.push(`${u.name} got #${seqs[i]} after #${seqs[i - 1]}`);
    // And in the stored history, exactly once each.
    const other = users.find((o) => o !== u)!;
    const history = await wholeConversation(u.client, other.name);
    for (const s of u.sent) {
      const found = history.filter((m) => m.text === s.text);
      if (found.length !== 1 || found[0]!.id !== s.id)
        problems.push(`"${s.text}" (id ${s.id}) is stored ${found.length} times in the history`);
    }
  }
  const applied = await until('every replica to apply the same index', timeoutMs, async () => {
    const all = await statuses();
    if (all.length !== servers.length) return undefined;
    return all.every((s) => s.appliedIndex === all[0]!.appliedIndex && s.commitIndex === s.appliedIndex)
      ? all[0]!.appliedIndex
      : undefined;
  });
  const digests = await Promise.all(servers.map((a) => ops.stateDigest(a)));
  if (new Set(digests.map((d) => `${d.appliedIndex}:${d.digest}`)).size !== 1) {
    problems.push(
      `replica digests differ: ${digests.map((d, i) => `${servers[i]} ${d.appliedIndex}:${d.digest.slice(0, 12)}`).join(', ')}`,
    );
  }
  return { problems, appliedIndex: applied, messages: users.reduce((n, u) => n + u.sent.length, 0) };
}

function account(name: string | undefined): Account {
  const a = accounts.get(name ?? '');
  if (!a) throw new Error(`no account ${name} on this agent`);
  return a;
}

/** Sends to `to` one message after another until stopped, recording each. */
async function writeLoop(a: Account, name: string, to: string): Promise<void> {
  let seq = 0;
  while (a.running) {
    const record: WriteRecord = { text: `${name}->${to} #${++seq}`, startedAt: Date.now() };
    a.records.push(record);
    try {
      const m = await a.client.sendMessage(to, record.text);
      record.ackedAt = Date.now();
      record.id = m.id;
    } catch (err) {
      record.error = (err as Error).message;
      record.failedAt = Date.now();
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

/** The cluster settled: every server up, one leader, one epoch, everything applied, digests equal. */
async function converged(timeoutMs: number): Promise<unknown> {
  let last = '';
  return until('the replicas to converge', timeoutMs, async () => {
    const all = await statuses();
    const leaders = all.filter((s) => s.role === 'leader');
    last = all.map((s) => `${s.id} ${s.role} e${s.epoch} commit ${s.commitIndex} applied ${s.appliedIndex}`).join('; ');
    if (all.length !== servers.length || leaders.length !== 1 || new Set(all.map((s) => s.epoch)).size !== 1)
      return undefined;
    if (!all.every((s) => s.appliedIndex === leaders[0]!.commitIndex && s.commitIndex === s.appliedIndex))
      return undefined;
    const digests = await Promise.all(
      servers.map(async (address) => ({ address, ...(await ops.stateDigest(address)) })),
    );
    if (new Set(digests.map((d) => `${d.appliedIndex}:${d.digest}`)).size !== 1) {
      last = `digests differ: ${digests.map((d) => `${d.address} ${d.appliedIndex}:${d.digest.slice(0, 12)}`).join(', ')}`;
      return undefined;
    }
    return { leader: leaders[0]!.id, epoch: leaders[0]!.epoch, appliedIndex: digests[0]!.appliedIndex, digests };
  }).catch((err: Error) => {
    throw new Error(`${err.message}; last seen: ${last}`);
  });
}

async function handle(c: Command): Promise<unknown> {
  const timeoutMs = c.timeoutMs ?? 30_000;
  switch (c.op) {
    case 'setup':
      return setup();
    case 'chat':
      return chat(c.count ?? 5);
    case 'leader': {
      const s = await leader(timeoutMs);
      return { id: s.id, epoch: s.epoch, inSync: s.inSync };
    }
    case 'statuses':
      return (await statuses()).map((s) => ({
        id: s.id,
        role: s.role,
        epoch: s.epoch,
        inSync: s.inSync,
        caughtUp: s.caughtUp,
        leaderId: s.leaderId,
        commitIndex: s.commitIndex,
        appliedIndex: s.appliedIndex,
      }));
    case 'waitInSync':
      return until(`${c.replica} in the in-sync set`, timeoutMs, async () => {
        const l = await leader(timeoutMs);
        return l.inSync.includes(c.replica!) ? { leader: l.id, epoch: l.epoch, inSync: l.inSync } : undefined;
      });
    case 'waitOutOfSync':
      return until(`${c.replica} to leave the in-sync set`, timeoutMs, async () => {
        const l = await leader(timeoutMs);
        return l.inSync.includes(c.replica!) ? undefined : { leader: l.id, epoch: l.epoch, inSync: l.inSync };
      });
    case 'verify':
      return verify(timeoutMs);
    case 'account': {
      const name = c.user!;
      const client = new ChatClient({
        servers,
        deadlineMs: c.deadlineMs ?? 1_000,
        retryBudgetMs: c.retryBudgetMs ?? 20_000,
      });
      accounts.set(name, { client, records: [], running: false });
      if (c.create) await client.createAccount(name, PASSWORD);
      await client.login(name, PASSWORD);
      return { user: name };
    }
    case 'startWriting': {
      const a = account(c.user);
      if (a.running) throw new Error(`${c.user} is writing already`);
      a.running = true;
      a.loop = writeLoop(a, c.user!, c.to!);
      return { started: Date.now() };
    }
    case 'writes':
      return account(c.user).records;
    case 'stopWriting': {
      const a = account(c.user);
      a.running = false;
      await a.loop;
      return a.records;
    }
    case 'status':
      return ops.status(c.address!);
    case 'converged':
      return converged(timeoutMs);
    case 'history': {
      const messages = await wholeConversation(account(c.user).client, c.to!);
      return messages.map((m) => ({ id: m.id, text: m.text, sender: m.sender }));
    }
  }
}

createInterface({ input: process.stdin }).on('line', (line) => {
  const c = JSON.parse(line) as Command;
  handle(c).then(
    (result) => reply(c.id, { ok: true, result }),
    (err: Error) => reply(c.id, { ok: false, error: err.message }),
  );
});
process.stdin.on('end', () => {
  for (const u of users) u.client.close();
  for (const a of accounts.values()) {
    a.running = false;
    a.client.close();
  }
  ops.close();
  process.exit(0);
});
process.stdout.write(`${JSON.stringify({ id: 0, ok: true, result: 'ready' })}\n`);
