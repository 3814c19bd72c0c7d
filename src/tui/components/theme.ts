/** Colours, in one place so the screens agree. */

import type { Tone } from '../state/status.js';

export const theme = {
  accent: 'cyan',
  own: 'cyan',
  other: 'magenta',
  ok: 'green',
  warn: 'yellow',
  error: 'red',
  badge: 'yellow',
  barBackground: 'blue',
  barText: 'white',
} as const;

export function toneColor(tone: Tone): string | undefined {
  switch (tone) {
    case 'ok':
      return theme.ok;
    case 'warn':
      return theme.warn;
    case 'error':
      return theme.error;
    case 'muted':
      return undefined;
  }
}
