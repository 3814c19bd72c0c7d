/**
 * The exit statuses chat-server, chat-tui and chat-ops share, and the command-line
 * parsing that keeps usage errors at 2 (commander's own default would be 1).
 */
import { Command, CommanderError, type ParseOptions } from 'commander';

export const EXIT_OK = 0;
/** Something failed at run time (a crash, a disk that failed, a refused request); chat-ops status: serving but degraded. */
export const EXIT_FAILURE = 1;
/** Usage and configuration: an unknown option or command, a bad value, a bad cluster file or environment variable. */
export const EXIT_USAGE = 2;
/** chat-ops add-replica, remove-replica, transfer-leader, snapshot save: no leader could be reached, or not in time. */
export const EXIT_NO_LEADER = 3;
/** chat-ops add-replica: the learner was added but is not a voting member within --timeout. */
export const EXIT_WAIT_TIMEOUT = 4;
/** chat-ops commands that change the cluster or read a backup: no operator credentials, or the cluster refused them. */
export const EXIT_CREDENTIALS = 5;
/** chat-ops status: the cluster does not serve writes (no leader, several claim to lead, or no replica answers). */
export const EXIT_NOT_SERVING = 6;

/**
 * Parses the command line; a usage error (unknown option, missing or bad value)
 * exits with EXIT_USAGE after commander's one-line message, --help and --version with 0.
 */
export function parseOrExit(command: Command, argv: readonly string[], options?: ParseOptions): void {
  command.exitOverride();
  try {
    command.parse([...argv], options);
  } catch (err) {
    if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? EXIT_OK : EXIT_USAGE);
    throw err;
  }
}

/** Accepted spellings of an environment variable that sets an on/off option. */
const TRUE = ['1', 'true', 'yes'];
const FALSE = ['0', 'false', 'no'];

/** An on/off environment variable: 1/true/yes or 0/false/no (any case); empty means unset; anything else is refused. */
export function parseEnvBoolean(name: string, text: string | undefined): boolean | undefined {
  const v = text?.trim().toLowerCase();
  if (v === undefined || v === '') return undefined;
  if (TRUE.includes(v)) return true;
  if (FALSE.includes(v)) return false;
  throw new EnvBooleanError(`${name}="${text}" is not one of 1, 0, true, false, yes, no`);
}

export class EnvBooleanError extends Error {}

/**
 * Commander turns an on/off option on whenever its environment variable is set,
 * whatever the value (CHAT_JOIN=false would mean --join): read those values again
 * as booleans. Throws EnvBooleanError for a value that is neither.
 */
export function applyEnvBooleans(command: Command, env: NodeJS.ProcessEnv = process.env): void {
  for (const option of command.options) {
    if (!option.isBoolean() || option.envVar === undefined) continue;
    const key = option.attributeName();
    if (command.getOptionValueSource(key) !== 'env') continue;
    command.setOptionValueWithSource(key, parseEnvBoolean(option.envVar, env[option.envVar]), 'env');
  }
}
