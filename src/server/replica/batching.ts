import type { ReceivedSnapshot } from '../replication/transport.js';
import type { PeerMessage } from '../replication/types.js';
import type { OpWaiter } from './pending-ops.js';

/** A submitted op, encoded, waiting for the next pass to propose it. */
export interface Proposal<Outcome> extends OpWaiter<Outcome> {
  data: Uint8Array;
}

/** A peer message, with a finished snapshot. */
export interface Arrival {
  message: PeerMessage;
  snapshot?: ReceivedSnapshot;
}

/**
 * What arrived since the last pass, peer messages and submitted ops, and one
 * pass per turn of the event loop for all of it: whatever arrives together goes
 * through the core together (one write batch, one fsync, one message per peer).
 */
export class PassBatcher<Outcome> {
  private arrivals: Arrival[] = [];
  private proposals: Proposal<Outcome>[] = [];
  private scheduled = false;

  constructor(
    private readonly pass: () => void,
    private readonly defer: (fn: () => void) => void,
  ) {}

  deliver(arrival: Arrival): void {
    this.arrivals.push(arrival);
    this.schedule();
  }

  propose(proposal: Proposal<Outcome>): void {
    this.proposals.push(proposal);
    this.schedule();
  }

  /** A pass soon even if nothing arrives (the log reported writes durable). */
  wake(): void {
    this.schedule();
  }

  /** Everything that arrived since the last call, in order. */
  take(): { arrivals: Arrival[]; proposals: Proposal<Outcome>[] } {
    const taken = { arrivals: this.arrivals, proposals: this.proposals };
    this.arrivals = [];
    this.proposals = [];
    return taken;
  }

  /** Ops that will not be proposed after all (the replica stops). */
  rejectProposals(err: Error): void {
    for (const p of this.proposals) p.reject(err);
    this.proposals = [];
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    this.defer(() => {
      this.scheduled = false;
      this.pass();
    });
  }
}
