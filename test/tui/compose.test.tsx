/**
 * Writing in chat-tui against a real one-replica cluster: multi-line messages,
 * pastes, the length limit, input history, and failed messages a person can
 * edit, retry or discard.
 */

import { describe, expect, it } from 'vitest';
import type { ChatClient } from '../../src/client/index.js';
import { waitUntil } from '../support/cluster.js';
import { KEY, oneReplica, paste, uniqueName, waitFor, type Tui } from './support.js';

const one = oneReplica();
const account = (name: string) => one.account(name);

/** A signed-in chat-tui with the conversation with `peer` open and the compose box focused. */
async function chattingWith(peer: string, size = { columns: 100, rows: 30 }): Promise<Tui> {
  const t = await one.signedIn(uniqueName('writer'), size);
  await t.press('n');
  await t.see('New conversation');
  await t.type(peer);
  await waitFor(() => t.screen().includes(`▸ ○ ${peer}`) || t.screen().includes(`▸ ● ${peer}`), 5000, t.screen);
  await t.press(KEY.enter);
  await t.see('No messages yet');
  return t;
}

/** What the peer has received so far, oldest first. */
async function received(peer: ChatClient, from: string): Promise<string[]> {
  return (await peer.getHistory(from)).messages.map((m) => m.text);
}

describe('composing', () => {
  it('writes a multi-line message with Alt-Enter and Ctrl-J and sends it with Enter', async () => {
    const peerName = uniqueName('reader');
    const peer = await account(peerName);
    const t = await chattingWith(peerName);
    const me = t.chat.username!;
    await t.type('first line');
    await t.press(KEY.altEnter);
    await t.type('second line');
    await t.press(KEY.ctrlJ);
    await t.type('    indented third');
    await t.see('indented third');
    // Nothing went out yet: Alt-Enter and Ctrl-J only break the line.
    expect(await received(peer, me)).toEqual([]);
    await t.press(KEY.enter);
    await waitUntil('the message to arrive', 5000, async () =>
      (await received(peer, me)).length === 1 ? true : undefined,
    );
    expect(await received(peer, me)).toEqual(['first line\nsecond line\n    indented third']);
    // Shown as three rows, the indentation kept.
    await t.see('✓');
    const lines = t.screen().split('\n');
    // In the chat pane (the list previews it too).
    const first = lines.findIndex((l) => /\d\d:\d\d .*first line/.test(l));
    expect(lines[first + 1]).toContain('second line');
    expect(lines[first + 2]).toMatch(/ {4}indented third/);
  });

  it('keeps a pasted text with line breaks as one draft: nothing is sent until Enter', async () => {
    const peerName = uniqueName('pasted');
    const peer = await account(peerName);
    const t = await chattingWith(peerName);
    const me = t.chat.username!;
    await t.type(paste('pasted one\rpasted two'));
    await t.see('pasted two');
    await t.type(paste('\r'));
    await new Promise((r) => setTimeout(r, 200));
    expect(await received(peer, me)).toEqual([]);
    await t.type('tail');
    await t.press(KEY.enter);
    await waitUntil('the paste to arrive', 5000, async () =>
      (await received(peer, me)).length === 1 ? true : undefined,
    );
    expect(await received(peer, me)).toEqual(['pasted one\npasted two\ntail']);
  });

  it('counts the length as it is typed and refuses a message over the limit before sending it', async () => {
    const peerName = uniqueName('limit');
    const peer = await account(peerName);
    const t = await chattingWith(peerName);
    const me = t.chat.username!;
    await t.type(paste('x'.repeat(4100)));
    await t.see('4100/4096');
    await t.press(KEY.enter);
    await t.see('4 characters too long');
    await new Promise((r) => setTimeout(r, 200));
    expect(await received(peer, me)).toEqual([]);
    expect(t.screen()).not.toContain('failed');
    for (let i = 0; i < 4; i++) await t.press(KEY.backspace);
    await t.press(KEY.enter);
    await waitUntil('the shortened message', 5000, async () =>
      (await received(peer, me)).length === 1 ? true : undefined,
    );
    expect((await received(peer, me))[0]).toHaveLength(4096);
  });

  it('recalls what I sent in this conversation with Up and Down', async () => {
    const peerName = uniqueName('history');
    await account(peerName);
    const t = await chattingWith(peerName);
    for (const text of ['earlier words', 'later words']) {
      await t.type(text);
      await t.press(KEY.enter);
      await t.see(`${text} ✓`);
    }
    await t.type('unsent draft');
    await t.press(KEY.up);
    await t.see('› later words');
    await t.press(KEY.up);
    await t.see('› earlier words');
    await t.press(KEY.down);
    await t.see('› later words');
    await t.press(KEY.down);
    await t.see('› unsent draft');
  });

  it('lets a failed message be edited back into the compose box, or discarded', async () => {
    const peerName = uniqueName('leaving');
    const peer = await account(peerName);
    const t = await chattingWith(peerName);
    await peer.deleteAccount(`${peerName}-secret`);
    await t.type('to nobody');
    await t.press(KEY.enter);
    await t.see('failed');
    // The reason is shown in full, wrapped, and says what can be done.
    await t.see('e edits');
    await t.press(KEY.escape, 'v');
    await t.see('e edit');
    await t.press('e');
    await t.see('› to nobody');
    expect(t.screen()).not.toContain('failed');
    // Sent again it fails again; this time discard it.
    await t.press(KEY.enter);
    await t.see('failed');
    await t.press(KEY.escape, 'v', 'd');
    await waitFor(() => !t.screen().includes('to nobody'), 5000, t.screen);
  });
});
