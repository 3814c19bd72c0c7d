/**
 * The chat service's limits on message text, so a client can refuse what the
 * server would refuse before sending it. They are the server's rules
 * (src/server/chat/validation.ts; a test keeps the two equal): measured after
 * NFC normalization, at most 4096 characters (code points) and 16 KiB of UTF-8.
 */

export const MESSAGE_MAX_CHARACTERS = 4096;
export const MESSAGE_MAX_UTF8_BYTES = 16 * 1024;

export interface MessageSize {
  /** Code points after NFC normalization. */
  characters: number;
  /** UTF-8 bytes after NFC normalization. */
  bytes: number;
  /** Characters over the limit (0 when within it). */
  charactersOver: number;
  /** Bytes over the limit (0 when within it). */
  bytesOver: number;
}

export function messageSize(text: string): MessageSize {
  const normalized = text.normalize('NFC');
  let characters = 0;
  for (const _ of normalized) characters++;
  const bytes = Buffer.byteLength(normalized, 'utf8');
  return {
    characters,
    bytes,
    charactersOver: Math.max(0, characters - MESSAGE_MAX_CHARACTERS),
    bytesOver: Math.max(0, bytes - MESSAGE_MAX_UTF8_BYTES),
  };
}
