/**
 * How chat-tui gets attention without nagging: one bell for a burst of messages
 * (not one per message), and the unread total in the terminal's title (OSC 2),
 * which tabs and window lists show while the terminal is in the background.
 */

import { useEffect, useRef } from 'react';

/** Messages closer together than this are one burst: one bell. */
export const BURST_MS = 3_000;

/** Whether a message that deserves attention at `now` rings, given when the last such message came. */
export function ringsBell(lastAttentionAt: number | undefined, now: number): boolean {
  return lastAttentionAt === undefined || now - lastAttentionAt >= BURST_MS;
}

/** The terminal title: who is logged in and how many messages wait. */
export function terminalTitle(me: string, unread: number): string {
  return unread > 0 ? `chat-tui · ${me} · ${unread} unread` : `chat-tui · ${me}`;
}

/** The escape sequence that sets the terminal (window and tab) title. */
export function setTitleSequence(title: string): string {
  return `\x1b]2;${title.replace(/[\x00-\x1f\x7f-\x9f]/g, '')}\x07`;
}

export interface Attention {
  /** A message that deserves attention arrived: rings the bell unless it is part of a burst (or the bell is off). */
  message(now: number): void;
}

/** Keeps the title at the unread total while mounted, and rings one bell per burst. */
export function useAttention(
  out: { write(text: string): unknown },
  me: string,
  unread: number,
  bell: () => boolean,
): Attention {
  const lastAt = useRef<number | undefined>(undefined);
  useEffect(() => {
    out.write(setTitleSequence(terminalTitle(me, unread)));
  }, [out, me, unread]);
  // Logged out: the title no longer names anyone.
  useEffect(() => () => void out.write(setTitleSequence('chat-tui')), [out]);
  return {
    message(now) {
      const rings = ringsBell(lastAt.current, now);
      lastAt.current = now;
      if (rings && bell()) out.write('\x07');
    },
  };
}
