import { Box } from 'ink';
import { colorOrNone, Text } from '../../terminal/colors.js';
import Spinner from 'ink-spinner';
import { useState } from 'react';
import type { ChatApi, ConnectionState, LoginResult } from '../../client/api.js';
import { errorText, isCredentialError } from '../errors.js';
import { EMPTY_LINE, editKeyFor, editLine, lineFrom, lineText, type LineState } from '../state/line-editor.js';
import { connectionStatus } from '../state/status.js';
import { truncate } from '../state/text-width.js';
import { useRefState, type TerminalSize } from '../hooks.js';
import { LineField } from './LineField.js';
import { theme, toneColor } from './theme.js';
import { useKeys } from '../keys.js';

export type SignInMode = 'login' | 'create';
type Field = 'username' | 'password' | 'confirm';

export interface SignInProps {
  chat: ChatApi;
  size: TerminalSize;
  connection: ConnectionState;
  now: number;
  servers: readonly string[];
  initialUsername: string;
  /** Shown on arrival, e.g. "logged out" or "account deleted". */
  notice: string | undefined;
  onSignedIn(result: LoginResult): void;
  onQuit(): void;
}

const MASK = '•';

export function SignIn({ chat, size, connection, now, servers, initialUsername, notice, onSignedIn, onQuit }: SignInProps) {
  // Key handlers read the refs: keys typed faster than a re-render still land in the right field.
  const [mode, setMode, modeRef] = useRefState<SignInMode>('login');
  const [username, setUsername, usernameRef] = useRefState<LineState>(() => lineFrom(initialUsername));
  const [password, setPassword, passwordRef] = useRefState<LineState>(EMPTY_LINE);
  const [confirm, setConfirm, confirmRef] = useRefState<LineState>(EMPTY_LINE);
  const [field, setField, fieldRef] = useRefState<Field>(initialUsername ? 'password' : 'username');
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy, busyRef] = useRefState<string | undefined>(undefined);
  const [info, setInfo] = useState<string | undefined>(notice);

  const fieldsOf = (m: SignInMode): Field[] => (m === 'create' ? ['username', 'password', 'confirm'] : ['username', 'password']);
  const fields = fieldsOf(mode);

  const move = (step: number) => {
    const list = fieldsOf(modeRef.current);
    const i = list.indexOf(fieldRef.current);
    setField(list[(i + step + list.length) % list.length]!);
  };

  const submit = async () => {
    const mode = modeRef.current;
    const name = lineText(usernameRef.current).trim();
    const pw = lineText(passwordRef.current);
    if (!name) {
      setError('type a username');
      setField('username');
      return;
    }
    if (!pw) {
      setError('type a password');
      setField('password');
      return;
    }
    if (mode === 'create' && pw !== lineText(confirmRef.current)) {
      setError('the two passwords do not match; type the password again');
      setConfirm(EMPTY_LINE);
      setField('confirm');
      return;
    }
    setError(undefined);
    setInfo(undefined);
    let created = false;
    try {
      if (mode === 'create') {
        setBusy(`creating account ${name}…`);
        await chat.createAccount(name, pw);
        created = true;
      }
      setBusy(`logging in as ${name}…`);
      const result = await chat.login(name, pw);
      onSignedIn(result);
    } catch (err) {
      setBusy(undefined);
      if (created) {
        setMode('login');
        setConfirm(EMPTY_LINE);
        setInfo(`account ${name} created`);
      }
      setError(created ? `logging in failed: ${errorText(err)}` : errorText(err));
      if (isCredentialError(err)) {
        setPassword(EMPTY_LINE);
        setConfirm(EMPTY_LINE);
        setField('password');
      }
    }
  };

  useKeys(
    (input, key) => {
      if (key.ctrl && input === 'c') {
        onQuit();
        return;
      }
      if (busyRef.current) return;
      if (key.ctrl && input === 't') {
        const next = modeRef.current === 'login' ? 'create' : 'login';
        setMode(next);
        setError(undefined);
        setConfirm(EMPTY_LINE);
        if (next === 'login' && fieldRef.current === 'confirm') setField('password');
        return;
      }
      if (key.tab || key.downArrow) {
        move(key.shift ? -1 : 1);
        return;
      }
      if (key.upArrow) {
        move(-1);
        return;
      }
      if (key.return) {
        const list = fieldsOf(modeRef.current);
        const at = fieldRef.current;
        if (at === list[list.length - 1] || (at === 'username' && lineText(passwordRef.current) !== '' && modeRef.current === 'login')) void submit();
        else move(1);
        return;
      }
      if (key.escape) {
        setError(undefined);
        return;
      }
      const edit = editKeyFor(input, key);
      if (!edit) return;
      if (error) setError(undefined);
      if (fieldRef.current === 'username') setUsername((s) => editLine(s, edit));
      else if (fieldRef.current === 'password') setPassword((s) => editLine(s, edit));
      else setConfirm((s) => editLine(s, edit));
    },
  );

  const compact = size.rows - 1 < 17 || size.columns < 50;
  const boxWidth = Math.min(64, size.columns - (compact ? 0 : 2));
  const inner = boxWidth - (compact ? 0 : 4);
  const labelWidth = 10;
  const fieldWidth = Math.max(4, inner - labelWidth);
  const status = connectionStatus(connection, now);
  const action = mode === 'login' ? 'log in' : 'create the account';

  const row = (label: string, which: Field, state: LineState, mask?: string) => (
    <Box>
      <Text color={field === which ? theme.accent : undefined} bold={field === which}>
        {label.padEnd(labelWidth)}
      </Text>
      <LineField state={state} width={fieldWidth} focused={field === which && !busy} mask={mask} />
    </Box>
  );

  const body = (
    <Box flexDirection="column" width={inner}>
      <Text bold color={theme.accent}>
        chat-tui
        <Text color={undefined} dimColor bold={false}>
          {'  '}replicated chat
        </Text>
      </Text>
      {compact ? null : <Text> </Text>}
      <Text wrap="truncate">
        {mode === 'login' ? <Text inverse bold> Log in </Text> : <Text dimColor> Log in </Text>}{' '}
        {mode === 'create' ? <Text inverse bold> Create account </Text> : <Text dimColor> Create account </Text>}
        <Text dimColor>   Ctrl-T switches</Text>
      </Text>
      {compact ? null : <Text> </Text>}
      {row('Username', 'username', username)}
      {row('Password', 'password', password, MASK)}
      {mode === 'create' ? row('Confirm', 'confirm', confirm, MASK) : compact ? null : <Text> </Text>}
      {compact ? null : <Text> </Text>}
      {busy ? (
        <Text color={theme.warn} wrap="truncate">
          <Spinner type="dots" /> {busy}
        </Text>
      ) : error ? (
        <Text color={theme.error} wrap="truncate">
          ✗ {truncate(error, inner - 2)}
        </Text>
      ) : info ? (
        <Text color={theme.ok} wrap="truncate">
          {truncate(info, inner)}
        </Text>
      ) : (
        <Text> </Text>
      )}
      {compact ? null : <Text> </Text>}
      <Text dimColor wrap="truncate">
        {field === fields[fields.length - 1] ? `Enter ${action} · Tab next field` : 'Enter or Tab next field'} · Ctrl-C quit
      </Text>
    </Box>
  );

  return (
    <Box flexDirection="column" width={size.columns} height={size.rows - 1} alignItems="center" justifyContent="center">
      {compact ? (
        body
      ) : (
        <Box borderStyle="round" borderColor={colorOrNone(theme.accent)} paddingX={1} width={boxWidth}>
          {body}
        </Box>
      )}
      <Text wrap="truncate" color={toneColor(status.tone)}>
        {truncate(`${status.text} · servers ${servers.join(', ')}`, size.columns)}
      </Text>
    </Box>
  );
}
