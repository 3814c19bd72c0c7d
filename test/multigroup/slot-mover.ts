/**
 * The placement controller's side of moving a slot (its accounts) from one
 * group to another without losing, doubling or reordering a message
 * (docs/scaling.md, "Moving accounts between groups"). Every step is an op
 * committed in a group's log, retried until the controller sees it in that
 * group's committed state; the directory (etcd in the design) is flipped
 * only once the new group holds the slot:
 *
 * 1. freeze (old group): the slot's users cannot send; what they sent stays;
 * 2. drain: wait until the old group's outboxes hold nothing the slot's users
 *    sent (so nothing they send from the new group can overtake it);
 * 3. handoff (old group): the slot is no longer served there; its accounts'
 *    data and the numbers of every stream into it are set aside;
 * 4. import (new group): the slot, its data and its streams' numbers; what the
 *    new group had queued for the slot is delivered in place;
 * 5. flip the directory; 6. release (old group): drop what was set aside.
 */
import type { GroupNode } from './group.js';
import { encodeOp, type MailboxOp, type MailboxState, type SlotData } from './mailbox-state.js';

type Node = GroupNode<MailboxState>;

/** What the mover needs from the world: committed state to read, a leader to propose to, the directory to flip. */
export interface MoverWorld {
  /** The replicas of a group (their durable state is committed state). */
  nodes(group: string): readonly Node[];
  /** Proposes on a ready leader of the group; false when there is none. */
  propose(group: string, op: Uint8Array): boolean;
  flip(slot: string, group: string): void;
  slotOf(user: string): string;
  note(line: string): void;
}

type Phase = 'freeze' | 'drain' | 'handoff' | 'import' | 'release';

interface Move {
  slot: string;
  from: string;
  to: string;
  phase: Phase;
  data?: SlotData;
  triedAt: number;
  /**
   * Per group, the applied index a replica must have reached for its state to count: at the start the highest any
   * replica had applied (so every op of earlier moves is behind it), then where the last step was seen. A replica
   * further behind shows an older state that can look like a later one (a slot it owned before it moved away).
   */
  floor: Map<string, number>;
}

export class SlotMover {
  private move: Move | undefined;
  moves = 0;

  constructor(
    private readonly world: MoverWorld,
    /** Ms between retries of a step's op. */
    private readonly retryMs: number,
    /** Skip step 2 (a deliberate flaw). */
    private readonly skipDrain: boolean,
  ) {}

  get busy(): boolean {
    return this.move !== undefined;
  }

  start(slot: string, from: string, to: string, now: number): void {
    if (this.move) return;
    const highest = (g: string) => Math.max(...this.world.nodes(g).map((n) => n.durable.appliedIndex));
    this.move = {
      slot,
      from,
      to,
      phase: 'freeze',
      triedAt: Number.NEGATIVE_INFINITY,
      floor: new Map([
        [from, highest(from)],
        [to, highest(to)],
      ]),
    };
    this.world.note(`MOVE slot ${slot}: ${from} → ${to}`);
    this.step(now);
  }

  /** Moves the move on as far as the groups' committed states allow. */
  step(now: number): void {
    const m = this.move;
    if (!m) return;
    const slot = m.slot;
    const committed = (group: string, holds: (s: MailboxState) => boolean) => {
      const n = this.world
        .nodes(group)
        .find((x) => x.durable.appliedIndex >= m.floor.get(group)! && holds(x.durable.state));
      if (n) m.floor.set(group, n.durable.appliedIndex);
      return n;
    };
    const ask = (group: string, op: MailboxOp) => {
      if (now - m.triedAt < this.retryMs) return;
      if (this.world.propose(group, encodeOp(op))) m.triedAt = now;
    };
    const next = (phase: Phase) => {
      m.phase = phase;
      m.triedAt = Number.NEGATIVE_INFINITY;
      this.world.note(`MOVE slot ${slot}: ${phase}`);
    };
    switch (m.phase) {
      case 'freeze':
        if (committed(m.from, (s) => s.frozen.has(slot))) next(this.skipDrain ? 'handoff' : 'drain');
        else ask(m.from, { t: 'freeze', slot });
        break;
      case 'drain': {
        // On a replica that applied the freeze, every send of the slot's users is applied too.
        const drained = (s: MailboxState) =>
          s.frozen.has(slot) &&
          [...s.outbox.values()].every((box) => box.entries.every((e) => this.world.slotOf(e.from) !== slot));
        if (committed(m.from, drained)) next('handoff');
        break;
      }
      case 'handoff': {
        const n = committed(m.from, (s) => s.departed.has(slot));
        if (!n) {
          ask(m.from, { t: 'handoff', slot });
          break;
        }
        m.data = structuredClone(n.durable.state.departed.get(slot)!);
        next('import');
        break;
      }
      case 'import':
        if (committed(m.to, (s) => s.owns.has(slot))) {
          this.world.flip(slot, m.to);
          next('release');
        } else {
          ask(m.to, { t: 'import', slot, data: m.data! });
        }
        break;
      case 'release':
        if (committed(m.from, (s) => !s.owns.has(slot) && !s.departed.has(slot))) {
          this.moves++;
          this.world.note(`MOVE slot ${slot} done`);
          this.move = undefined;
        } else {
          ask(m.from, { t: 'release', slot });
        }
        break;
    }
  }
}
