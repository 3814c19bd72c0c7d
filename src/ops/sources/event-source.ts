/** Where the dashboard and `chat-ops logs` get events from: the replicas' event streams, or local log files. */
import type { ClusterEventView } from '../../client/api.js';

export interface SourceState {
  /** Delivering (or ready to deliver) events. */
  up: boolean;
  /** Why not, or what it is doing (e.g. "missing", "connection refused"). */
  detail?: string;
}

export interface EventSink {
  onEvents(events: ClusterEventView[]): void;
  /** One feed (a replica address or a file path) changed state. */
  onSourceState?(name: string, state: SourceState): void;
}

export interface EventSource {
  /** What the events come from, for the screen: "event streams" or "log files". */
  readonly label: string;
  /** Starts delivering (history first, then live); returns a function that stops everything. */
  start(sink: EventSink): () => void;
}
