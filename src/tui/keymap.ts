/** Every key chat-tui understands, by context: the help overlay lists exactly these. */

export interface KeyHelp {
  keys: string;
  does: string;
}

export interface KeySection {
  title: string;
  keys: KeyHelp[];
}

const k = (keys: string, does: string): KeyHelp => ({ keys, does });

export const KEYMAP: readonly KeySection[] = [
  {
    title: 'Anywhere on the main screen',
    keys: [
      k('Ctrl-C', 'quit (the terminal is restored)'),
      k('Tab / Shift-Tab', 'switch between the list and the compose box'),
      k('PgUp / PgDn', 'scroll the conversation (older history loads at the top)'),
      k('End', 'jump to the newest message'),
      k('Ctrl-N / Alt-A', 'jump to the next conversation with unread messages'),
      k('Ctrl-R', 'retry the failed messages of this conversation'),
    ],
  },
  {
    title: 'Conversation list',
    keys: [
      k('↑ ↓ / k j', 'move'),
      k('Enter / →', 'open the conversation and write'),
      k('n or /', 'new conversation: search accounts'),
      k('a', 'jump to the next unread conversation'),
      k('u', 'read unread messages, N at a time'),
      k('v', 'select messages to delete'),
      k('c', 'show or hide the cluster panel'),
      k('s', 'settings: bell, N, cluster panel'),
      k('?', 'this help'),
      k('L', 'log out'),
      k('X', 'delete my account (asks for the password)'),
      k('q', 'quit'),
    ],
  },
  {
    title: 'Compose box',
    keys: [
      k('Enter', 'send'),
      k('Esc', 'back to the list (then ? for help)'),
      k('← → / Home / Ctrl-A Ctrl-E', 'move the cursor'),
      k('Alt-← Alt-→ / Alt-B Alt-F', 'move by word'),
      k('Backspace / Ctrl-D', 'erase backwards / forwards'),
      k('Ctrl-U / Ctrl-K / Ctrl-W', 'erase to the start / to the end / the word'),
    ],
  },
  {
    title: 'Selecting messages (v)',
    keys: [
      k('↑ ↓ / k j', 'move between messages'),
      k('Space', 'select or unselect the message'),
      k('d / Delete', 'delete the selected messages (or the one under the cursor); asks first'),
      k('Esc', 'stop selecting'),
    ],
  },
  {
    title: 'New conversation (n)',
    keys: [
      k('typing', 'a pattern: * matches any run, ? one character'),
      k('↑ ↓', 'choose an account'),
      k('PgDn / PgUp', 'next / previous page'),
      k('Enter', 'open the conversation'),
      k('Esc', 'close'),
    ],
  },
  {
    title: 'Unread messages (u)',
    keys: [k('Enter / Space', 'fetch the next N'), k('↑ ↓ / PgUp PgDn', 'scroll'), k('Esc', 'close')],
  },
  {
    title: 'Settings (s)',
    keys: [k('↑ ↓', 'choose'), k('Space / Enter', 'switch on or off'), k('← → / digits', 'change N'), k('Esc', 'close (saved at once)')],
  },
  {
    title: 'Sign in',
    keys: [
      k('Tab / ↑ ↓', 'next / previous field'),
      k('Ctrl-T', 'switch between log in and create account'),
      k('Enter', 'next field, or submit'),
      k('Ctrl-C', 'quit'),
    ],
  },
  {
    title: 'Dialogs',
    keys: [k('y / n', 'confirm / cancel'), k('Esc', 'cancel'), k('? / Esc / q', 'close this help; ↑ ↓ PgUp PgDn scroll it')],
  },
];
