/** The ConnectionState a status bar shows, and its change notifications. */
import { isDeepStrictEqual } from 'node:util';
import type { ConnectionState } from './api.js';
import { describeError } from './errors.js';

export class ConnectionStateTracker {
  private state: ConnectionState = { kind: 'connecting' };
  /** Some replica answered at least once (a leader, or replicas saying none leads). */
  private contacted = false;
  private readonly listeners = new Set<(state: ConnectionState) => void>();

  current(): ConnectionState {
    return this.state;
  }

  onChange(listener: (state: ConnectionState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  connected(target: { id: string; address: string; epoch: number }): void {
    this.contacted = true;
    this.set({ kind: 'connected', replicaId: target.id, address: target.address, epoch: target.epoch });
  }

  /** A transient failure: unreachable until the first contact, reconnecting after; since the first failure of this outage. */
  failed(err: unknown): void {
    const since = this.outageStart() ?? Date.now();
    this.set({ kind: this.contacted ? 'reconnecting' : 'unreachable', since, lastError: describeError(err) });
  }

  /** Replicas answer but none leads; `waitingFor` says whom the cluster waits for, when it knows. */
  noLeader(waitingFor: string[]): void {
    this.contacted = true;
    const since = this.outageStart() ?? Date.now();
    this.set({ kind: 'no-leader', since, waitingFor });
  }

  closed(): void {
    this.set({ kind: 'closed' });
  }

  isClosed(): boolean {
    return this.state.kind === 'closed';
  }

  private outageStart(): number | undefined {
    const s = this.state;
    return s.kind === 'reconnecting' || s.kind === 'unreachable' || s.kind === 'no-leader' ? s.since : undefined;
  }

  private set(next: ConnectionState): void {
    // Every answered call reports the state again: an unchanged one (compared field by field, whatever their order) is no change.
    if (this.state.kind === 'closed' || isDeepStrictEqual(this.state, next)) return;
    this.state = next;
    for (const l of [...this.listeners]) {
      try {
        l(next);
      } catch (err) {
        process.emitWarning(`a connection listener threw: ${describeError(err)}`);
      }
    }
  }
}
