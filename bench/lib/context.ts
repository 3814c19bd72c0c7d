/** What every scenario gets: the run's settings, a logger, a temp root, and results other scenarios left for it. */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from './cluster.js';
import { buildDataset, type Dataset } from './dataset.js';

export interface BenchSettings {
  quick: boolean;
  /** Client processes for the levels with many sends in flight. */
  workers: number;
  warmupMs: number;
  durationMs: number;
  /** Messages in the "large store" data set (1,000,000; fewer with --quick). */
  storeMessages: number;
  /** Accounts in the prepared data sets (and open streams in the subscription scenario). */
  storeUsers: number;
  /** Entries sent while a replica is down in the catch-up scenario. */
  catchupEntries: number;
  failoverTrials: number;
  followerTrials: number;
  /** Rounds of the etcd comparison (etcd, chat in-sync, chat majority in each). */
  etcdRounds: number;
  /** Write CPU profiles of the replicas during the 64-in-flight level here. */
  profileDir: string | undefined;
  /** Build the prepared stores even when a cached copy exists. */
  freshStores: boolean;
}

export interface BenchContext {
  settings: BenchSettings;
  /** A temp directory for this run, removed at the end. */
  tmp: string;
  log(message: string): void;
  /** Leader batch sizes seen by the throughput scenario, by sends in flight (for the disk ceiling). */
  batchSizes: Map<number, number>;
  /** The large prepared store, built once on first use. */
  largeStore(): Promise<Dataset>;
  /** Accounts with sessions and no messages, built once on first use. */
  usersStore(): Promise<Dataset>;
}

/** The code that decides what a store looks like: a cached store built by other code is not reused. */
const STORE_SOURCES = [
  'src/server/chat/schema.ts',
  'src/server/chat/chat-state.ts',
  'src/server/chat/apply.ts',
  'src/server/chat/queries.ts',
  'src/server/chat/statements.ts',
  'src/server/chat/snapshot-format.ts',
  'src/server/chat/state-machine.ts',
  'src/server/chat/operations.ts',
  'src/server/storage/state-store.ts',
  'src/server/storage/log-records.ts',
  'src/server/storage/segmented-log.ts',
  'src/server/storage/replication-schema.ts',
  'src/server/sqlite/migrations.ts',
  'src/server/sqlite/database.ts',
  'src/server/replica-database.ts',
  'bench/lib/dataset.ts',
];

function fingerprint(users: number, messages: number): string {
  const h = createHash('sha256').update(`${users}/${messages}`);
  for (const f of STORE_SOURCES) h.update(readFileSync(join(REPO_ROOT, f)));
  return h.digest('hex').slice(0, 16);
}

/**
 * Prepared stores are kept between runs in the OS temp dir (keyed by size and
 * by the code that builds them), because the large one takes minutes to build.
 */
async function cachedStore(
  users: number,
  messages: number,
  fresh: boolean,
  log: (m: string) => void,
): Promise<Dataset> {
  const cacheRoot = join(tmpdir(), 'chat-bench-stores');
  const dir = join(cacheRoot, `store-${users}u-${messages}m-${fingerprint(users, messages)}`);
  const meta = join(dir, 'dataset.json');
  if (!fresh && existsSync(meta)) {
    const ds = JSON.parse(readFileSync(meta, 'utf8')) as Dataset;
    log(`  using the store cached in ${dir} (built in ${ds.seconds.toFixed(1)} s; --fresh-stores rebuilds it)`);
    return { ...ds, dir: join(dir, 'data') };
  }
  rmSync(dir, { recursive: true, force: true });
  const building = `${dir}.building-${process.pid}`;
  rmSync(building, { recursive: true, force: true });
  mkdirSync(building, { recursive: true });
  if (messages > 0)
    log(
      `  building a data directory with ${messages.toLocaleString('en-US')} messages offline (ChatState.apply, the log written as one segment)...`,
    );
  let lastShown = 0;
  const ds = await buildDataset(join(building, 'data'), {
    users,
    messages,
    onProgress: (done, total) => {
      if (done - lastShown >= total / 5 || done === total) {
        lastShown = done;
        log(`    ${done.toLocaleString('en-US')} / ${total.toLocaleString('en-US')} messages`);
      }
    },
  });
  if (messages > 0)
    log(
      `  built in ${ds.seconds.toFixed(1)} s (${Math.round(ds.messages / ds.seconds).toLocaleString('en-US')} messages/s)`,
    );
  writeFileSync(join(building, 'dataset.json'), JSON.stringify({ ...ds, dir: '' }));
  renameSync(building, dir);
  return { ...ds, dir: join(dir, 'data') };
}

export function createContext(settings: BenchSettings, tmp: string, log: (m: string) => void): BenchContext {
  let large: Promise<Dataset> | undefined;
  let users: Promise<Dataset> | undefined;
  return {
    settings,
    tmp,
    log,
    batchSizes: new Map(),
    largeStore: () => (large ??= cachedStore(settings.storeUsers, settings.storeMessages, settings.freshStores, log)),
    usersStore: () => (users ??= cachedStore(settings.storeUsers, 0, settings.freshStores, log)),
  };
}
