/** What chat-ops says when the cluster refuses its operator credentials (exit status 5). */
import { ChatError } from '../../client/api.js';

/** Where operator credentials come from, for messages. */
export const CREDENTIALS_HINT =
  'Give the admin token with --admin-token-file FILE (or CHAT_ADMIN_TOKEN_FILE, or the token in CHAT_ADMIN_TOKEN), or an operator certificate with --tls-cert/--tls-key (README, "Security").';

/** Whether the cluster refused the call for want of operator credentials. */
export function isCredentialRefusal(err: unknown): err is ChatError {
  return err instanceof ChatError && (err.code === 'UNAUTHENTICATED' || err.code === 'PERMISSION_DENIED');
}

/** The lines explaining a credential refusal. */
export function credentialRefusal(err: ChatError): string[] {
  const what =
    err.code === 'UNAUTHENTICATED' ? 'no valid operator credentials' : "these credentials are not an operator's";
  return [`refused: ${what} (${err.code}: ${err.message}). Nothing was changed.`, CREDENTIALS_HINT];
}
