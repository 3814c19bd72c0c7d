/**
 * Every key chat-tui understands, in one table: what a key does (the key
 * reducers match presses against it), the hint line (commands with a `hint`)
 * and the help overlay (all of them, by scope) are read from here, so the three
 * cannot disagree. Modelled on gemini-cli's keyBindings.ts and iamb's
 * keybindings.rs: commands are data, handlers switch on command ids.
 */

import type { Key } from 'ink';

/** Where a command applies: a focus of the main screen, a dialog, or every text field. */
export type Scope =
  | 'app'
  | 'list'
  | 'compose'
  | 'select'
  | 'text'
  | 'switcher'
  | 'search'
  | 'inbox'
  | 'settings'
  | 'confirm'
  | 'delete-account'
  | 'help'
  | 'sign-in';

/** What the hint line may show depends on the situation on screen. */
export interface Situation {
  /** A conversation is open. */
  conversationOpen: boolean;
  /** The open conversation has messages that failed to send. */
  failedHere: boolean;
  /** In selection mode, the cursor is on a message that failed to send. */
  failedUnderCursor: boolean;
}

export const NO_SITUATION: Situation = { conversationOpen: false, failedHere: false, failedUnderCursor: false };

export interface Command {
  /** What the handler does; the same id may appear in several scopes. */
  id: string;
  scope: Scope;
  /** Key specs: `Enter`, `Esc`, `Ctrl-N`, `Alt-Enter`, `Shift-Tab`, `Up`, `PgUp`, `Alt-1…9`, `0…9`, or one character. */
  keys: readonly string[];
  /** For the help overlay. */
  does: string;
  /** A word or two for the hint line (commands without one are only in the help). */
  hint?: string;
  /** The keys the hint line shows (default: the first key). */
  hintKeys?: string;
  /** Shown in the hint line only when this holds. */
  when?: (s: Situation) => boolean;
}

const c = (
  scope: Scope,
  id: string,
  keys: string[],
  does: string,
  extra: Partial<Pick<Command, 'hint' | 'hintKeys' | 'when'>> = {},
): Command => ({
  id,
  scope,
  keys,
  does,
  ...extra,
});

export const COMMANDS: readonly Command[] = [
  // Main screen, whatever has the focus (unless a dialog is open).
  c('app', 'quit', ['Ctrl-C'], 'quit (the terminal is restored)'),
  c('app', 'focus.toggle', ['Tab', 'Shift-Tab'], 'switch between the list and the compose box'),
  c('app', 'scroll.page-up', ['PgUp'], 'scroll the conversation up (older history loads at the top)', {
    hint: 'scroll',
    hintKeys: 'PgUp/PgDn',
  }),
  c('app', 'scroll.page-down', ['PgDn'], 'scroll the conversation down'),
  c('app', 'scroll.newest', ['End'], 'jump to the newest message (in the compose box: also the end of the line)'),
  c('app', 'unread.next', ['Ctrl-N', 'Alt-A'], 'open the next conversation with unread messages', {
    hint: 'next unread',
  }),
  c('app', 'switcher', ['Ctrl-K'], 'go to a conversation: type a few letters of the name', { hint: 'go to' }),
  c('app', 'jump', ['Alt-1…9'], 'open the 1st … 9th conversation of the list'),
  c('app', 'retry', ['Ctrl-R'], 'retry the failed messages of this conversation (same idempotency keys)', {
    hint: 'retry',
    when: (s) => s.failedHere,
  }),

  c('list', 'list.up', ['Up', 'k'], 'move up'),
  c('list', 'list.down', ['Down', 'j'], 'move down'),
  c('list', 'list.first', ['Home'], 'to the first conversation'),
  c('list', 'list.open', ['Enter', 'Right'], 'open the conversation and write', { hint: 'open' }),
  c('list', 'search', ['n', '/'], 'new conversation: search all accounts', { hint: 'new' }),
  c('list', 'unread.next', ['a'], 'open the next conversation with unread messages', { hint: 'next unread' }),
  c('list', 'inbox', ['u'], 'read unread messages, N at a time', { hint: 'read unread' }),
  c('list', 'quit', ['q'], 'quit', { hint: 'quit' }),
  c('list', 'select.start', ['v'], 'select messages: delete them, or edit, retry or discard a failed one', {
    hint: 'select',
  }),
  c('list', 'cluster', ['c'], 'show or hide the cluster panel', { hint: 'cluster' }),
  c('list', 'settings', ['s'], 'settings: bell, N, cluster panel', { hint: 'settings' }),
  c('list', 'compose', ['i'], 'write in the open conversation'),
  c('list', 'logout', ['L'], 'log out'),
  c('list', 'delete-account', ['X'], 'delete my account (asks for the password)'),
  c('list', 'help', ['?'], 'every key (this help)', { hint: 'help' }),

  c('compose', 'send', ['Enter'], 'send the message (refused while it is over the length limit)', { hint: 'send' }),
  c(
    'compose',
    'newline',
    ['Alt-Enter', 'Shift-Enter', 'Ctrl-J'],
    'new line in the message (Shift-Enter where the terminal reports it)',
    { hint: 'new line' },
  ),
  c('compose', 'focus.list', ['Esc'], 'back to the list (then ? for help)', { hint: 'list & keys' }),
  c('compose', 'history.up', ['Up'], 'the line above, or from the first line: the messages sent here before'),
  c('compose', 'history.down', ['Down'], 'the line below, or from the last line: back towards the draft'),

  c('text', 'left', ['Left', 'Ctrl-B'], 'move the cursor left'),
  c('text', 'right', ['Right', 'Ctrl-F'], 'move the cursor right'),
  c('text', 'home', ['Home', 'Ctrl-A'], 'to the start of the line'),
  c('text', 'end', ['End', 'Ctrl-E'], 'to the end of the line'),
  c('text', 'word-left', ['Alt-Left', 'Ctrl-Left', 'Alt-B'], 'back one word'),
  c('text', 'word-right', ['Alt-Right', 'Ctrl-Right', 'Alt-F'], 'forward one word'),
  c('text', 'backspace', ['Backspace'], 'erase backwards'),
  c('text', 'delete-forward', ['Ctrl-D'], 'erase forwards'),
  c('text', 'kill-to-start', ['Ctrl-U'], 'erase to the start of the line'),
  c('text', 'kill-word', ['Ctrl-W', 'Alt-Backspace'], 'erase the word before the cursor'),

  c('select', 'select.up', ['Up', 'k'], 'move to the message above', { hint: 'move', hintKeys: '↑↓' }),
  c('select', 'select.down', ['Down', 'j'], 'move to the message below'),
  c('select', 'select.toggle', ['Space'], 'select or unselect the message (the full date shows in the header)', {
    hint: 'select',
  }),
  c(
    'select',
    'select.delete',
    ['d', 'Backspace'],
    'delete the selected messages, or the one under the cursor (asks first); a failed one is discarded',
    {
      hint: 'delete',
    },
  ),
  c('select', 'select.edit', ['e'], 'put a failed message back in the compose box to edit it', {
    hint: 'edit',
    when: (s) => s.failedUnderCursor,
  }),
  c('select', 'select.retry', ['r'], 'retry a failed message', { hint: 'retry', when: (s) => s.failedUnderCursor }),
  c('select', 'select.newest', ['End'], 'to the newest message'),
  c('select', 'select.done', ['Esc', 'v'], 'stop selecting', { hint: 'done' }),
  c('select', 'help', ['?'], 'every key (this help)', { hint: 'help' }),

  c('switcher', 'move.up', ['Up', 'Ctrl-P'], 'previous match'),
  c('switcher', 'move.down', ['Down', 'Ctrl-N'], 'next match'),
  c('switcher', 'accept', ['Enter'], 'open the conversation'),
  c('switcher', 'close', ['Esc'], 'close'),

  c('search', 'move.up', ['Up'], 'previous account'),
  c('search', 'move.down', ['Down'], 'next account'),
  c('search', 'page.next', ['PgDn'], 'next page'),
  c('search', 'page.previous', ['PgUp'], 'previous page'),
  c('search', 'accept', ['Enter'], 'open the conversation (typing: a pattern, * any run, ? one character)'),
  c('search', 'close', ['Esc'], 'close'),

  c('inbox', 'accept', ['Enter', 'Space'], 'read the next N'),
  c('inbox', 'move.up', ['Up', 'k'], 'scroll up'),
  c('inbox', 'move.down', ['Down', 'j'], 'scroll down'),
  c('inbox', 'page.previous', ['PgUp'], 'a page up'),
  c('inbox', 'page.next', ['PgDn'], 'a page down'),
  c('inbox', 'newest', ['End'], 'to the newest'),
  c('inbox', 'close', ['Esc', 'q'], 'close'),

  c('settings', 'move.up', ['Up', 'k'], 'previous setting'),
  c('settings', 'move.down', ['Down', 'j', 'Tab'], 'next setting'),
  c('settings', 'toggle', ['Space', 'Enter'], 'switch on or off'),
  c('settings', 'decrease', ['Left', '-', 'h'], 'N one less (a switch: off or on)'),
  c('settings', 'increase', ['Right', '+', 'l'], 'N one more (a switch: off or on)'),
  c('settings', 'decrease.page', ['PgDn'], 'N ten less'),
  c('settings', 'increase.page', ['PgUp'], 'N ten more'),
  c('settings', 'digit', ['0…9'], 'type N (1 to 1000)'),
  c('settings', 'erase', ['Backspace'], 'erase a digit of N'),
  c('settings', 'close', ['Esc', 'q', 's'], 'close (every change is saved at once)'),

  c('confirm', 'accept', ['y'], 'confirm'),
  c('confirm', 'close', ['n', 'Esc', 'q'], 'cancel'),

  c('delete-account', 'accept', ['Enter'], 'delete the account once the password is typed'),
  c('delete-account', 'close', ['Esc'], 'cancel'),

  c('help', 'move.up', ['Up', 'k'], 'scroll up'),
  c('help', 'move.down', ['Down', 'j'], 'scroll down'),
  c('help', 'page.previous', ['PgUp'], 'a page up'),
  c('help', 'page.next', ['PgDn', 'Space'], 'a page down'),
  c('help', 'first', ['Home'], 'to the top'),
  c('help', 'newest', ['End'], 'to the bottom'),
  c('help', 'close', ['Esc', '?', 'q', 'Enter'], 'close this help'),

  c('sign-in', 'field.next', ['Tab', 'Down'], 'next field'),
  c('sign-in', 'field.previous', ['Shift-Tab', 'Up'], 'previous field'),
  c('sign-in', 'mode', ['Ctrl-T'], 'switch between log in and create account'),
  c('sign-in', 'accept', ['Enter'], 'next field, or log in / create the account from the last one'),
  c('sign-in', 'dismiss', ['Esc'], 'clear the error'),
  c('sign-in', 'quit', ['Ctrl-C'], 'quit'),
];

/** The help overlay's sections, in order. */
export const SCOPE_TITLES: readonly [Scope, string][] = [
  ['app', 'Anywhere on the main screen'],
  ['list', 'Conversation list'],
  ['compose', 'Compose box'],
  ['text', 'Editing text (the compose box and every field)'],
  ['select', 'Selecting messages (v)'],
  ['switcher', 'Go to a conversation (Ctrl-K)'],
  ['search', 'New conversation (n)'],
  ['inbox', 'Unread messages (u)'],
  ['settings', 'Settings (s)'],
  ['confirm', 'Questions (y / n)'],
  ['delete-account', 'Deleting the account (X)'],
  ['help', 'This help'],
  ['sign-in', 'Sign in'],
];

// ------------------------------------------------------------------ key specs

/** A key with no flag set (for presses made up here, e.g. from a split chunk). */
export const NO_KEY: Key = {
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

/** A key press as Ink reports it, plus whether it came as one bracketed paste. */
export interface KeyPress {
  input: string;
  key: Key;
  paste?: boolean;
}

type Named =
  | 'enter'
  | 'escape'
  | 'tab'
  | 'up'
  | 'down'
  | 'left'
  | 'right'
  | 'pageUp'
  | 'pageDown'
  | 'home'
  | 'end'
  | 'backspace'
  | 'space';

interface Chord {
  /** A named key, or one character. */
  named?: Named;
  char?: string;
  ctrl: boolean;
  meta: boolean;
  shift: boolean;
}

const NAMES: Record<string, Named> = {
  Enter: 'enter',
  Esc: 'escape',
  Tab: 'tab',
  Up: 'up',
  Down: 'down',
  Left: 'left',
  Right: 'right',
  PgUp: 'pageUp',
  PgDn: 'pageDown',
  Home: 'home',
  End: 'end',
  Backspace: 'backspace',
  Space: 'space',
};

/** `Alt-1…9` → Alt-1 … Alt-9; `0…9` → 0 … 9; anything else as is. */
function expand(spec: string): string[] {
  const range = /^(.*?)(\d)…(\d)$/.exec(spec);
  if (!range) return [spec];
  const out: string[] = [];
  for (let d = Number(range[2]); d <= Number(range[3]); d++) out.push(`${range[1]}${d}`);
  return out;
}

function parseChord(spec: string): Chord {
  const chord: Chord = { ctrl: false, meta: false, shift: false };
  let rest = spec;
  for (;;) {
    const m = /^(Ctrl|Alt|Shift)-(.+)$/.exec(rest);
    if (!m) break;
    if (m[1] === 'Ctrl') chord.ctrl = true;
    else if (m[1] === 'Alt') chord.meta = true;
    else chord.shift = true;
    rest = m[2]!;
  }
  const named = NAMES[rest];
  if (named) chord.named = named;
  else chord.char = chord.ctrl || chord.meta ? rest.toLowerCase() : rest;
  return chord;
}

function namedPressed(named: Named, input: string, key: Key): boolean {
  switch (named) {
    case 'enter':
      return key.return;
    case 'escape':
      return key.escape;
    case 'tab':
      return key.tab;
    case 'up':
      return key.upArrow;
    case 'down':
      return key.downArrow;
    case 'left':
      return key.leftArrow;
    case 'right':
      return key.rightArrow;
    case 'pageUp':
      return key.pageUp;
    case 'pageDown':
      return key.pageDown;
    case 'home':
      return key.home;
    case 'end':
      return key.end;
    // Ink reports the Backspace key (DEL) as `delete`.
    case 'backspace':
      return key.backspace || key.delete;
    case 'space':
      return input === ' ' && !key.ctrl && !key.meta;
  }
}

function chordMatches(chord: Chord, { input, key }: KeyPress): boolean {
  if (chord.named) {
    if (!namedPressed(chord.named, input, key)) return false;
    if (chord.named === 'space') return true;
    // Ink marks Esc itself as meta: a plain Esc is not Alt-anything.
    const meta = key.meta && !key.escape;
    return chord.ctrl === key.ctrl && chord.meta === meta && chord.shift === key.shift;
  }
  if (chord.ctrl) return key.ctrl && !key.meta && input === chord.char;
  if (chord.meta) return key.meta && !key.escape && !key.ctrl && input.toLowerCase() === chord.char;
  return !key.ctrl && !key.meta && input === chord.char;
}

const CHORDS = new Map<Command, Chord[]>(COMMANDS.map((cmd) => [cmd, cmd.keys.flatMap(expand).map(parseChord)]));

/** The first command of the given scopes (searched in that order) whose keys match the press. */
export function commandFor(scopes: readonly Scope[], press: KeyPress): Command | undefined {
  if (press.paste) return undefined;
  for (const scope of scopes) {
    for (const cmd of COMMANDS) {
      if (cmd.scope !== scope) continue;
      if (CHORDS.get(cmd)!.some((chord) => chordMatches(chord, press))) return cmd;
    }
  }
  return undefined;
}

/** The id of the matching command, or undefined. */
export function commandId(scopes: readonly Scope[], press: KeyPress): string | undefined {
  return commandFor(scopes, press)?.id;
}

// ------------------------------------------------------------------ labels

const ARROWS: Record<string, string> = { Up: '↑', Down: '↓', Left: '←', Right: '→' };

/** A key spec as the screens print it: arrows as arrows. */
export function keyLabel(spec: string): string {
  return spec.replace(/(^|-)(Up|Down|Left|Right)$/, (_, dash: string, name: string) => `${dash}${ARROWS[name]}`);
}

/** The commands of a scope, in table order. */
export function commandsOf(scope: Scope): Command[] {
  return COMMANDS.filter((cmd) => cmd.scope === scope);
}

/**
 * `[keys, label]` pairs for the hint line: the hints of `scopes`, in order, that
 * apply now; a label already given by an earlier scope is not repeated, and
 * help comes last.
 */
export function hintsFor(scopes: readonly Scope[], situation: Situation): [string, string][] {
  const out: [string, string][] = [];
  let help: [string, string] | undefined;
  for (const scope of scopes) {
    for (const cmd of commandsOf(scope)) {
      if (cmd.hint === undefined || (cmd.when && !cmd.when(situation)) || out.some(([, label]) => label === cmd.hint))
        continue;
      const pair: [string, string] = [cmd.hintKeys ?? keyLabel(cmd.keys[0]!), cmd.hint];
      if (cmd.id === 'help') help ??= pair;
      else out.push(pair);
    }
  }
  return help ? [...out, help] : out;
}
