/** On/off options from the environment are read as booleans, not as "set means on". */
import { Command, Option } from 'commander';
import { describe, expect, it } from 'vitest';
import { applyEnvBooleans, EnvBooleanError, parseEnvBoolean } from '../../src/cli/exit-status.js';

function parseWith(env: NodeJS.ProcessEnv, argv: string[] = []): { join?: boolean } {
  const command = new Command().exitOverride().addOption(new Option('--join').env('CHAT_TEST_JOIN'));
  const saved = process.env.CHAT_TEST_JOIN;
  try {
    if (env.CHAT_TEST_JOIN === undefined) delete process.env.CHAT_TEST_JOIN;
    else process.env.CHAT_TEST_JOIN = env.CHAT_TEST_JOIN;
    command.parse(argv, { from: 'user' });
  } finally {
    if (saved === undefined) delete process.env.CHAT_TEST_JOIN;
    else process.env.CHAT_TEST_JOIN = saved;
  }
  applyEnvBooleans(command, env);
  return command.opts<{ join?: boolean }>();
}

describe('on/off environment variables', () => {
  it('take 1/0, true/false, yes/no in any case; empty is unset; anything else is refused by name', () => {
    for (const t of ['1', 'true', 'YES', ' yes ']) expect(parseEnvBoolean('CHAT_JOIN', t)).toBe(true);
    for (const f of ['0', 'false', 'No']) expect(parseEnvBoolean('CHAT_JOIN', f)).toBe(false);
    expect(parseEnvBoolean('CHAT_JOIN', '')).toBeUndefined();
    expect(parseEnvBoolean('CHAT_JOIN', undefined)).toBeUndefined();
    expect(() => parseEnvBoolean('CHAT_JOIN', 'on')).toThrow(
      new EnvBooleanError('CHAT_JOIN="on" is not one of 1, 0, true, false, yes, no'),
    );
  });

  it('decide the option where commander would have turned it on for any value; the flag itself still wins', () => {
    expect(parseWith({ CHAT_TEST_JOIN: 'false' }).join).toBe(false);
    expect(parseWith({ CHAT_TEST_JOIN: '0' }).join).toBe(false);
    expect(parseWith({ CHAT_TEST_JOIN: 'yes' }).join).toBe(true);
    expect(parseWith({}).join).toBeUndefined();
    expect(parseWith({ CHAT_TEST_JOIN: 'false' }, ['--join']).join).toBe(true);
    expect(() => parseWith({ CHAT_TEST_JOIN: 'maybe' })).toThrow(EnvBooleanError);
  });
});
