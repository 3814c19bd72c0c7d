/**
 * The end-of-run check of cross-group delivery, over the converged state of
 * every group: each committed send (each acknowledged one among them) stored
 * exactly once on the recipient's side, each sender's messages in its order
 * at every recipient, nothing stored that was not sent, every outbox drained
 * into the inbox of the slot's group, every slot owned by exactly the group
 * the directory names, and no move left half done.
 */
import { inboxKey, type MailboxState, type Message } from './mailbox-state.js';

export interface DeliveryFacts {
  /** Each group's state (its replicas agree on it). */
  states: ReadonlyMap<string, MailboxState>;
  /** Slot → group, as the directory ends up. */
  directory: ReadonlyMap<string, string>;
  slotOf(user: string): string;
  /** Acknowledged messages per sender, in acknowledgement order. */
  acked: ReadonlyMap<string, readonly Message[]>;
}

/** The first violation found, or undefined. */
export function checkDelivery(f: DeliveryFacts): string | undefined {
  const home = (user: string) => f.directory.get(f.slotOf(user))!;
  for (const [slot, g] of f.directory) {
    const owners = [...f.states].filter(([, s]) => s.owns.has(slot)).map(([name]) => name);
    if (owners.length !== 1 || owners[0] !== g)
      return `slot ${slot} is owned by {${owners.join(',')}}, the directory says ${g}`;
  }
  for (const [g, s] of f.states) {
    if (s.departed.size > 0 || s.frozen.size > 0)
      return `${g} still has a move of {${[...s.departed.keys(), ...s.frozen].join(',')}} under way`;
  }
  // How many copies of each message the recipients' groups hold; each sender's messages in its order.
  const stored = new Map<string, number>();
  for (const [g, s] of f.states) {
    for (const [user, list] of s.received) {
      if (home(user) !== g) return `${g} stores messages for ${user}, who lives in ${home(user)}`;
      const lastOf = new Map<string, number>();
      for (const m of list) {
        stored.set(m.key, (stored.get(m.key) ?? 0) + 1);
        const n = Number(m.key.split('#')[1]);
        if ((lastOf.get(m.from) ?? 0) >= n)
          return `${user} received ${m.from}'s messages out of send order: ${m.key} after #${lastOf.get(m.from)}`;
        lastOf.set(m.from, n);
      }
    }
  }
  let committed = 0;
  for (const [g, s] of f.states) {
    for (const [user, list] of s.sent) {
      if (home(user) !== g) return `${g} stores messages sent by ${user}, who lives in ${home(user)}`;
      for (const m of list) {
        committed++;
        const copies = stored.get(m.key) ?? 0;
        if (copies !== 1)
          return `${m.key} (${m.from} → ${m.to} in ${home(m.to)}) is stored ${copies} times on the recipient's side`;
      }
    }
  }
  const storedTotal = [...stored.values()].reduce((a, b) => a + b, 0);
  if (storedTotal !== committed)
    return `recipients hold ${storedTotal} messages, senders committed ${committed}: something was stored that was never sent`;
  for (const [g, s] of f.states) {
    for (const [slot, box] of s.outbox) {
      if (box.delivered !== box.last || box.entries.length > 0)
        return `${g}'s outbox for slot ${slot} is not drained: delivered ${box.delivered} of ${box.last}`;
      const dest = f.directory.get(slot)!;
      const high = dest === g ? box.last : (f.states.get(dest)!.inbox.get(inboxKey(g, slot)) ?? 0);
      if (high !== box.last)
        return `${dest}'s inbox from ${g} for slot ${slot} stands at ${high}, ${g}'s outbox at ${box.last}`;
    }
  }
  for (const [user, list] of f.acked) {
    const sent = f.states.get(home(user))!.sent.get(user) ?? [];
    const position = new Map(sent.map((m, i) => [m.key, i]));
    let last = -1;
    for (const m of list) {
      const at = position.get(m.key);
      if (at === undefined) return `${m.key} was acknowledged to ${user} but is not in ${home(user)}'s committed state`;
      if (at < last) return `${user}'s acknowledged messages are out of order in ${home(user)}`;
      last = at;
    }
  }
  return undefined;
}
