import { Box } from 'ink';
import { colorOrNone, Text } from '../../terminal/colors.js';
import Spinner from 'ink-spinner';
import { useState } from 'react';
import type { ChatApi, ConnectionState, LoginResult } from '../../client/api.js';
import type { TerminalSize } from '../../terminal/use-terminal-size.js';
import { commandId } from '../commands.js';
import { errorText, isCredentialError } from '../errors.js';
import { useRefState } from '../hooks.js';
import { useKeys } from '../keys.js';
import { editFor } from '../state/controls.js';
import { connectionStatus } from '../state/status.js';
import { EMPTY_TEXT, editText, textFrom, textOf, type TextState } from '../state/text-editor.js';
import { LineField } from './LineField.js';
import { theme, toneColor } from './theme.js';
import { Wrapped } from './Wrapped.js';

export type SignInMode = 'login' | 'create';
type Field = 'username' | 'password' | 'confirm';

export interface SignInProps {
  chat: ChatApi;
  size: TerminalSize;
  connection: ConnectionState;
  now: number;
  servers: readonly string[];
  /** Filled in; the password field then has the focus. */
  initialUsername: string;
  /** Shown on arrival, e.g. "logged out" or "account deleted". */
  notice: string | undefined;
  onSignedIn(result: LoginResult): void;
  onQuit(): void;
}

const MASK = '•';
const LABEL_WIDTH = 10;

export function SignIn({
  chat,
  size,
  connection,
  now,
  servers,
  initialUsername,
  notice,
  onSignedIn,
  onQuit,
}: SignInProps) {
  // Key handlers read the refs: keys typed faster than a re-render still land in the right field.
  const [mode, setMode, modeRef] = useRefState<SignInMode>('login');
  const [username, setUsername, usernameRef] = useRefState<TextState>(() => textFrom(initialUsername));
  const [password, setPassword, passwordRef] = useRefState<TextState>(EMPTY_TEXT);
  const [confirm, setConfirm, confirmRef] = useRefState<TextState>(EMPTY_TEXT);
  const [field, setField, fieldRef] = useRefState<Field>(initialUsername ? 'password' : 'username');
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy, busyRef] = useRefState<string | undefined>(undefined);
  const [info, setInfo] = useState<string | undefined>(notice);

  const fieldsOf = (m: SignInMode): Field[] =>
    m === 'create' ? ['username', 'password', 'confirm'] : ['username', 'password'];
  const fields = fieldsOf(mode);

  const move = (step: number) => {
    const list = fieldsOf(modeRef.current);
    const i = list.indexOf(fieldRef.current);
    setField(list[(i + step + list.length) % list.length]!);
  };

  const submit = async () => {
    const mode = modeRef.current;
    const name = textOf(usernameRef.current).trim();
    const pw = textOf(passwordRef.current);
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
    if (mode === 'create' && pw !== textOf(confirmRef.current)) {
      setError('the two passwords do not match; type the password again');
      setConfirm(EMPTY_TEXT);
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
        setConfirm(EMPTY_TEXT);
        setInfo(`account ${name} created`);
      }
      setError(created ? `logging in failed: ${errorText(err)}` : errorText(err));
      if (isCredentialError(err)) {
        setPassword(EMPTY_TEXT);
        setConfirm(EMPTY_TEXT);
        setField('password');
      }
    }
  };

  useKeys((press) => {
    const id = commandId(['sign-in'], press);
    if (id === 'quit') return onQuit();
    if (busyRef.current) return;
    switch (id) {
      case 'mode': {
        const next = modeRef.current === 'login' ? 'create' : 'login';
        setMode(next);
        setError(undefined);
        setConfirm(EMPTY_TEXT);
        if (next === 'login' && fieldRef.current === 'confirm') setField('password');
        return;
      }
      case 'field.next':
        return move(1);
      case 'field.previous':
        return move(-1);
      case 'accept': {
        const list = fieldsOf(modeRef.current);
        const at = fieldRef.current;
        if (
          at === list[list.length - 1] ||
          (at === 'username' && textOf(passwordRef.current) !== '' && modeRef.current === 'login')
        )
          void submit();
        else move(1);
        return;
      }
      case 'dismiss':
        return setError(undefined);
    }
    const edit = editFor(press, false);
    if (!edit) return;
    if (error) setError(undefined);
    if (fieldRef.current === 'username') setUsername((s) => editText(s, edit));
    else if (fieldRef.current === 'password') setPassword((s) => editText(s, edit));
    else setConfirm((s) => editText(s, edit));
  });

  const frameRows = size.rows - 1;
  const compact = frameRows < 17 || size.columns < 50;
  const boxWidth = Math.min(64, size.columns - (compact ? 0 : 2));
  const inner = boxWidth - (compact ? 0 : 4);
  const fieldWidth = Math.max(4, inner - LABEL_WIDTH);
  const status = connectionStatus(connection, now);
  const action = mode === 'login' ? 'log in' : 'create the account';
  const gap = compact ? null : <Text> </Text>;

  const row = (label: string, which: Field, state: TextState, mask?: string) => (
    <Box height={1}>
      <Text color={field === which ? theme.accent : undefined} bold={field === which}>
        {label.padEnd(LABEL_WIDTH)}
      </Text>
      <LineField state={state} width={fieldWidth} focused={field === which && !busy} mask={mask} />
    </Box>
  );

  const body = (
    <Box flexDirection="column" width={inner}>
      <Text bold color={theme.accent} wrap="truncate">
        chat-tui{'  '}
        <Text color={undefined} dimColor bold={false}>
          replicated chat
        </Text>
      </Text>
      {gap}
      <Text wrap="truncate">
        {mode === 'login' ? (
          <Text inverse bold>
            {' '}
            Log in{' '}
          </Text>
        ) : (
          <Text dimColor> Log in </Text>
        )}{' '}
        {mode === 'create' ? (
          <Text inverse bold>
            {' '}
            Create account{' '}
          </Text>
        ) : (
          <Text dimColor> Create account </Text>
        )}
        <Text dimColor> Ctrl-T switches</Text>
      </Text>
      {gap}
      {row('Username', 'username', username)}
      {row('Password', 'password', password, MASK)}
      {mode === 'create' ? row('Confirm', 'confirm', confirm, MASK) : gap}
      {gap}
      {busy ? (
        <Text color={theme.warn} wrap="truncate">
          <Spinner type="dots" /> {busy}
        </Text>
      ) : error ? (
        // Refusals are shown whole: wrapped, never cut.
        <Wrapped color={theme.error} text={`✗ ${error}`} width={inner} />
      ) : info ? (
        <Wrapped color={theme.ok} text={info} width={inner} />
      ) : (
        <Text> </Text>
      )}
      {gap}
      <Text dimColor wrap="truncate">
        {field === fields[fields.length - 1] ? `Enter ${action} · Tab next field` : 'Enter or Tab next field'} · Ctrl-C
        quit
      </Text>
    </Box>
  );

  return (
    <Box flexDirection="column" width={size.columns} height={frameRows} alignItems="center" justifyContent="center">
      {compact ? (
        body
      ) : (
        <Box
          flexDirection="column"
          flexShrink={0}
          borderStyle="round"
          borderColor={colorOrNone(theme.accent)}
          paddingX={1}
          width={boxWidth}
        >
          {body}
        </Box>
      )}
      <Box flexShrink={0} width={size.columns} justifyContent="center">
        <Wrapped
          color={toneColor(status.tone)}
          text={`${status.text} · servers ${servers.join(', ')}`}
          width={size.columns}
          maxRows={2}
        />
      </Box>
    </Box>
  );
}
