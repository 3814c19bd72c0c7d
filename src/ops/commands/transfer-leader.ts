/**
 * `chat-ops transfer-leader [ID]`: the leader hands leadership over to ID (or
 * to the most up-to-date voter in step) and the command reports who leads now.
 * A planned move: writes pause for a few round trips, not an election, so it
 * does not ask first.
 */
import { ChatError, type ClusterApi } from '../../client/api.js';
import { EXIT_CREDENTIALS, EXIT_NO_LEADER, EXIT_OK, EXIT_UNHEALTHY, EXIT_USAGE } from '../model/health.js';
import { credentialRefusal, isCredentialRefusal } from './credentials.js';
import type { CommandIo } from './io.js';
import { checkReplicaId } from './membership.js';

export async function runTransferLeader(
  cluster: ClusterApi,
  io: CommandIo,
  target: string | undefined,
  o: { json?: boolean },
): Promise<number> {
  if (target !== undefined) checkReplicaId(target);
  const started = performance.now();
  try {
    const r = await cluster.transferLeader(target);
    const ms = Math.round(performance.now() - started);
    if (o.json) io.out(`${JSON.stringify({ ...r, ms })}\n`);
    else
      io.out(
        `${r.previousLeaderId} handed leadership over: ${r.leaderId} (${r.leaderAddress}) leads epoch ${r.epoch} (${ms} ms)\n`,
      );
    return EXIT_OK;
  } catch (err) {
    if (isCredentialRefusal(err)) {
      io.err(`chat-ops transfer-leader: ${credentialRefusal(err).join('\n')}\n`);
      return EXIT_CREDENTIALS;
    }
    if (!(err instanceof ChatError)) throw err;
    switch (err.code) {
      case 'FAILED_PRECONDITION':
        io.err(
          `chat-ops: the leader refused or could not complete the transfer: ${err.message}\nchat-ops status shows who leads and who is in step.\n`,
        );
        return EXIT_UNHEALTHY;
      case 'INVALID_ARGUMENT':
        io.err(`chat-ops: ${err.message}\n`);
        return EXIT_USAGE;
      case 'UNAVAILABLE':
      case 'DEADLINE_EXCEEDED':
        io.err(
          `chat-ops: no leader answered in time (${err.message}); the transfer may or may not have happened: check with chat-ops status.\n`,
        );
        return EXIT_NO_LEADER;
      default:
        io.err(`chat-ops: ${err.code}: ${err.message}\n`);
        return EXIT_UNHEALTHY;
    }
  }
}
