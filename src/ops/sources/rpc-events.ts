/**
 * Events over the WatchEvents RPC: one watch per known replica address, picking
 * up addresses learned later. A replica numbers its events from 1 again after a
 * restart, so when a watch comes back after being down it is reopened from the
 * start of the replica's history (the store drops what it already has).
 */
import type { ClusterApi, ClusterEventView } from '../../client/api.js';
import { shortError } from '../model/health.js';
import type { EventSink, EventSource } from './event-source.js';

export interface RpcEventSourceOptions {
  /** How often to look for addresses learned since the start (ms). */
  rescanMs?: number;
}

interface Feed {
  watch: { close(): void };
  sawDown: boolean;
}

export class RpcEventSource implements EventSource {
  readonly label = 'event streams';

  constructor(
    private readonly cluster: ClusterApi,
    private readonly options: RpcEventSourceOptions = {},
  ) {}

  start(sink: EventSink): () => void {
    const feeds = new Map<string, Feed>();
    let stopped = false;

    const open = (address: string) => {
      const feed: Feed = { watch: { close() {} }, sawDown: false };
      feeds.set(address, feed);
      feed.watch = this.cluster.watchEvents(
        address,
        {
          onEvent: (e: ClusterEventView) => {
            if (!stopped) sink.onEvents([e]);
          },
          onState: (up: boolean, error?: string) => {
            if (stopped || feeds.get(address) !== feed) return;
            sink.onSourceState?.(
              address,
              up ? { up: true } : { up: false, detail: error ? shortError(error) : 'unreachable' },
            );
            if (!up) {
              feed.sawDown = true;
            } else if (feed.sawDown) {
              // Back after being down: it may have restarted with new sequence numbers.
              feed.watch.close();
              queueMicrotask(() => {
                if (!stopped && feeds.get(address) === feed) open(address);
              });
            }
          },
        },
        { afterSeq: 0 },
      );
    };

    const scan = () => {
      for (const address of this.cluster.knownAddresses()) if (!feeds.has(address)) open(address);
    };
    scan();
    const timer = setInterval(scan, this.options.rescanMs ?? 2000);
    timer.unref?.();

    return () => {
      stopped = true;
      clearInterval(timer);
      for (const f of feeds.values()) f.watch.close();
      feeds.clear();
    };
  }
}
