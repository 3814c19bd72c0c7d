#!/usr/bin/env node
/** chat-ops: the operator console. See cli.ts for the commands and exit statuses. */
import { runCli } from './cli.js';
import { processIo } from './commands/io.js';
import { connect } from './connect.js';

process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  // The reader went away (e.g. `chat-ops logs | head`): stop quietly.
  if (err.code === 'EPIPE') process.exit(0);
});

runCli(process.argv, { io: processIo(), connect }).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`chat-ops: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
