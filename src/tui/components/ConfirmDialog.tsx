import { Text } from '../../terminal/colors.js';
import Spinner from 'ink-spinner';
import { useState } from 'react';
import { useRefState } from '../hooks.js';
import { errorText } from '../errors.js';
import { Dialog, dialogColumns } from './Dialog.js';
import { theme } from './theme.js';
import { Wrapped } from './Wrapped.js';
import { useKeys } from '../keys.js';
import { commandId } from '../commands.js';

export interface ConfirmDialogProps {
  title: string;
  lines: string[];
  width: number;
  height: number;
  /** Runs on `y`; the dialog stays open (with the error) if it fails. */
  onConfirm(): Promise<void>;
  onClose(): void;
}

export function ConfirmDialog({ title, lines, width, height, onConfirm, onClose }: ConfirmDialogProps) {
  const cols = dialogColumns(width);
  const [busy, setBusy, busyRef] = useRefState(false);
  const [error, setError] = useState<string | undefined>(undefined);
  useKeys(
    (press) => {
      if (busyRef.current) return;
      const id = commandId(['confirm'], press);
      if (id === 'close') onClose();
      if (id !== 'accept') return;
      setBusy(true);
      setError(undefined);
      onConfirm().then(
        () => onClose(),
        (err: unknown) => {
          setBusy(false);
          setError(errorText(err));
        },
      );
    },
    { singleKeys: true },
  );
  return (
    <Dialog title={title} hint="y confirms · n or Esc cancels" width={width} height={height} color={theme.warn}>
      <Text> </Text>
      {lines.map((l, i) => (
        <Wrapped key={i} text={l} width={cols} />
      ))}
      <Text> </Text>
      {busy ? (
        <Text color={theme.warn}>
          <Spinner type="dots" /> working…
        </Text>
      ) : error ? (
        <Wrapped color={theme.error} text={`✗ ${error}`} width={cols} />
      ) : (
        <Text bold>
          Press <Text color={theme.badge}>y</Text> to confirm, <Text color={theme.badge}>n</Text> to cancel.
        </Text>
      )}
    </Dialog>
  );
}
