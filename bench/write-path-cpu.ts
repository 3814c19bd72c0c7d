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
import { execFileSync } from 'node:child_process';
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
const CHUNKS = 16;
/** What a run measures with; set from the options. */
let settings: { users: number; keys: 'random' | 'ordered'; sql: string[] } = { users: 16, keys: 'random', sql: [] };
const TEXT = 'the quick brown fox jumps over the lazy dog; '.repeat(3).slice(0, 100);

/* The modules of the checkout being measured, loaded by path so another checkout can be measured the same way. */
interface Modules {
  openReplicaDatabase: (dir: string) => import('better-sqlite3').Database;
  ChatState: new (db: import('better-sqlite3').Database) => {
    apply(op: unknown, index: number): { ok: boolean };
  };
  encodeOp: (op: unknown) => Uint8Array;
  decodeOp: (data: Uint8Array) => unknown;
  createChatService: (handle: unknown, options: { logger: unknown }) => { service: Record<string, (call: unknown, cb: (err: unknown, res?: unknown) => void) => void> };
  hashToken: (token: string) => string;
}

async function load(root: string): Promise<Modules> {
  const m = (p: string) => import(join(root, p));
  const [db, state, sm, service, auth] = await Promise.all([
    m('src/server/replica-database.ts'), m('src/server/chat/chat-state.ts'), m('src/server/chat/state-machine.ts'),
    m('src/server/rpc/chat-service.ts'), m('src/server/rpc/auth.ts'),
  ]);
  return {
    openReplicaDatabase: db.openReplicaDatabase, ChatState: state.ChatState, encodeOp: sm.encodeOp, decodeOp: sm.decodeOp,
    createChatService: service.createChatService, hashToken: auth.hashToken,
  };
}

interface Fixture {
  db: import('better-sqlite3').Database;
  chat: InstanceType<Modules['ChatState']>;
  index: number;
  tokens: string[];
}

function fixture(mods: Modules, dir: string): Fixture {
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
      chat.apply({ type: 'createAccount', at, key: `c${u}`, username: `user${u}`, passwordHash: 'scrypt$16384$8$1$c2FsdA==$aGFzaA==' }, ++index);
      const token = `token-${u}-${'t'.repeat(32)}`;
      tokens.push(token);
      chat.apply({ type: 'login', at, key: `l${u}`, userId: u + 1, tokenHash: mods.hashToken(token) }, ++index);
    }
  })();
  return { db, chat, index, tokens };
}

/**
 * An idempotency key like a client's: random (UUID v4, as crypto.randomUUID makes) or time-ordered
 * (UUID v7: milliseconds first), deterministic here so that runs compare.
 */
function keyOf(i: number): string {
  const mix = (i * 2654435761) >>> 0;
  const tail = `${mix.toString(16).padStart(8, '0')}${(i & 0xffff).toString(16).padStart(4, '0')}`;
  if (settings.keys === 'ordered') {
    const t = (1_700_000_000_000 + i).toString(16).padStart(12, '0');
    return `${t.slice(0, 8)}-${t.slice(8)}-7${tail.slice(0, 3)}-8${tail.slice(3, 6)}-${tail.slice(0, 12)}`;
  }
  return `${tail.slice(0, 8)}-${tail.slice(8, 12)}-4${tail.slice(1, 4)}-8${tail.slice(4, 7)}-${String(i).padStart(12, '0')}`;
}

function sendOp(i: number): { type: 'sendMessage'; at: number; key: string; senderId: number; recipient: string; text: string } {
  const from = i % settings.users;
  return { type: 'sendMessage', at: Date.now(), key: keyOf(i), senderId: from + 1, recipient: `user${(from + 1) % settings.users}`, text: TEXT };
}

function cpuUs(since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since);
  return d.user + d.system;
}

/** The CPU of `chunks` equal runs of `run`, in µs per message: the quietest chunk and the median one. */
async function chunked(messagesPerChunk: number, chunks: number, run: (n: number) => unknown): Promise<Cpu> {
  const per: number[] = [];
  for (let c = 0; c < chunks; c++) {
    const cpu0 = process.cpuUsage();
    const done = await run(messagesPerChunk);
    per.push(cpuUs(cpu0) / (typeof done === 'number' ? done : messagesPerChunk));
  }
  per.sort((a, b) => a - b);
  return { min: per[0]!, median: per[Math.floor(per.length / 2)]! };
}

/** Follower: decode + apply, a transaction per batch (each chunk's entries are encoded before its clock starts). */
async function follower(mods: Modules, f: Fixture, messages: number, batch: number): Promise<Cpu> {
  let i = 0;
  const step = f.db.transaction((entries: { index: number; data: Uint8Array }[]) => {
    for (const e of entries) f.chat.apply(mods.decodeOp(e.data), e.index);
  });
  const batches = (n: number) => Array.from({ length: Math.ceil(n / batch) }, () =>
    Array.from({ length: batch }, () => ({ index: ++f.index, data: mods.encodeOp(sendOp(i++)) })));
  for (const b of batches(Math.min(messages, 2_000))) step(b);
  const chunk = Math.ceil(messages / CHUNKS / batch) * batch;
  const prepared = Array.from({ length: CHUNKS }, () => batches(chunk));
  let c = 0;
  return chunked(chunk, CHUNKS, () => {
    for (const b of prepared[c++]!) step(b);
  });
}

/** Leader: the SendMessage handler over a handle that applies each batch in one transaction. */
async function leader(mods: Modules, f: Fixture, messages: number, batch: number, inflight: number): Promise<Cpu> {
  const grpc = await import('@grpc/grpc-js');
  const pino = (await import('pino')).default;
  const pending: { data: Uint8Array; resolve: (o: unknown) => void }[] = [];
  const listeners: ((a: unknown) => void)[] = [];
  let scheduled = false;
  const step = f.db.transaction((items: typeof pending) => items.map((p) => {
    const index = ++f.index;
    const op = mods.decodeOp(p.data);
    return { index, op, outcome: f.chat.apply(op, index) };
  }));
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
    submit: (op: unknown) => new Promise((res) => {
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
  const call = (i: number) => new Promise<void>((res, rej) => {
    const from = i % settings.users;
    service.sendMessage!(
      { request: { recipient: `user${(from + 1) % settings.users}`, text: TEXT, idempotencyKey: keyOf(1e7 + i) }, metadata: metadata[from], getPeer: () => `ipv4:127.0.0.1:${40000 + from}` },
      (err) => (err ? rej(err as Error) : res()),
    );
  });
  const loop = async (until: number) => {
    while (sent < until) await call(sent++);
  };
  const run = async (n: number) => {
    const start = sent;
    const until = sent + n;
    await Promise.all(Array.from({ length: inflight }, () => loop(until)));
    return sent - start;
  };
  await run(Math.min(messages, 2_000));
  return chunked(Math.ceil(messages / CHUNKS), CHUNKS, run);
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
    for (let b = 0; b < batch; b++) f.chat.apply(sendOp(i++), ++f.index);
  });
  let applied = 0;
  for (; applied < messages; applied += batch) step();
  const owner = new Map<number, string>();
  for (const row of f.db.prepare<[], { name: string; pageno: number }>('SELECT name, pageno FROM dbstat').all()) owner.set(row.pageno, row.name);
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

async function measure(root: string, messages: number, batch: number, only?: string): Promise<Measurement> {
  const mods = await load(root);
  const dir = mkdtempSync(join(tmpdir(), 'write-path-cpu-'));
  try {
    const none: Cpu = { min: Number.NaN, median: Number.NaN };
    let followerCpu = none;
    let leaderCpu = none;
    let written = { total: Number.NaN, byTree: {} as Record<string, number> };
    if (only !== 'leader') {
      const f = fixture(mods, join(dir, 'follower'));
      followerCpu = await follower(mods, f, messages, batch);
      written = pages(f, Math.min(messages, 3_300), batch);
      f.db.close();
    }
    if (only !== 'follower') {
      const l = fixture(mods, join(dir, 'leader'));
      leaderCpu = await leader(mods, l, messages, batch, 64);
      l.db.close();
    }
    return { root, follower: followerCpu, leader: leaderCpu, pagesPerMessage: written.total, pagesByTree: written.byTree };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function range(values: number[], digits = 1): string {
  const s = [...values].sort((a, b) => a - b);
  const med = s[Math.floor(s.length / 2)]!;
  return `${med.toFixed(digits)} (${s[0]!.toFixed(digits)}–${s.at(-1)!.toFixed(digits)})`;
}

const program = new Command()
  .name('write-path-cpu')
  .description('CPU per sendMessage outside the log (follower apply, leader request path) and pages written per message')
  .option('--root <dir>', 'measure this checkout (default: this one)', OWN_ROOT)
  .option('--compare <dir>', 'also measure this checkout, alternating with --root in child processes')
  .option('--rounds <n>', 'alternations with --compare', '5')
  .option('--messages <n>', 'messages per measurement', '20000')
  .option('--batch <n>', 'entries per apply transaction (the leader batch at 64 in flight)', '33')
  .option('--users <n>', 'senders (each writes to the next)', '16')
  .option('--keys <shape>', 'idempotency keys: random (UUID v4) or ordered (UUID v7)', 'random')
  .option('--sql <statement...>', 'run these after opening each database (experiments: drop an index, set a pragma)')
  .option('--only <part>', 'measure only the leader or the follower (e.g. under --cpu-prof)')
  .option('--by-tree', 'also list the pages written per message by b-tree')
  .option('--json', 'print one JSON measurement (used by --compare)');

interface Options {
  root: string;
  compare?: string;
  rounds: string;
  messages: string;
  batch: string;
  users: string;
  keys: string;
  sql?: string[];
  only?: 'leader' | 'follower';
  byTree?: boolean;
  json?: boolean;
}

function line(m: Measurement, byTree: boolean): string {
  const head = `follower ${m.follower.min.toFixed(1)} µs (median chunk ${m.follower.median.toFixed(1)}), leader ${m.leader.min.toFixed(1)} µs (${m.leader.median.toFixed(1)}), ${m.pagesPerMessage.toFixed(2)} pages per message`;
  if (!byTree) return head;
  const trees = Object.entries(m.pagesByTree).sort((a, b) => b[1] - a[1]).map(([t, n]) => `    ${n.toFixed(2).padStart(6)}  ${t}`);
  return [head, ...trees].join('\n');
}

async function main(): Promise<void> {
  program.parse();
  const o = program.opts<Options>();
  if (o.keys !== 'random' && o.keys !== 'ordered') throw new Error('--keys is random or ordered');
  settings = { users: Number(o.users), keys: o.keys, sql: o.sql ?? [] };
  const messages = Number(o.messages);
  const batch = Number(o.batch);
  if (!o.compare) {
    const m = await measure(resolve(o.root), messages, batch, o.only);
    process.stdout.write(o.json ? `${JSON.stringify(m)}\n` : `${m.root}: ${line(m, o.byTree ?? false)}\n`);
    return;
  }
  const roots = [resolve(o.root), resolve(o.compare)];
  const all = new Map<string, Measurement[]>(roots.map((r) => [r, []]));
  const passOn = ['--messages', o.messages, '--batch', o.batch, '--users', o.users, '--keys', o.keys, ...(o.sql ? ['--sql', ...o.sql] : []), ...(o.only ? ['--only', o.only] : [])];
  for (let round = 0; round < Number(o.rounds); round++) {
    // Alternate which goes first, so a drift within a round hits both alike.
    for (const root of round % 2 === 0 ? roots : [...roots].reverse()) {
      const out = execFileSync(process.execPath, ['--import', 'tsx', HERE, '--root', root, ...passOn, '--json'], { cwd: root, encoding: 'utf8' });
      const m = JSON.parse(out.trim().split('\n').at(-1)!) as Measurement;
      all.get(root)!.push(m);
      process.stdout.write(`round ${round + 1} ${root}: ${line(m, false)}\n`);
    }
  }
  process.stdout.write('\nµs of CPU per message (the quietest chunk of each run) and pages per message: median (min–max) over the rounds\n');
  for (const [root, ms] of all) {
    process.stdout.write(`${root}\n  follower ${range(ms.map((m) => m.follower.min))}, leader ${range(ms.map((m) => m.leader.min))}, pages ${range(ms.map((m) => m.pagesPerMessage), 2)}\n`);
  }
  const [a, b] = roots.map((r) => all.get(r)!);
  const ratios = (f: (m: Measurement) => number) => a!.map((m, i) => f(m) / f(b![i]!));
  process.stdout.write(`${roots[0]} / ${roots[1]}, round by round: follower ${range(ratios((m) => m.follower.min), 2)}, leader ${range(ratios((m) => m.leader.min), 2)}\n`);
}

main().catch((err: Error) => {
  process.stderr.write(`${err.stack ?? err.message}\n`);
  process.exit(1);
});
