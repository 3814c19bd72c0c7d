/**
 * `chat-ops watch`: the full-screen dashboard. Owns the terminal: the alternate
 * screen is entered here and left on every way out.
 */
import { render, type Instance } from 'ink';
import type { ClusterApi } from '../../client/api.js';
import { EXIT_OK, EXIT_UNHEALTHY, EXIT_USAGE } from '../model/health.js';
import type { EventSource } from '../sources/event-source.js';
import { App } from '../ui/App.js';
import { enterFullScreen, installExitGuards, restoreTerminal } from '../../terminal/full-screen.js';
import type { CommandIo } from './io.js';

export interface WatchOptions {
  intervalMs: number;
}

/** Why the dashboard cannot run here, or undefined when it can. */
export function terminalProblem(stdin: { isTTY?: boolean }, stdout: { isTTY?: boolean }): string | undefined {
  if (!stdin.isTTY) return 'standard input is not a terminal';
  if (!stdout.isTTY) return 'standard output is not a terminal';
  return undefined;
}

export async function runWatch(
  cluster: ClusterApi,
  events: EventSource,
  io: CommandIo,
  o: WatchOptions,
): Promise<number> {
  const problem = terminalProblem(process.stdin, process.stdout);
  if (problem) {
    io.err(
      `chat-ops watch is a full-screen dashboard and needs an interactive terminal: ${problem}.\n` +
        'For scripts use `chat-ops status --json` (exit status 0 healthy, 1 degraded, 6 not serving) and `chat-ops logs --follow`.\n',
    );
    return EXIT_USAGE;
  }
  const screen = enterFullScreen();
  let ink: Instance | undefined;
  let finished = false;
  const restore = () => restoreTerminal(ink, screen);
  const guards = installExitGuards((code, reason) => {
    if (finished) return;
    finished = true;
    restore();
    if (reason) process.stderr.write(`chat-ops watch stopped: ${reason}\n`);
    cluster.close();
    process.exit(code);
  });
  let failure: unknown;
  try {
    ink = render(<App cluster={cluster} events={events} intervalMs={o.intervalMs} />, {
      exitOnCtrlC: false,
      patchConsole: true,
    });
    await ink.waitUntilExit();
  } catch (err) {
    failure = err;
  } finally {
    finished = true;
    guards.remove();
    restore();
  }
  if (failure === undefined) return EXIT_OK;
  io.err(`chat-ops watch stopped: ${failure instanceof Error ? failure.message : String(failure)}\n`);
  return EXIT_UNHEALTHY;
}
