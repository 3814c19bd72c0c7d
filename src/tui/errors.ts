/** How failures read on screen. */

import { ChatError } from '../client/api.js';

function codeOf(err: unknown): string | undefined {
  if (err instanceof ChatError) return err.code;
  if (err && typeof err === 'object' && 'code' in err && typeof (err as { code: unknown }).code === 'string')
    return (err as { code: string }).code;
  return undefined;
}

/** The server's message for a ChatError, the message of any other error. */
export function errorText(err: unknown): string {
  if (err instanceof Error) {
    const code = codeOf(err);
    if (code === 'UNAVAILABLE' || code === 'DEADLINE_EXCEEDED')
      return `the cluster did not answer in time (${err.message}); try again`;
    return err.message || err.name;
  }
  return String(err);
}

/** A refusal of the username or password (as opposed to a cluster that cannot answer). */
export function isCredentialError(err: unknown): boolean {
  const code = codeOf(err);
  return code === 'UNAUTHENTICATED' || code === 'PERMISSION_DENIED' || code === 'NOT_FOUND';
}
