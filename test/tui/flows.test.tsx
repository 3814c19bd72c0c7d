/**
 * chat-tui screens against a real one-replica cluster, with real ChatClient and
 * ClusterClient: what a person sees and types.
 */

import { describe, expect, it } from 'vitest';
import { waitUntil } from '../support/cluster.js';
import { KEY, oneReplica, signIn, uniqueName, waitFor } from './support.js';

const one = oneReplica();
const tui = one.tui;
const account = one.account;

/** The chat pane of a frame: each line right of the list's separator. */
function chatPane(screen: string): string {
  return screen
    .split('\n')
    .map((l) => l.slice(l.indexOf('│') + 1))
    .join('\n');
}

/** Lines of the frame that mention `text`. */
function linesWith(screen: string, text: string): string[] {
  return screen.split('\n').filter((l) => l.includes(text));
}

describe('sign in', () => {
  it('shows the server refusing a wrong password, inline', async () => {
    const name = uniqueName('wrongpw');
    await account(name, 'right-password');
    const t = await tui();
    await t.see('Username');
    await t.type(name);
    await t.press(KEY.tab);
    await t.type('not-the-password');
    await t.press(KEY.enter);
    await t.see('✗');
    expect(t.screen()).toContain('Username');
    expect(t.screen()).not.toContain('Logged in');
    // Nothing of the password is ever on screen.
    expect(t.frames().join('')).not.toContain('not-the-password');
  });

  it('refuses two different passwords when creating an account, and creates none', async () => {
    const name = uniqueName('mismatch');
    const t = await tui();
    await t.see('Username');
    await t.press(KEY.ctrlT);
    await t.see('Confirm');
    await t.type(name);
    await t.press(KEY.tab);
    await t.type('first-password');
    await t.press(KEY.tab);
    await t.type('second-password');
    await t.press(KEY.enter);
    await t.see('the two passwords do not match');
    const probe = one.client();
    await expect(probe.login(name, 'first-password')).rejects.toThrow();
  });

  it('creates an account, shows the unread count after log-in, and remembers the username but no password', async () => {
    const name = uniqueName('fresh');
    const sender = await account(uniqueName('early'));
    const t = await tui();
    await signIn(t, name, 'fresh-password-1', true);
    expect(t.screen()).toContain('0 unread messages');
    t.close();

    await sender.sendMessage(name, 'one');
    await sender.sendMessage(name, 'two');
    const again = await tui();
    await signIn(again, name, 'fresh-password-1');
    expect(again.screen()).toContain('2 unread messages');
    expect(again.settings.read().lastUsername).toBe(name);
    const saved = JSON.stringify(again.settings.read());
    expect(saved).not.toContain('fresh-password-1');
  });
});

describe('chatting', () => {
  it('sends and receives between two users in real time, with unread badges, the bell and read marks', async () => {
    const alice = uniqueName('alice');
    const bob = uniqueName('bob');
    const a = await tui();
    const b = await tui();
    await signIn(a, alice, 'alice-password', true);
    await signIn(b, bob, 'bob-password', true);

    // Bob starts the conversation through the account search.
    await b.press('n');
    await b.see('New conversation');
    await b.type(alice);
    await b.see(`▸ `);
    await waitFor(() => b.screen().includes(`${alice}`) && !b.screen().includes('searching'), 5000, b.screen);
    await b.press(KEY.enter);
    await b.see(`${alice} `);
    await b.type('hello alice');
    await b.press(KEY.enter);
    await b.see('hello alice ✓');

    // Alice sees an unread badge at once, and her terminal rang.
    await waitFor(
      () => linesWith(a.screen(), bob).some((l) => /\b1\b/.test(l.slice(l.indexOf(bob) + bob.length))),
      10_000,
      a.screen,
    );
    expect(a.screen()).toContain('1 unread');
    expect(a.frames().some((f) => f.includes('\x07'))).toBe(true);

    // Opening the conversation shows the message and marks it read.
    await a.press(KEY.enter);
    await a.see('hello alice');
    await waitFor(() => !a.screen().includes('1 unread'), 5000, a.screen);
    await waitUntil('the conversation to be read on the server', 5000, async () =>
      (await a.chat.listConversations()).find((c) => c.peer === bob)?.unreadCount === 0 ? true : undefined,
    );

    // Alice answers; Bob's open conversation shows it without a badge or a bell.
    const bellsBefore = b.frames().filter((f) => f.includes('\x07')).length;
    await a.type('hi bob');
    await a.press(KEY.enter);
    await a.see('hi bob ✓');
    await b.see('hi bob');
    expect(b.frames().filter((f) => f.includes('\x07')).length).toBe(bellsBefore);
    expect(b.screen()).not.toContain('1 unread');
    // Own and other messages: each appears once in the conversation (the list previews the last one too).
    expect(linesWith(chatPane(a.screen()), 'hello alice')).toHaveLength(1);
    expect(linesWith(chatPane(b.screen()), 'hi bob')).toHaveLength(1);
  });

  it('reads unread messages N at a time', async () => {
    const me = uniqueName('reader');
    const peer = await account(uniqueName('writer'));
    const t = await tui();
    await signIn(t, me, 'reader-password', true);
    for (const text of ['first note', 'second note', 'third note']) await peer.sendMessage(me, text);
    await t.see('3 unread');
    // N is a setting: set it to 2.
    await t.press('s');
    await t.see('Settings');
    await t.press(KEY.down, '2', KEY.escape);
    await t.press('u');
    await t.see('1 still unread');
    expect(t.screen()).toContain('first note');
    expect(t.screen()).toContain('second note');
    expect(t.screen()).not.toContain('third note');
    await t.press(KEY.enter);
    await t.see('no more unread');
    expect(t.screen()).toContain('third note');
    await t.press(KEY.escape);
    await waitFor(() => !/\d+ unread/.test(t.screen().split('\n')[0] ?? ''), 5000, t.screen);
  });

  it('pages through an account search', async () => {
    const prefix = uniqueName('pg');
    for (let i = 0; i < 7; i++) await account(`${prefix}x${i}`);
    const t = await tui({ size: { columns: 80, rows: 14 } });
    await signIn(t, uniqueName('searcher'), 'searcher-password', true);
    await t.press('n');
    await t.see('New conversation');
    await t.type(`${prefix}x*`);
    await t.see(`${prefix}x0`);
    expect(t.screen()).toContain('page 1');
    expect(t.screen()).toContain('PgDn next');
    expect(t.screen()).not.toContain(`${prefix}x6`);
    await t.press(KEY.pageDown);
    await t.see('page 2');
    await t.see(`${prefix}x6`);
    expect(t.screen()).not.toContain(`${prefix}x0`);
    await t.press(KEY.pageUp);
    await t.see('page 1');
    await t.see(`${prefix}x0`);
    await t.press(KEY.down, KEY.enter);
    await t.see('No messages yet');
    expect(t.screen()).toContain(`${prefix}x1 offline`);
  });

  it('deletes selected messages after a confirmation', async () => {
    const me = uniqueName('deleter');
    const t = await tui();
    await signIn(t, me, 'deleter-password', true);
    const peerName = uniqueName('peer');
    const peer = await account(peerName);
    await peer.sendMessage(me, 'keep this one');
    await peer.sendMessage(me, 'delete me please');
    await peer.sendMessage(me, 'and me too');
    await t.see(peerName);
    await t.press(KEY.enter);
    await t.see('and me too');
    await t.press(KEY.escape, 'v');
    await t.see('0 selected');
    await t.press(KEY.space, KEY.up, KEY.space);
    await t.see('2 selected');
    await t.press('d');
    await t.see('Delete 2 messages?');
    await t.press('y');
    await t.see('deleted 2 messages');
    expect(t.screen()).toContain('keep this one');
    expect(t.screen()).not.toContain('delete me please');
    expect(t.screen()).not.toContain('and me too');
    const history = await t.chat.getHistory(peerName);
    expect(history.messages.map((m) => m.text)).toEqual(['keep this one']);
  });

  it('deletes the account after the password is typed, and says so', async () => {
    const me = uniqueName('leaver');
    const t = await tui();
    await signIn(t, me, 'leaver-password', true);
    await t.press('X');
    await t.see(`Delete account ${me}`);
    await t.type('wrong-password');
    await t.press(KEY.enter);
    await t.see('✗');
    await t.type('leaver-password');
    await t.press(KEY.enter);
    await t.see(`account ${me} deleted`);
    expect(t.settings.read().lastUsername).toBe('');
    await t.see('Username');
    const probe = one.client();
    await expect(probe.login(me, 'leaver-password')).rejects.toThrow();
  });
});

describe('screen', () => {
  function checkFits(screen: string, columns: number, rows: number): void {
    const lines = screen.split('\n');
    expect(lines.length).toBeLessThanOrEqual(rows - 1);
    for (const line of lines) expect([...line].length).toBeLessThanOrEqual(columns);
  }

  it('lays out again when the terminal is resized, never taller than it', async () => {
    const me = uniqueName('resizer');
    const t = await tui({ size: { columns: 100, rows: 30 } });
    await signIn(t, me, 'resizer-password', true);
    await t.press('c');
    await t.see('Cluster');
    await t.see('leader');
    checkFits(t.screen(), 100, 30);
    t.rerender({ columns: 60, rows: 16 });
    await waitFor(() => t.screen().split('\n').length <= 15, 5000, t.screen);
    checkFits(t.screen(), 60, 16);
    expect(t.screen()).toContain(me);
    t.rerender({ columns: 30, rows: 8 });
    await t.see('needs at least 40x10');
    t.rerender({ columns: 80, rows: 24 });
    await t.see('Conversations');
    checkFits(t.screen(), 80, 24);
  });

  it("follows the terminal's resize events", async () => {
    const t = await tui();
    await t.see('Username');
    Object.defineProperty(t.stdout, 'columns', { value: 50, configurable: true });
    Object.defineProperty(t.stdout, 'rows', { value: 12, configurable: true });
    t.stdout.emit('resize');
    await waitFor(() => t.screen().split('\n').length <= 11, 5000, t.screen);
    checkFits(t.screen(), 50, 12);
    expect(t.screen()).toContain('Password');
  });

  it('lists every command of the table in the help overlay', async () => {
    const t = await tui({ size: { columns: 100, rows: 60 } });
    await signIn(t, uniqueName('helper'), 'helper-password', true);
    await t.press('?');
    await t.see('Keys');
    // Page through it all.
    const pages = [t.screen()];
    while (!/(\d+)-(\d+) of \2 /.test(pages[pages.length - 1]!)) {
      await t.press(KEY.pageDown);
      await waitFor(() => t.screen() !== pages[pages.length - 1], 5000, t.screen);
      pages.push(t.screen());
    }
    const all = pages.join('\n');
    const { COMMANDS, SCOPE_TITLES, keyLabel } = await import('../../src/tui/commands.js');
    for (const [, title] of SCOPE_TITLES) expect(all).toContain(title);
    for (const cmd of COMMANDS) {
      for (const k of cmd.keys) expect(all, `${cmd.scope} ${cmd.id}`).toContain(keyLabel(k));
      expect(all).toContain(cmd.does.split(' ').slice(0, 3).join(' '));
    }
    await t.press(KEY.escape);
    await t.see('Conversations');
  });

  it('quits with q from the list and with Ctrl-C while typing, not with q in the compose box', async () => {
    let quits = 0;
    const t = await tui({ onQuit: () => (quits += 1) });
    await t.see('Username');
    await t.press(KEY.ctrlC);
    expect(quits).toBe(1);
    await signIn(t, uniqueName('quitter'), 'quitter-password', true);
    await t.press('n');
    await t.see('New conversation');
    await t.press(KEY.escape);
    await t.press('q');
    expect(quits).toBe(2);
    // In the compose box q is a letter.
    await t.press('n');
    await t.type('*');
    await waitFor(() => /▸ . \S/.test(t.screen()), 5000, t.screen);
    await t.press(KEY.enter);
    await t.see('No messages yet');
    await t.type('q');
    await t.see('› q');
    expect(quits).toBe(2);
    await t.press(KEY.ctrlC);
    expect(quits).toBe(3);
  });
});
