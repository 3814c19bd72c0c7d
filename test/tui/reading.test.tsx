/**
 * Reading in chat-tui against a real one-replica cluster: where unread starts,
 * previews, one bell per burst, the unread total in the title, the quick
 * switcher, Alt-number jumps, full dates, kept blank lines, and presence and
 * typing pushed by the server.
 */

import { describe, expect, it } from 'vitest';
import { alt, KEY, oneReplica, titles, uniqueName, waitFor, type Tui } from './support.js';

const one = oneReplica();
const account = (name: string) => one.account(name);
const signedInTui = one.signedIn;

const bells = (t: Tui) => t.frames().join('').split('\x07').length - 1 - titles(t.frames()).length;

describe('reading', () => {
  it('marks where the unread messages start and previews the last message in the list', async () => {
    const me = uniqueName('marker');
    const peerName = uniqueName('talker');
    const peer = await account(peerName);
    const t = await signedInTui(me);
    await peer.sendMessage(me, 'already read before');
    await t.see('already read before');
    await t.press(KEY.enter);
    await t.see(`${peerName} `);
    await t.press(KEY.escape);
    // Away from the conversation (another one open), three more arrive.
    await t.press('n');
    await t.see('New conversation');
    await t.type(me);
    await waitFor(() => t.screen().includes(`(me)`), 5000, t.screen);
    await t.press(KEY.enter);
    await t.see('No messages yet');
    for (const text of ['unread one', 'unread two', 'unread three']) await peer.sendMessage(me, text);
    // The list shows the newest as a preview under the name.
    await t.see('unread three');
    expect(
      t
        .screen()
        .split('\n')
        .some((l) => l.slice(0, 24).includes('unread three')),
    ).toBe(true);
    // Alt-1 opens the first conversation of the list: the unread one.
    await t.press(alt('1'));
    await t.see('unread one');
    const lines = t.screen().split('\n');
    const marker = lines.findIndex((l) => /new messages/.test(l));
    expect(marker, t.screen()).toBeGreaterThan(-1);
    expect(lines[marker - 1]).toContain('already read before');
    expect(lines[marker + 1]).toContain('unread one');
  });

  it('rings once for a burst and keeps the unread total in the terminal title', async () => {
    const me = uniqueName('title');
    const peerName = uniqueName('burst');
    const peer = await account(peerName);
    const t = await signedInTui(me);
    await waitFor(
      () => titles(t.frames()).some((x) => x.includes(me)),
      5000,
      () => titles(t.frames()).join(' | '),
    );
    for (let i = 0; i < 10; i++) await peer.sendMessage(me, `burst ${i}`);
    await t.see('10 unread');
    await waitFor(
      () => titles(t.frames()).at(-1)?.includes('10 unread') ?? false,
      5000,
      () => titles(t.frames()).join(' | '),
    );
    expect(bells(t)).toBe(1);
    await t.press(KEY.enter);
    await t.see('burst 9');
    await waitFor(
      () => !(titles(t.frames()).at(-1)?.includes('unread') ?? true),
      5000,
      () => titles(t.frames()).join(' | '),
    );
  });

  it('opens conversations with the quick switcher (fuzzy, by name) and Alt-number', async () => {
    const me = uniqueName('switch');
    const names = [uniqueName('zebra'), uniqueName('yak'), uniqueName('walrus')];
    const t = await signedInTui(me);
    for (const n of names) await (await account(n)).sendMessage(me, `from ${n}`);
    await t.see(`from ${names[2]}`);
    await t.press(KEY.ctrlK);
    await t.see('Go to');
    // Letters in order, not necessarily together.
    await t.type('wlrs');
    await waitFor(() => /▸ .*walrus/.test(t.screen()), 5000, t.screen);
    await t.press(KEY.enter);
    await t.see(`${names[2]} `);
    await t.see(`from ${names[2]}`);
    // Alt-2: the second conversation of the list.
    await t.press(KEY.escape);
    const listOrder = t
      .screen()
      .split('\n')
      .map((l) => names.find((n) => l.slice(0, 28).includes(n)))
      .filter((n): n is string => n !== undefined);
    await t.press(alt('2'));
    await t.see(`from ${listOrder[1]}`);
  });

  it('shows the full date of a message on demand, and keeps blank lines and indentation', async () => {
    const me = uniqueName('dates');
    const peerName = uniqueName('poet');
    const peer = await account(peerName);
    const t = await signedInTui(me);
    await peer.sendMessage(me, 'stanza one\n\n    indented line\n\tafter a tab');
    await t.see(peerName);
    await t.press(KEY.enter);
    await t.see('after a tab');
    const lines = t.screen().split('\n');
    // In the chat pane (the list shows a preview of it too).
    const first = lines.findIndex((l) => /\d\d:\d\d .*stanza one/.test(l));
    const text = (l: string | undefined) => (l ?? '').slice(lines[first]!.indexOf('stanza one'));
    expect(text(lines[first + 1]).trim()).toBe('');
    expect(text(lines[first + 2])).toMatch(/^ {4}indented line/);
    expect(text(lines[first + 3])).toMatch(/^ {4}after a tab/);
    await t.press(KEY.escape, 'v');
    await t.see(/\b(Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d{1,2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2}\b/);
  });

  it('shows presence as the server pushes it, without polling, and typing notices', async () => {
    const me = uniqueName('watcher');
    const peerName = uniqueName('comer');
    const peer = await account(peerName);
    const t = await signedInTui(me);
    await peer.sendMessage(me, 'hi there');
    await t.see('hi there');
    await t.press(KEY.enter);
    await t.see(`${peerName} offline`);
    // From here on no list refresh may happen: what changes must come on the stream.
    let listed = 0;
    const list = t.chat.listConversations.bind(t.chat);
    t.chat.listConversations = () => {
      listed += 1;
      return list();
    };
    const sub = peer.subscribe({ onMessage: () => undefined });
    await t.see(`${peerName} ● online`);
    await peer.notifyTyping(me);
    await t.see('typing…');
    sub.close();
    await t.see(`${peerName} offline`);
    expect(listed).toBe(0);
  });
});
