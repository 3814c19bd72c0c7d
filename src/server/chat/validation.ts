/**
 * Pure validation rules for chat input, shared by the chat state machine and
 * the RPC layer. Each `validate*` returns a message a person can act on, or
 * undefined when the value is acceptable.
 */

export const USERNAME_MIN_LENGTH = 1;
export const USERNAME_MAX_LENGTH = 32;
export const PASSWORD_MIN_LENGTH = 8;
export const PASSWORD_MAX_LENGTH = 256;
/** Maximum message length in Unicode code points (after NFC normalization). */
export const MESSAGE_MAX_CODE_POINTS = 4096;
/** Maximum message size in UTF-8 bytes (after NFC normalization). */
export const MESSAGE_MAX_UTF8_BYTES = 16 * 1024;
export const PATTERN_MAX_LENGTH = 64;
/** Longest accepted client idempotency key. */
export const IDEMPOTENCY_KEY_MAX_LENGTH = 128;
/** Bounds of `limit` for fetchUnread. */
export const FETCH_LIMIT_MIN = 1;
export const FETCH_LIMIT_MAX = 1000;
/** Bounds of the number of ids in one deleteMessages call. */
export const DELETE_IDS_MIN = 1;
export const DELETE_IDS_MAX = 500;

const USERNAME_CHARS = /^[A-Za-z0-9_.-]+$/;
const PATTERN_CHARS = /^[A-Za-z0-9_.\-*?]*$/;
/** C0 and C1 control characters and DEL. */
const CONTROL_CHAR = /\p{Cc}/u;
/** Control characters other than tab and newline. */
const MESSAGE_FORBIDDEN_CHAR = /[^\P{Cc}\t\n]/u;
/** An unpaired UTF-16 surrogate (with the u flag, only lone halves match). */
const LONE_SURROGATE = /\p{Cs}/u;
/**
 * Printable ASCII, tab and newline only: most messages. Such text is its own NFC
 * form, holds no forbidden character and has one code point and one UTF-8 byte
 * per UTF-16 unit, so it is checked and stored without the general steps below.
 */
const PLAIN_TEXT = /^[\t\n\x20-\x7e]*$/;

/** A positive safe integer: an account or message id. */
export function isSafeId(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n > 0;
}

/** A safe integer: a number no precision was lost from. */
export function isSafeInt(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n);
}

/** The case-insensitive key of a username: ASCII letters lowered, nothing else touched. */
export function usernameKey(name: string): string {
  return name.replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 32));
}

function describeChar(ch: string): string {
  const cp = ch.codePointAt(0) ?? 0;
  const hex = `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
  if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f)) return `the control character ${hex}`;
  if (ch === ' ') return 'a space';
  return `'${ch}' (${hex})`;
}

function codePointLength(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

export function validateUsername(name: string): string | undefined {
  if (typeof name !== 'string' || name.length < USERNAME_MIN_LENGTH) {
    return 'a username is required (1 to 32 letters, digits, "_", "." or "-")';
  }
  if (!USERNAME_CHARS.test(name)) {
    const bad = [...name].find((ch) => !USERNAME_CHARS.test(ch)) ?? name;
    return `the username contains ${describeChar(bad)}; use only ASCII letters, digits, "_", "." and "-"`;
  }
  if (name.length > USERNAME_MAX_LENGTH) {
    return `the username is ${name.length} characters long; use at most ${USERNAME_MAX_LENGTH}`;
  }
  return undefined;
}

export function validatePassword(password: string): string | undefined {
  if (typeof password !== 'string') return 'a password is required';
  // A character is one or two UTF-16 units: a longer string is too long without counting it.
  if (password.length > 2 * PASSWORD_MAX_LENGTH)
    return `the password is too long (over ${PASSWORD_MAX_LENGTH} characters); use at most ${PASSWORD_MAX_LENGTH}`;
  const length = codePointLength(password);
  if (length < PASSWORD_MIN_LENGTH) {
    return `the password is too short (${length} characters); use at least ${PASSWORD_MIN_LENGTH}`;
  }
  if (length > PASSWORD_MAX_LENGTH) {
    return `the password is too long (${length} characters); use at most ${PASSWORD_MAX_LENGTH}`;
  }
  if (CONTROL_CHAR.test(password)) {
    return 'the password contains a control character (such as a newline or tab); remove it';
  }
  if (LONE_SURROGATE.test(password)) {
    return 'the password is not valid Unicode text (it holds an unpaired surrogate)';
  }
  return undefined;
}

/** The form in which message text is stored: Unicode NFC. */
export function normalizeMessageText(text: string): string {
  return PLAIN_TEXT.test(text) ? text : text.normalize('NFC');
}

/**
 * Text longer than this (UTF-16 units) is refused before it is normalized: NFC
 * composes at most four code points into one, so no such text fits the limits.
 */
export const MESSAGE_MAX_RAW_LENGTH = 4 * MESSAGE_MAX_UTF8_BYTES;

/** Validates message text as it will be stored (the text is NFC-normalized first). */
export function validateMessageText(text: string): string | undefined {
  if (typeof text !== 'string') return 'the message text is missing';
  if (text.length > MESSAGE_MAX_RAW_LENGTH) {
    return `the message is ${text.length} UTF-16 units long, far beyond the limit of ${MESSAGE_MAX_CODE_POINTS} characters and ${MESSAGE_MAX_UTF8_BYTES / 1024} KiB`;
  }
  const plain = PLAIN_TEXT.test(text);
  if (!plain && LONE_SURROGATE.test(text)) {
    return 'the message is not valid Unicode text (it holds an unpaired surrogate)';
  }
  const normalized = plain ? text : text.normalize('NFC');
  const forbidden = plain ? null : MESSAGE_FORBIDDEN_CHAR.exec(normalized);
  if (forbidden) {
    return `the message contains ${describeChar(forbidden[0])}; only newlines and tabs are allowed among control characters`;
  }
  if (normalized.trim().length === 0) {
    return 'the message is empty; type some text';
  }
  const codePoints = plain ? text.length : codePointLength(normalized);
  if (codePoints > MESSAGE_MAX_CODE_POINTS) {
    return `the message is ${codePoints} characters long; the limit is ${MESSAGE_MAX_CODE_POINTS}`;
  }
  const bytes = plain ? text.length : Buffer.byteLength(normalized, 'utf8');
  if (bytes > MESSAGE_MAX_UTF8_BYTES) {
    return `the message is ${bytes} bytes of UTF-8; the limit is ${MESSAGE_MAX_UTF8_BYTES} bytes (${MESSAGE_MAX_UTF8_BYTES / 1024} KiB)`;
  }
  return undefined;
}

/** An account-listing pattern: `*` matches any run of characters, `?` one character; empty means all. */
export function validatePattern(pattern: string): string | undefined {
  if (typeof pattern !== 'string') return 'the pattern must be text';
  if (!PATTERN_CHARS.test(pattern)) {
    const bad = [...pattern].find((ch) => !PATTERN_CHARS.test(ch)) ?? pattern;
    return `the pattern contains ${describeChar(bad)}; use letters, digits, "_", ".", "-" and the wildcards "*" and "?"`;
  }
  if (pattern.length > PATTERN_MAX_LENGTH) {
    return `the pattern is ${pattern.length} characters long; use at most ${PATTERN_MAX_LENGTH}`;
  }
  return undefined;
}

export function validateIdempotencyKey(key: string): string | undefined {
  if (typeof key !== 'string') return 'the idempotency key must be text';
  if (key.length > IDEMPOTENCY_KEY_MAX_LENGTH) {
    return `the idempotency key is ${key.length} characters long; use at most ${IDEMPOTENCY_KEY_MAX_LENGTH}`;
  }
  if (CONTROL_CHAR.test(key) || LONE_SURROGATE.test(key)) {
    return 'the idempotency key contains a control character or invalid Unicode';
  }
  return undefined;
}
