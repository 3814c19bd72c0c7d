/** The client's copy of the message limits says what the server says. */

import { describe, expect, it } from 'vitest';
import { MESSAGE_MAX_CHARACTERS, MESSAGE_MAX_UTF8_BYTES, messageSize } from '../../src/client/limits.js';
import {
  MESSAGE_MAX_CODE_POINTS,
  MESSAGE_MAX_UTF8_BYTES as SERVER_MAX_BYTES,
  validateMessageText,
} from '../../src/server/chat/validation.js';

describe('message limits', () => {
  it('are the server limits', () => {
    expect(MESSAGE_MAX_CHARACTERS).toBe(MESSAGE_MAX_CODE_POINTS);
    expect(MESSAGE_MAX_UTF8_BYTES).toBe(SERVER_MAX_BYTES);
  });

  it('measure as the server does: code points and UTF-8 bytes after NFC', () => {
    const texts = [
      'x'.repeat(4096),
      'x'.repeat(4097),
      'é'.repeat(4096),
      'e\u0301'.repeat(4096), // 8192 code points before NFC, 4096 after
      '😀'.repeat(4096), // 4096 characters, 16 KiB exactly
      '😀'.repeat(4096) + 'a',
      '日'.repeat(4096),
    ];
    for (const text of texts) {
      const size = messageSize(text);
      const refused = validateMessageText(text) !== undefined;
      expect(size.charactersOver > 0 || size.bytesOver > 0, `${text.slice(0, 4)}… (${text.length})`).toBe(refused);
    }
    expect(messageSize('e\u0301'.repeat(10))).toMatchObject({ characters: 10, bytes: 20, charactersOver: 0 });
    expect(messageSize('x'.repeat(4100)).charactersOver).toBe(4);
    // At most 4 bytes a code point: within 4096 characters the byte limit is never passed.
    expect(messageSize('😀'.repeat(4096)).bytesOver).toBe(0);
  });
});
