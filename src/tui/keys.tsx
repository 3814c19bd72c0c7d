/**
 * Keyboard routing. Ink's `useInput` re-subscribes in a passive effect whenever a
 * handler or its `isActive` changes, so keys typed right after a screen or dialog
 * opens (a paste, tmux send-keys, a fast typist) can reach the old handler or none.
 * Here one `useInput` with a stable handler stays subscribed for the app's life and
 * hands every key to the handler on top of a stack; screens and dialogs join the
 * stack in a layout effect, i.e. in the same commit that shows them.
 */

import { useInput, type Key } from 'ink';
import { createContext, useCallback, useContext, useLayoutEffect, useRef, useState, type ReactNode } from 'react';

export type KeyHandler = (input: string, key: Key) => void;

export interface KeyOptions {
  /** Default true. */
  active?: boolean;
  /**
   * Typed text is handed over one character at a time (keys as commands, e.g. the
   * conversation list), instead of as one run (text fields, a paste). May change
   * with the handler's state.
   */
  singleKeys?: boolean | (() => boolean);
}

interface Entry {
  handler: { current: KeyHandler };
  options: { current: KeyOptions };
}

interface Router {
  push(entry: Entry): () => void;
}

const RouterContext = createContext<Router | undefined>(undefined);

export function KeyRouter({ children }: { children: ReactNode }) {
  const stack = useRef<Entry[]>([]);
  const router = useRef<Router>({
    push(entry) {
      stack.current.push(entry);
      return () => {
        const i = stack.current.lastIndexOf(entry);
        if (i >= 0) stack.current.splice(i, 1);
      };
    },
  });
  // Keys are handed over one at a time, each after React has committed what the one
  // before did: a chunk of input read at once (typing faster than a frame, tmux
  // send-keys) holds several keys, and a key that opens a dialog must not let the
  // next ones reach the screen underneath. React renders state set outside its own
  // events through its scheduler, which may yield to other tasks first on a busy
  // machine, so "the next turn of the event loop" is not enough: every delivery
  // also bumps `delivered`, an update that renders in the same pass as the ones the
  // handler made, and the next key goes out from the layout effect of that commit,
  // after the effects of whatever it mounted (a dialog joining the stack).
  const queue = useRef<[string, Key][]>([]);
  const draining = useRef(false);
  const [delivered, setDelivered] = useState(0);
  const drain = useCallback(() => {
    const next = queue.current.shift();
    if (!next) {
      draining.current = false;
      return;
    }
    const top = stack.current[stack.current.length - 1];
    if (top) {
      const [input, key] = next;
      const single = top.options.current.singleKeys;
      const wantsSingle = typeof single === 'function' ? single() : single === true;
      const chars = Array.from(input);
      if (wantsSingle && chars.length > 1 && isPlainText(key)) {
        // The rest waits for the next turn: this key may open something that takes text.
        queue.current.unshift([chars.slice(1).join(''), key]);
        top.handler.current(chars[0]!, key);
      } else {
        top.handler.current(input, key);
      }
    }
    setDelivered((n) => n + 1);
  }, []);
  useLayoutEffect(() => {
    if (delivered > 0) setImmediate(drain);
  }, [delivered, drain]);
  const onKey = useCallback((input: string, key: Key) => {
    queue.current.push(...splitChunk(input, key));
    if (draining.current) return;
    draining.current = true;
    drain();
  }, []);
  useInput(onKey);
  return <RouterContext.Provider value={router.current}>{children}</RouterContext.Provider>;
}

/** Receives the keys while this component is mounted (and active), unless something mounted later takes them. */
export function useKeys(handler: KeyHandler, options: KeyOptions = {}): void {
  const router = useContext(RouterContext);
  if (!router) throw new Error('useKeys needs a <KeyRouter> above it');
  const handlerRef = useRef(handler);
  handlerRef.current = handler;
  const optionsRef = useRef(options);
  optionsRef.current = options;
  const active = options.active ?? true;
  useLayoutEffect(() => {
    if (!active) return;
    return router.push({ handler: handlerRef, options: optionsRef });
  }, [router, active]);
}

function isPlainText(key: Key): boolean {
  return !key.ctrl && !key.meta && !key.return && !key.tab && !key.escape && !key.backspace && !key.delete;
}

const NO_KEY: Key = {
  upArrow: false,
  downArrow: false,
  leftArrow: false,
  rightArrow: false,
  pageDown: false,
  pageUp: false,
  home: false,
  end: false,
  return: false,
  escape: false,
  ctrl: false,
  shift: false,
  tab: false,
  backspace: false,
  delete: false,
  meta: false,
  super: false,
  hyper: false,
  capsLock: false,
  numLock: false,
};

/**
 * Ink hands over text read in one chunk as one input, control characters included,
 * e.g. "hello\r" when the text and Enter arrive together. This splits such a chunk
 * into the keys it holds: runs of text, Enter (CR, LF or CRLF), Tab, Backspace
 * (DEL, which Ink reports as `delete`, or BS) and Ctrl-letter chords.
 */
export function splitChunk(input: string, key: Key): [string, Key][] {
  if (input.length < 2 || key.ctrl || key.meta || !/[\x00-\x1f\x7f]/.test(input)) return [[input, key]];
  const out: [string, Key][] = [];
  const parts = input.match(/\r\n|[\x00-\x1f\x7f]|[^\x00-\x1f\x7f]+/g) ?? [];
  for (const part of parts) {
    if (part === '\r' || part === '\n' || part === '\r\n') out.push(['', { ...NO_KEY, return: true }]);
    else if (part === '\t') out.push(['', { ...NO_KEY, tab: true }]);
    else if (part === '\x7f') out.push(['', { ...NO_KEY, delete: true }]);
    else if (part === '\b') out.push(['', { ...NO_KEY, backspace: true }]);
    else if (part.length === 1 && part < ' ') out.push([String.fromCharCode(part.charCodeAt(0) + 96), { ...NO_KEY, ctrl: true }]);
    else out.push([part, { ...NO_KEY }]);
  }
  return out;
}
