/** Runs the built chat-ops (`node dist/ops/main.js`; `npm run build` first) as a script would, against given servers. */
import { fileURLToPath } from 'node:url';
import { requireBuilt, runProgram, type ProgramOptions, type Run } from '../support/run-program.js';

export type { Run } from '../support/run-program.js';

export const OPS_MAIN = fileURLToPath(new URL('../../dist/ops/main.js', import.meta.url));

export interface RunOptions extends ProgramOptions {
  /** CHAT_SERVERS for the run. */
  servers: readonly string[];
}

/** Fails at once when the build is missing, rather than with a puzzling exit status. */
export function requireBuiltOps(): void {
  requireBuilt(OPS_MAIN);
}

export function runBuiltOps(args: string[], o: RunOptions): Promise<Run> {
  return runProgram(OPS_MAIN, args, { ...o, env: { CHAT_SERVERS: o.servers.join(','), ...o.env } });
}
