/** What every scenario gets: the run's settings, a logger, a temp root, and results other scenarios left for it. */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
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
  /** Write CPU profiles of the replicas during the 64-in-flight level here. */
  profileDir: string | undefined;
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

export function createContext(settings: BenchSettings, tmp: string, log: (m: string) => void): BenchContext {
  let large: Promise<Dataset> | undefined;
  let users: Promise<Dataset> | undefined;
  return {
    settings,
    tmp,
    log,
    batchSizes: new Map(),
    largeStore: () =>
      (large ??= (async () => {
        const dir = join(tmp, 'store-large');
        mkdirSync(dir, { recursive: true });
        log(`building a data directory with ${settings.storeMessages.toLocaleString('en-US')} messages offline (ChatState.apply + LogStore)...`);
        let lastShown = 0;
        const ds = await buildDataset(dir, {
          users: settings.storeUsers,
          messages: settings.storeMessages,
          onProgress: (done, total) => {
            if (done - lastShown >= total / 5 || done === total) {
              lastShown = done;
              log(`  ${done.toLocaleString('en-US')} / ${total.toLocaleString('en-US')} messages`);
            }
          },
        });
        log(`  built in ${ds.seconds.toFixed(1)} s (${Math.round(ds.messages / ds.seconds).toLocaleString('en-US')} messages/s)`);
        return ds;
      })()),
    usersStore: () =>
      (users ??= (async () => {
        const dir = join(tmp, 'store-users');
        mkdirSync(dir, { recursive: true });
        return buildDataset(dir, { users: settings.storeUsers, messages: 0 });
      })()),
  };
}
