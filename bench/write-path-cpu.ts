/**
 * CPU per message of the write path outside the log, in one process, with no
 * network: what a replica spends on each sendMessage besides the replicated
 * log and gRPC's transport.
 *
 * - follower: decode the op from its log entry and apply it (ChatState.apply),
 *   a transaction per batch, as a follower applies committed entries;
 * - leader: the ChatService SendMessage handler (session check, validation,
 *   the op built and encoded), then the same decode and apply, and the answer;
 * - pages: WAL frames (4 KiB pages) written per message, by the b-tree each
 *   page belongs to (`--by-tree`), with automatic checkpoints off for that pass.
 *   Writing the pages is most of a commit's cost (two write calls per frame,
 *   and the checkpoint writes each page again).
 *
 * CPU time (process.cpuUsage, user + system) is steadier than wall-clock
 * throughput on a shared machine. `--compare <dir>` runs the same measurement
 * on another checkout (e.g. the main branch, with node_modules linked) in
 * alternating child processes, so both see the same machine:
 *
 *   node --import tsx bench/write-path-cpu.ts --by-tree
 *   node --import tsx bench/write-path-cpu.ts --compare /tmp/main-checkout --rounds 5
 *   node --import tsx bench/write-path-cpu.ts --batch 256 --keys ordered --sql 'DROP INDEX chat_messages_pair'
 *
 * The CPU is split into chunks and the quietest chunk reported: other work on
 * the machine only ever adds to it.
 */
import { Command } from 'commander';
import { closeSync, fstatSync, mkdtempSync, openSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** µs of CPU per message: the quietest of the chunks a measurement is split into, and the median chunk. */
interface Cpu {
  min: number;
  median: number;
}

interface Measurement {
  root: string;
  follower: Cpu;
  leader: Cpu;
  /** Pages (WAL frames) written per message at this batch size, in all and by b-tree. */
  pagesPerMessage: number;
  pagesByTree: Record<string, number>;
}

const HERE = fileURLToPath(import.meta.url);
const OWN_ROOT = resolve(HERE, '../..');
/** What a run measures with; set from the options. */
let settings: { users: number; sql: string[] } = { users: 16, sql: [] };
const TEXT = 'the quick brown fox jumps over the lazy dog; '.repeat(3).slice(0, 100);

/* The modules of the checkout being measured, loaded by path so another checkout can be measured the same way. */
interface Modules {
  openReplicaDatabase: (dir: string) => import('better-sqlite3').Database;
  ChatState: new (db: import('better-sqlite3').Database) => {
    apply(op: unknown, index: number): { ok: boolean };
  };
  encodeOp: (op: unknown) => Uint8Array;
  decodeOp: (data: Uint8Array) => unknown;
  createChatService: (
    handle: unknown,
    options: { logger: unknown },
  ) => { service: Record<string, (call: unknown, cb: (err: unknown, res?: unknown) => void) => void> };
  hashToken: (token: string) => string;
}

async function load(root: string): Promise<Modules> {
  const m = (p: string) => import(join(root, p));
  const [db, state, sm, service, auth] = await Promise.all([
    m('src/server/replica-database.ts'),
    m('src/server/chat/chat-state.ts'),
    m('src/server/chat/state-machine.ts'),
    m('src/server/rpc/chat-service.ts'),
    m('src/server/rpc/auth.ts'),
  ]);
  return {
    openReplicaDatabase: db.openReplicaDatabase,
    ChatState: state.ChatState,
    encodeOp: sm.encodeOp,
    decodeOp: sm.decodeOp,
    createChatService: service.createChatService,
    hashToken: auth.hashToken,
  };
}

type KeyShape = 'random' | 'ordered';

interface Fixture {
  /** The idempotency keys its clients send. */
  keys: KeyShape;
  db: import('better-sqlite3').Database;
  chat: InstanceType<Modules['ChatState']>;
  index: number;
  tokens: string[];
}

function fixture(mods: Modules, dir: string, keys: KeyShape): Fixture {
  const db = mods.openReplicaDatabase(dir);
  // An apply pass does not wait for the disk (the log is the durable record).
  db.pragma('synchronous = NORMAL');
  const chat = new mods.ChatState(db);
  for (const sql of settings.sql) db.exec(sql);
  const tokens: string[] = [];
  let index = 0;
  const at = Date.now();
  db.transaction(() => {
    for (let u = 0; u < settings.users; u++) {
      chat.apply(
        {
          type: 'createAccount',
          at,
          key: `c${u}`,
          username: `user${u}`,
          passwordHash: 'scrypt$16384$8$1$c2FsdA==$aGFzaA==',
        },
        ++index,
      );
      const token = `token-${u}-${'t'.repeat(32)}`;
      tokens.push(token);
      chat.apply({ type: 'login', at, key: `l${u}`, userId: u + 1, tokenHash: mods.hashToken(token) }, ++index);
    }
  })();
  return { keys, db, chat, index, tokens };
}

/**
 * An idempotency key like a client's: random (UUID v4, as crypto.randomUUID makes) or time-ordered
 * (UUID v7: milliseconds first), deterministic here so that runs compare.
 */
function keyOf(i: number, keys: KeyShape): string {
  const mix = (i * 2654435761) >>> 0;
  const tail = `${mix.toString(16).padStart(8, '0')}${(i & 0xffff).toString(16).padStart(4, '0')}`;
  if (keys === 'ordered') {
    const t = (1_700_000_000_000 + i).toString(16).padStart(12, '0');
    return `${t.slice(0, 8)}-${t.slice(8)}-7${tail.slice(0, 3)}-8${tail.slice(3, 6)}-${tail.slice(0, 12)}`;
  }
  return `${tail.slice(0, 8)}-${tail.slice(8, 12)}-4${tail.slice(1, 4)}-8${tail.slice(4, 7)}-${String(i).padStart(12, '0')}`;
}

function sendOp(
  i: number,
  keys: KeyShape,
): { type: 'sendMessage'; at: number; key: string; senderId: number; recipient: string; text: string } {
  const from = i % settings.users;
  return {
    type: 'sendMessage',
    at: Date.now(),
    key: keyOf(i, keys),
    senderId: from + 1,
    recipient: `user${(from + 1) % settings.users}`,
    text: TEXT,
  };
}

function cpuUs(since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since);
  return d.user + d.system;
}

/** A workload: `run(n)` does about n messages' worth of work and says how many it did. */
type Workload = (n: number) => Promise<number>;

/** Follower: decode + apply, a transaction per batch (each call's entries are encoded before its clock starts). */
function follower(mods: Modules, f: Fixture, batch: number): { prepare: (n: number) => void; run: Workload } {
  let i = 0;
  const step = f.db.transaction((entries: { index: number; data: Uint8Array }[]) => {
    for (const e of entries) f.chat.apply(mods.decodeOp(e.data), e.index);
  });
  let prepared: { index: number; data: Uint8Array }[][] = [];
  return {
    prepare: (n) => {
      prepared = Array.from({ length: Math.ceil(n / batch) }, () =>
        Array.from({ length: batch }, () => ({ index: ++f.index, data: mods.encodeOp(sendOp(i++, f.keys)) })),
      );
    },
    run: (n) => {
      if (prepared.length * batch < n) throw new Error('follower workload not prepared');
      for (const b of prepared) step(b);
      const done = prepared.length * batch;
      prepared = [];
      return Promise.resolve(done);
    },
  };
}

/** Leader: the SendMessage handler over a handle that applies each batch in one transaction, `inflight` calls at a time. */
async function leader(mods: Modules, f: Fixture, batch: number, inflight: number): Promise<Workload> {
  const grpc = await import('@grpc/grpc-js');
  const pino = (await import('pino')).default;
  const pending: { data: Uint8Array; resolve: (o: unknown) => void }[] = [];
  const listeners: ((a: unknown) => void)[] = [];
  let scheduled = false;
  const step = f.db.transaction((items: typeof pending) =>
    items.map((p) => {
      const index = ++f.index;
      const op = mods.decodeOp(p.data);
      return { index, op, outcome: f.chat.apply(op, index) };
    }),
  );
  const flush = () => {
    scheduled = false;
    while (pending.length > 0) {
      const items = pending.splice(0, batch);
      const applied = step(items);
      applied.forEach((a, k) => {
        for (const l of listeners) l(a);
        items[k]!.resolve(a.outcome);
      });
    }
  };
  const handle = {
    id: 'A',
    chat: f.chat,
    ensureLeaderReady: () => Promise.resolve(),
    leader: () => ({ id: 'A', address: '127.0.0.1:1', epoch: 1 }),
    onApplied: (l: (a: unknown) => void) => {
      listeners.push(l);
      return () => undefined;
    },
    onLeadershipChange: () => () => undefined,
    submit: (op: unknown) =>
      new Promise((res) => {
        pending.push({ data: mods.encodeOp(op), resolve: res });
        if (!scheduled) {
          scheduled = true;
          setImmediate(flush);
        }
      }),
  };
  const { service } = mods.createChatService(handle, { logger: pino({ level: 'silent' }) });
  const metadata = f.tokens.map((t) => {
    const md = new grpc.Metadata();
    md.set('authorization', `Bearer ${t}`);
    return md;
  });
  let sent = 0;
  const call = (i: number) =>
    new Promise<void>((res, rej) => {
      const from = i % settings.users;
      service.sendMessage!(
        {
          request: {
            recipient: `user${(from + 1) % settings.users}`,
            text: TEXT,
            idempotencyKey: keyOf(1e7 + i, f.keys),
          },
          metadata: metadata[from],
          getPeer: () => `ipv4:127.0.0.1:${40000 + from}`,
        },
        (err) => (err ? rej(err as Error) : res()),
      );
    });
  const loop = async (until: number) => {
    while (sent < until) await call(sent++);
  };
  return async (n: number) => {
    const start = sent;
    const until = sent + n;
    await Promise.all(Array.from({ length: inflight }, () => loop(until)));
    return sent - start;
  };
}

/**
 * Pages written per message: the WAL frames of `messages` sends applied in batches, with automatic
 * checkpoints off for the pass, each frame's page named by the b-tree that owns it (dbstat).
 */
function pages(f: Fixture, messages: number, batch: number): { total: number; byTree: Record<string, number> } {
  f.db.pragma('wal_checkpoint(TRUNCATE)');
  f.db.pragma('wal_autocheckpoint = 0');
  const pageSize = f.db.pragma('page_size', { simple: true }) as number;
  let i = 5e7;
  const step = f.db.transaction(() => {
    for (let b = 0; b < batch; b++) f.chat.apply(sendOp(i++, f.keys), ++f.index);
  });
  let applied = 0;
  for (; applied < messages; applied += batch) step();
  const owner = new Map<number, string>();
  for (const row of f.db.prepare<[], { name: string; pageno: number }>('SELECT name, pageno FROM dbstat').all())
    owner.set(row.pageno, row.name);
  const fd = openSync(`${f.db.name}-wal`, 'r');
  const byTree: Record<string, number> = {};
  let total = 0;
  try {
    const header = Buffer.alloc(4);
    const size = fstatSync(fd).size;
    // A WAL file: a 32-byte header, then frames of a 24-byte header (the page number first) and the page.
    for (let offset = 32; offset + 24 + pageSize <= size; offset += 24 + pageSize) {
      readSync(fd, header, 0, 4, offset);
      const tree = owner.get(header.readUInt32BE(0)) ?? 'free pages';
      byTree[tree] = (byTree[tree] ?? 0) + 1 / applied;
      total += 1 / applied;
    }
  } finally {
    closeSync(fd);
  }
  f.db.pragma('wal_autocheckpoint = 1000');
  return { total, byTree };
}

interface Subject {
  root: string;
  follower: ReturnType<typeof follower>;
  leader: Workload;
  followerState: Fixture;
  leaderState: Fixture;
  /** µs of CPU per message of each chunk. */
  followerUs: number[];
  leaderUs: number[];
}

async function subject(root: string, keys: KeyShape, dir: string, batch: number): Promise<Subject> {
  const mods = await load(root);
  const followerState = fixture(mods, join(dir, 'follower'), keys);
  const leaderState = fixture(mods, join(dir, 'leader'), keys);
  return {
    root: `${root} (${keys} keys)`,
    followerState,
    leaderState,
    follower: follower(mods, followerState, batch),
    leader: await leader(mods, leaderState, batch, 64),
    followerUs: [],
    leaderUs: [],
  };
}

async function timed(run: () => Promise<number>): Promise<number> {
  const cpu0 = process.cpuUsage();
  const done = await run();
  return cpuUs(cpu0) / done;
}

/** The median and the quartiles, as "median (q1–q3)". */
function quartiles(values: number[], digits = 1): string {
  const v = [...values].sort((a, b) => a - b);
  const at = (q: number) => v[Math.min(v.length - 1, Math.floor(q * v.length))]!;
  return `${at(0.5).toFixed(digits)} (${at(0.25).toFixed(digits)}–${at(0.75).toFixed(digits)})`;
}

function summary(s: Subject, batch: number): Measurement {
  const cpu = (v: number[]): Cpu => ({
    min: Math.min(...v),
    median: [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!,
  });
  const written = pages(s.followerState, 3_300, batch);
  return {
    root: s.root,
    follower: cpu(s.followerUs),
    leader: cpu(s.leaderUs),
    pagesPerMessage: written.total,
    pagesByTree: written.byTree,
  };
}

const program = new Command()
  .name('write-path-cpu')
  .description(
    'CPU per sendMessage outside the log (follower apply, leader request path) and pages written per message',
  )
  .option('--root <dir>', 'measure this checkout (default: this one)', OWN_ROOT)
  .option('--compare <dir>', 'also measure this checkout, in the same process, chunk by chunk in turn with --root')
  .option('--compare-keys', 'compare --root with time-ordered keys against --root with random keys instead')
  .option('--their-keys <shape>', "the idempotency keys of the --compare checkout's clients (default: --keys)")
  .option('--chunks <n>', 'chunks each measurement is split into', '20')
  .option('--messages <n>', 'messages per measurement (leader and follower each)', '20000')
  .option('--batch <n>', 'entries per apply transaction (the leader batch at 64 in flight)', '33')
  .option('--users <n>', 'senders (each writes to the next)', '16')
  .option('--keys <shape>', 'idempotency keys: random (UUID v4) or ordered (UUID v7)', 'random')
  .option('--sql <statement...>', 'run these after opening each database (experiments: drop an index, set a pragma)')
  .option('--by-tree', 'also list the pages written per message by b-tree');

interface Options {
  root: string;
  compare?: string;
  compareKeys?: boolean;
  theirKeys?: KeyShape;
  chunks: string;
  messages: string;
  batch: string;
  users: string;
  keys: KeyShape;
  sql?: string[];
  byTree?: boolean;
}

function line(m: Measurement, byTree: boolean): string {
  const head = `follower ${m.follower.min.toFixed(1)} µs (median chunk ${m.follower.median.toFixed(1)}), leader ${m.leader.min.toFixed(1)} µs (median chunk ${m.leader.median.toFixed(1)}), ${m.pagesPerMessage.toFixed(2)} pages per message`;
  if (!byTree) return head;
  const trees = Object.entries(m.pagesByTree)
    .sort((a, b) => b[1] - a[1])
    .map(([t, n]) => `    ${n.toFixed(2).padStart(6)}  ${t}`);
  return [head, ...trees].join('\n');
}

async function main(): Promise<void> {
  program.parse();
  const o = program.opts<Options>();
  for (const k of [o.keys, o.theirKeys ?? o.keys])
    if (k !== 'random' && k !== 'ordered') throw new Error('key shapes are random or ordered');
  settings = { users: Number(o.users), sql: o.sql ?? [] };
  const batch = Number(o.batch);
  const chunks = Number(o.chunks);
  const chunk = Math.max(batch, Math.round(Number(o.messages) / chunks / batch) * batch);
  const dir = mkdtempSync(join(tmpdir(), 'write-path-cpu-'));
  try {
    const measured: [string, KeyShape][] = o.compareKeys
      ? [
          [resolve(o.root), 'ordered'],
          [resolve(o.root), 'random'],
        ]
      : [
          [resolve(o.root), o.keys],
          ...(o.compare ? [[resolve(o.compare), o.theirKeys ?? o.keys] as [string, KeyShape]] : []),
        ];
    const subjects: Subject[] = [];
    for (const [i, [root, keys]] of measured.entries())
      subjects.push(await subject(root, keys, join(dir, String(i)), batch));
    // Warm-up: code compiled, caches and tables past their first pages.
    for (const s of subjects) {
      s.follower.prepare(2_000);
      await s.follower.run(2_000);
      await s.leader(2_000);
    }
    for (let c = 0; c < chunks; c++) {
      // Each chunk runs every checkout once, in turns that swap each time, so that the
      // machine's other work at any moment falls on both alike.
      const order = c % 2 === 0 ? subjects : [...subjects].reverse();
      for (const s of order) {
        s.follower.prepare(chunk);
        s.followerUs.push(await timed(() => s.follower.run(chunk)));
      }
      for (const s of order) s.leaderUs.push(await timed(() => s.leader(chunk)));
    }
    for (const m of subjects.map((s) => summary(s, batch)))
      process.stdout.write(`${m.root}: ${line(m, o.byTree ?? false)}\n`);
    if (subjects.length === 2) {
      const [a, b] = subjects as [Subject, Subject];
      const ratio = (x: number[], y: number[]) => x.map((v, i) => v / y[i]!);
      process.stdout.write(
        `${a.root} / ${b.root}, chunk by chunk, median (quartiles): ` +
          `follower ${quartiles(ratio(a.followerUs, b.followerUs), 3)}, leader ${quartiles(ratio(a.leaderUs, b.leaderUs), 3)}\n`,
      );
    }
    for (const s of subjects) {
      s.followerState.db.close();
      s.leaderState.db.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: Error) => {
  process.stderr.write(`${err.stack ?? err.message}\n`);
  process.exit(1);
});
