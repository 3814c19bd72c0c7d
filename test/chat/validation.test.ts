import { describe, expect, it } from 'vitest';
import {
  MESSAGE_MAX_CODE_POINTS,
  MESSAGE_MAX_UTF8_BYTES,
  PASSWORD_MAX_LENGTH,
  PASSWORD_MIN_LENGTH,
  PATTERN_MAX_LENGTH,
  USERNAME_MAX_LENGTH,
  normalizeMessageText,
  usernameKey,
  validateIdempotencyKey,
  validateMessageText,
  validatePassword,
  validatePattern,
  validateUsername,
} from '../../src/server/chat/validation.js';

describe('validateUsername', () => {
  it.each(['a', 'Alice', 'bob_99', 'x.y-z', 'A'.repeat(USERNAME_MAX_LENGTH), '_', '-.-'])('accepts %j', (name) => {
    expect(validateUsername(name)).toBeUndefined();
  });

  it.each([
    ['', /required/],
    ['a'.repeat(USERNAME_MAX_LENGTH + 1), /33 characters.*at most 32/],
    ['john doe', /a space/],
    ['zoë', /'ë' \(U\+00EB\)/],
    ['a/b', /'\/'/],
    ['tab\there', /control character U\+0009/],
    ['😀', /U\+1F600/],
    ['ｆｕｌｌ', /U\+FF46/],
  ])('rejects %j with a message naming the problem', (name, message) => {
    expect(validateUsername(name)).toMatch(message);
  });
});

describe('usernameKey', () => {
  it('lowers ASCII letters only', () => {
    expect(usernameKey('AbC_9.-z')).toBe('abc_9.-z');
    // The Kelvin sign lowers to "k" with toLowerCase(); names must not collide through it.
    expect(usernameKey('\u212Aate')).toBe('\u212Aate');
    expect(usernameKey('İ')).toBe('İ');
  });
});

describe('validatePassword', () => {
  it('accepts 8 to 256 characters of any Unicode text, counted in code points', () => {
    expect(validatePassword('a'.repeat(PASSWORD_MIN_LENGTH))).toBeUndefined();
    expect(validatePassword('pässwörd with spaces 😀')).toBeUndefined();
    expect(validatePassword('😀'.repeat(PASSWORD_MAX_LENGTH))).toBeUndefined(); // 512 UTF-16 units
  });

  it('rejects short, long and control-character passwords', () => {
    expect(validatePassword('1234567')).toMatch(/too short \(7/);
    expect(validatePassword('😀'.repeat(7))).toMatch(/too short/);
    expect(validatePassword('a'.repeat(PASSWORD_MAX_LENGTH + 1))).toMatch(/too long \(257/);
    expect(validatePassword('password\n')).toMatch(/control character/);
    expect(validatePassword('pass\u0000word')).toMatch(/control character/);
    expect(validatePassword('pass\u009bword')).toMatch(/control character/);
    expect(validatePassword('password\ud800')).toMatch(/unpaired surrogate/);
  });
});

describe('validateMessageText', () => {
  it('accepts text with newlines, tabs, emoji, combining marks and right-to-left script', () => {
    for (const text of [
      'hi',
      ' padded ',
      'line 1\nline 2\tcol',
      '👩‍👩‍👧‍👦 family',
      'e\u0301',
      'שלום עולם \u200f!',
      'مرحبا',
    ]) {
      expect(validateMessageText(text), text).toBeUndefined();
    }
  });

  it('rejects empty and whitespace-only text', () => {
    expect(validateMessageText('')).toMatch(/empty/);
    expect(validateMessageText(' \n\t ')).toMatch(/empty/);
    expect(validateMessageText('\u3000')).toMatch(/empty/);
  });

  it('rejects control characters other than newline and tab', () => {
    expect(validateMessageText('a\u0000b')).toMatch(/U\+0000/);
    expect(validateMessageText('a\rb')).toMatch(/U\+000D/);
    expect(validateMessageText('bell\u0007')).toMatch(/U\+0007/);
    expect(validateMessageText('\u001b[31mred')).toMatch(/U\+001B/);
    expect(validateMessageText('del\u007f')).toMatch(/U\+007F/);
    expect(validateMessageText('c1\u0085')).toMatch(/U\+0085/);
    expect(validateMessageText('lone \udc00')).toMatch(/unpaired surrogate/);
  });

  it('counts code points, not UTF-16 units', () => {
    expect(validateMessageText('a'.repeat(MESSAGE_MAX_CODE_POINTS))).toBeUndefined();
    expect(validateMessageText('a'.repeat(MESSAGE_MAX_CODE_POINTS + 1))).toMatch(/4097 characters/);
    // 4096 four-byte characters: 8192 UTF-16 units, exactly 16 KiB of UTF-8.
    const emoji = '😀'.repeat(MESSAGE_MAX_CODE_POINTS);
    expect(Buffer.byteLength(emoji)).toBe(MESSAGE_MAX_UTF8_BYTES);
    expect(validateMessageText(emoji)).toBeUndefined();
    expect(validateMessageText(emoji + 'x')).toMatch(/4097 characters/);
  });

  it('measures the NFC form', () => {
    // 4096 "e" + combining acute compose to 4096 "é".
    const decomposed = 'e\u0301'.repeat(MESSAGE_MAX_CODE_POINTS);
    expect(validateMessageText(decomposed)).toBeUndefined();
    expect(normalizeMessageText('e\u0301')).toBe('\u00e9');
    // A mark with no precomposed form stays a separate code point.
    expect(validateMessageText('q\u0301'.repeat(MESSAGE_MAX_CODE_POINTS / 2 + 1))).toMatch(/characters long/);
  });
});

describe('validatePattern', () => {
  it.each(['', '*', 'a?c', 'al*', 'a_b', 'x.y-z*', '*'.repeat(PATTERN_MAX_LENGTH)])('accepts %j', (p) => {
    expect(validatePattern(p)).toBeUndefined();
  });

  it.each([
    ['a'.repeat(PATTERN_MAX_LENGTH + 1), /65 characters/],
    ['a b', /a space/],
    ['a%', /'%'/],
    ['[ab]', /'\['/],
    ['ä*', /U\+00E4/],
  ])('rejects %j', (p, message) => {
    expect(validatePattern(p)).toMatch(message);
  });
});

describe('validateIdempotencyKey', () => {
  it('accepts empty and ordinary keys, rejects long or control-character keys', () => {
    expect(validateIdempotencyKey('')).toBeUndefined();
    expect(validateIdempotencyKey('0b8f1c2e-5f0e-4c3a-9a43-3c1f9a6d2b11')).toBeUndefined();
    expect(validateIdempotencyKey('k'.repeat(129))).toMatch(/at most 128/);
    expect(validateIdempotencyKey('a\nb')).toMatch(/control/);
  });
});
