/** Every key of the dashboard, as the help overlay lists them. */
export const KEY_HELP: readonly { keys: string; does: string }[] = [
  { keys: 'q, Ctrl-C', does: 'quit' },
  { keys: '?', does: 'show or hide this help (Esc hides it too)' },
  { keys: 'space', does: 'pause the timeline / resume live' },
  { keys: 'up, down', does: 'scroll the timeline one event (pauses it)' },
  { keys: 'PgUp, PgDn', does: 'scroll the timeline one page' },
  { keys: 'Home', does: 'oldest events' },
  { keys: 'End', does: 'newest events, live again' },
  { keys: 'r', does: 'cycle the replica filter: all, then each replica' },
  { keys: 'k', does: 'cycle the kind filter: all, election, leader, isr, catchup, snapshot, ...' },
  {
    keys: '/',
    does: 'type a filter: words that must appear, r:ID, k:KIND, and -WORD or -k:KIND to leave out (e.g. "r:B -k:replication"); Enter applies, Esc cancels',
  },
  { keys: 'c', does: 'clear all filters' },
];

/** The one-line reminder at the bottom of the screen, most useful first. */
export const FOOTER_HINT =
  '? help  q quit  space pause  ↑↓ PgUp/PgDn scroll  End live  r replica  k kind  / filter  c clear';
