/**
 * Keyboard routing. Ink's `useInput` re-subscribes in a passive effect whenever a
 * handler or its `isActive` changes, so keys typed right after a screen or dialog
 * opens (a paste, tmux send-keys, a fast typist) can reach the old handler or none.
 * Here one `useInput` with a stable handler stays subscribed for the app's life and
 * hands every key to the handler on top of a stack; screens and dialogs join the
 * stack in a layout effect, i.e. in the same commit that shows them.
 *
 * It also turns what terminals send into presses the command table can match:
 * a bracketed paste (ESC[200~ … ESC[201~, mode 2004, which main.ts turns on)
 * becomes one press with `paste: true`, whatever line breaks it holds; a lone LF
 * is Ctrl-J; xterm's modifyOtherKeys Shift-Enter (ESC[27;2;13~) is Shift-Enter.
 */

import { useInput, type Key } from 'ink';
import { createContext, useCallback, useContext, useLayoutEffect, useRef, useState, type ReactNode } from 'react';
import { NO_KEY, type KeyPress } from './commands.js';

export type KeyHandler = (press: KeyPress) => void;

export interface KeyOptions {
  /** Default true. */
  active?: boolean;
  /**
   * Typed text is handed over one character at a time (keys as commands, e.g. the
   * conversation list), instead of as one run (text fields, a paste). May change
   * with the handler's state.
   */
  singleKeys?: boolean | (() => boolean);
  /**
   * A field of several lines: text that arrives in one chunk with a line break
   * inside it (a paste in a terminal without bracketed paste) is taken as a paste,
   * not as lines each followed by Enter.
   */
  multiline?: boolean | (() => boolean);
}

interface Entry {
  handler: { current: KeyHandler };
  options: { current: KeyOptions };
}

interface Router {
  push(entry: Entry): () => void;
}

const RouterContext = createContext<Router | undefined>(undefined);

const PASTE_START = '[200~';
const PASTE_END = '[201~';
/** xterm modifyOtherKeys: Shift (2) + Enter (13), after Ink strips the ESC. */
const MODIFY_OTHER_KEYS_SHIFT_ENTER = '[27;2;13~';

const flag = (option: boolean | (() => boolean) | undefined) =>
  typeof option === 'function' ? option() : option === true;

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
  const queue = useRef<KeyPress[]>([]);
  const draining = useRef(false);
  /** The text of a bracketed paste while it arrives (possibly in several chunks). */
  const pasting = useRef<string | undefined>(undefined);
  const [delivered, setDelivered] = useState(0);
  const top = () => stack.current[stack.current.length - 1];
  const drain = useCallback(() => {
    const next = queue.current.shift();
    if (!next) {
      draining.current = false;
      return;
    }
    const entry = top();
    if (entry) {
      const chars = Array.from(next.input);
      if (!next.paste && flag(entry.options.current.singleKeys) && chars.length > 1 && isPlainText(next.key)) {
        // The rest waits for the next turn: this key may open something that takes text.
        queue.current.unshift({ input: chars.slice(1).join(''), key: next.key });
        entry.handler.current({ input: chars[0]!, key: next.key });
      } else {
        entry.handler.current(next);
      }
    }
    setDelivered((n) => n + 1);
  }, []);
  useLayoutEffect(() => {
    if (delivered > 0) setImmediate(drain);
  }, [delivered, drain]);
  const onKey = useCallback((input: string, key: Key) => {
    const plain = isPlainText(key) && !key.upArrow && !key.downArrow && !key.leftArrow && !key.rightArrow;
    if (pasting.current !== undefined) {
      if (plain && input === PASTE_END) {
        queue.current.push({ input: pasting.current, key: { ...NO_KEY }, paste: true });
        pasting.current = undefined;
      } else if (key.ctrl && input === 'c') {
        // A paste whose end never came must not keep Ctrl-C from quitting.
        pasting.current = undefined;
        queue.current.push({ input, key });
      } else {
        pasting.current += key.return ? '\n' : key.tab ? '\t' : input;
        return;
      }
    } else if (plain && input === PASTE_START) {
      pasting.current = '';
      return;
    } else if (plain && input === MODIFY_OTHER_KEYS_SHIFT_ENTER) {
      queue.current.push({ input: '\r', key: { ...NO_KEY, return: true, shift: true } });
    } else if (plain && flag(top()?.options.current.multiline) && /[\r\n][^\r\n]/.test(input)) {
      queue.current.push({ input, key, paste: true });
    } else {
      queue.current.push(...splitChunk(input, key));
    }
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

/**
 * Ink hands over text read in one chunk as one input, control characters included,
 * e.g. "hello\r" when the text and Enter arrive together. This splits such a chunk
 * into the keys it holds: runs of text, Enter (CR or CRLF), Ctrl-J (a lone LF),
 * Tab, Backspace (DEL, which Ink reports as `delete`, or BS) and Ctrl-letter chords.
 */
export function splitChunk(input: string, key: Key): KeyPress[] {
  if (input === '\n' && isPlainText(key)) return [{ input: 'j', key: { ...NO_KEY, ctrl: true } }];
  if (input.length < 2 || key.ctrl || key.meta || !/[\x00-\x1f\x7f]/.test(input)) return [{ input, key }];
  const out: KeyPress[] = [];
  const parts = input.match(/\r\n|[\x00-\x1f\x7f]|[^\x00-\x1f\x7f]+/g) ?? [];
  for (const part of parts) {
    if (part === '\r' || part === '\r\n') out.push({ input: '', key: { ...NO_KEY, return: true } });
    else if (part === '\t') out.push({ input: '', key: { ...NO_KEY, tab: true } });
    else if (part === '\x7f') out.push({ input: '', key: { ...NO_KEY, delete: true } });
    else if (part === '\b') out.push({ input: '', key: { ...NO_KEY, backspace: true } });
    else if (part.length === 1 && part < ' ')
      out.push({ input: String.fromCharCode(part.charCodeAt(0) + 96), key: { ...NO_KEY, ctrl: true } });
    else out.push({ input: part, key: { ...NO_KEY } });
  }
  return out;
}
