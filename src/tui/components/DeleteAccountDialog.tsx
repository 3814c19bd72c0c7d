import { Text } from '../../terminal/colors.js';
import Spinner from 'ink-spinner';
import { useState } from 'react';
import { useRefState } from '../hooks.js';
import type { ChatApi } from '../../client/api.js';
import { errorText } from '../errors.js';
import { commandId } from '../commands.js';
import { editFor } from '../state/controls.js';
import { EMPTY_TEXT, editText, textOf, type TextState } from '../state/text-editor.js';
import { Dialog, dialogColumns } from './Dialog.js';
import { LabeledField } from './LineField.js';
import { theme } from './theme.js';
import { Wrapped } from './Wrapped.js';
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
  const [password, setPassword, passwordRef] = useRefState<TextState>(EMPTY_TEXT);
  const [busy, setBusy, busyRef] = useRefState(false);
  const [error, setError] = useState<string | undefined>(undefined);

  useKeys((press) => {
    if (busyRef.current) return;
    const id = commandId(['delete-account'], press);
    if (id === 'close') {
      onClose();
      return;
    }
    if (id === 'accept') {
      const pw = textOf(passwordRef.current);
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
          setPassword(EMPTY_TEXT);
          setError(errorText(err));
        },
      );
      return;
    }
    const edit = editFor(press, false);
    if (edit) {
      setError(undefined);
      setPassword((p) => editText(p, edit));
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
        <Wrapped key={i} text={l} width={cols} />
      ))}
      <Text> </Text>
      <LabeledField label="Password  " color={theme.error} state={password} width={cols} focused={!busy} mask="•" />
      <Text> </Text>
      {busy ? (
        <Text color={theme.warn}>
          <Spinner type="dots" /> deleting…
        </Text>
      ) : error ? (
        <Wrapped color={theme.error} text={`✗ ${error}`} width={cols} />
      ) : null}
    </Dialog>
  );
}
