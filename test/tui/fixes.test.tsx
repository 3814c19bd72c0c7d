/**
 * Bugs a person met in chat-tui, each as the screen showed it: the settings
 * number field, the sign-in box and its status line, cut error texts, the
 * username after logging out, and the connection state before any contact.
 */

import { describe, expect, it } from 'vitest';
import { freePort } from '../support/cluster.js';
import { KEY, oneReplica, signIn, uniqueName, waitFor } from './support.js';

const one = oneReplica();
const tui = one.tui;

/** The screen as one line of words: wrapped text reads as it would unwrapped. */
const words = (screen: string) => screen.replace(/[│╭╮╰╯─]/g, ' ').replace(/\s+/g, ' ');

describe('fixed', () => {
  it('the settings number field shows what was typed and refuses digits past the maximum', async () => {
    const t = await tui();
    await signIn(t, uniqueName('digits'), 'digits-password', true);
    await t.press('s');
    await t.see('Settings');
    // Typed together, as a fast typist or a paste sends them.
    await t.press(KEY.down);
    await t.type('5555');
    await t.see('[555]');
    expect(t.screen()).not.toContain('[1000]');
    await t.press(KEY.backspace);
    await t.see('[55]');
    expect(t.settings.read().unreadBatchSize).toBe(55);
  });

  it('keeps the status line under the sign-in box, at every size', async () => {
    for (const size of [
      { columns: 80, rows: 24 },
      { columns: 120, rows: 40 },
    ]) {
      const t = await tui({ size });
      await t.see('Username');
      await t.see('servers');
      const lines = t.screen().split('\n');
      const bottom = lines.findIndex((l) => l.includes('╰'));
      expect(lines[bottom], t.screen()).toMatch(/^ *╰─+╯ *$/);
      expect(lines[bottom + 1]).toContain('servers');
      t.close();
    }
  });

  it('wraps a long refusal instead of cutting it', async () => {
    const t = await tui({ size: { columns: 80, rows: 24 } });
    await t.see('Username');
    await t.press(KEY.ctrlT);
    await t.type('émile');
    await t.press(KEY.tab);
    await t.type('long-enough-password');
    await t.press(KEY.tab);
    await t.type('long-enough-password');
    await t.press(KEY.enter);
    await t.see('✗');
    await waitFor(() => words(t.screen()).includes('use only ASCII letters, digits, "_", "." and "-"'), 5000, t.screen);
  });

  it('fills in my own name after logging out, whatever another instance saved meanwhile', async () => {
    const me = uniqueName('leaver');
    const t = await tui();
    await signIn(t, me, 'leaver-password', true);
    // Another chat-tui sharing these settings deleted its account: the saved name is now empty.
    t.settings.update({ lastUsername: '' });
    await t.press('L');
    await t.see(`logged out ${me}`);
    await t.see(`Username  ${me}`);
    // The focus is on the password: typing goes there, masked.
    await t.type('secret-typed');
    await t.see('••••');
    expect(t.screen()).not.toContain('secret-typed');
  });

  it('says it cannot reach the servers until it has reached one, never "reconnecting"', async () => {
    const t = await tui({ servers: [`127.0.0.1:${await freePort()}`], size: { columns: 100, rows: 24 } });
    await t.see('cannot reach');
    expect(t.frames().join('')).not.toContain('reconnecting');
  });
});
