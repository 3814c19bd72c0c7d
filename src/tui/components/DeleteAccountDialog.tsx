import { Box } from 'ink';
import { Text } from '../../terminal/colors.js';
import Spinner from 'ink-spinner';
import { useState } from 'react';
import { useRefState } from '../hooks.js';
import type { ChatApi } from '../../client/api.js';
import { errorText } from '../errors.js';
import { EMPTY_LINE, editKeyFor, editLine, lineText, type LineState } from '../state/line-editor.js';
import { truncate } from '../state/text-width.js';
import { Dialog, dialogColumns } from './Dialog.js';
import { LineField } from './LineField.js';
import { theme } from './theme.js';
import { useKeys } from '../keys.js';

export interface DeleteAccountDialogProps {
  chat: ChatApi;
  me: string;
  width: number;
  height: number;
  onDeleted(): void;
  onClose(): void;
}

/** Deletes the account after the password is typed again. */
export function DeleteAccountDialog({ chat, me, width, height, onDeleted, onClose }: DeleteAccountDialogProps) {
  const cols = dialogColumns(width);
  const [password, setPassword, passwordRef] = useRefState<LineState>(EMPTY_LINE);
  const [busy, setBusy, busyRef] = useRefState(false);
  const [error, setError] = useState<string | undefined>(undefined);

  useKeys((input, key) => {
    if (busyRef.current) return;
    if (key.escape) {
      onClose();
      return;
    }
    if (key.return) {
      const pw = lineText(passwordRef.current);
      if (!pw) {
        setError('type your password to confirm');
        return;
      }
      setBusy(true);
      setError(undefined);
      chat.deleteAccount(pw).then(
        () => onDeleted(),
        (err: unknown) => {
          setBusy(false);
          setPassword(EMPTY_LINE);
          setError(errorText(err));
        },
      );
      return;
    }
    const edit = editKeyFor(input, key);
    if (edit) {
      setError(undefined);
      setPassword((p) => editLine(p, edit));
    }
  });

  const lines = [
    `This deletes the account ${me} for good.`,
    'What you received is deleted. What you sent stays with whoever read it;',
    'what nobody has read yet is withdrawn.',
    '',
    'Type your password and press Enter. Esc cancels.',
  ];
  return (
    <Dialog title={`Delete account ${me}`} hint="Esc cancels" width={width} height={height} color={theme.error}>
      <Text> </Text>
      {lines.map((l, i) => (
        <Text key={i} wrap="truncate">
          {truncate(l, cols) || ' '}
        </Text>
      ))}
      <Text> </Text>
      <Box>
        <Text bold color={theme.error}>
          {'Password  '}
        </Text>
        <LineField state={password} width={Math.max(3, cols - 10)} focused={!busy} mask="•" />
      </Box>
      <Text> </Text>
      {busy ? (
        <Text color={theme.warn}>
          <Spinner type="dots" /> deleting…
        </Text>
      ) : error ? (
        <Text color={theme.error} wrap="truncate">
          ✗ {truncate(error, cols - 2)}
        </Text>
      ) : null}
    </Dialog>
  );
}
