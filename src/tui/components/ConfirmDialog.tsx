import { Text } from '../../terminal/colors.js';
import Spinner from 'ink-spinner';
import { useState } from 'react';
import { useRefState } from '../hooks.js';
import { errorText } from '../errors.js';
import { truncate } from '../state/text-width.js';
import { Dialog, dialogColumns } from './Dialog.js';
import { theme } from './theme.js';
import { useKeys } from '../keys.js';

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
  useKeys((input, key) => {
    if (busyRef.current) return;
    if (input === 'y' || input === 'Y') {
      setBusy(true);
      setError(undefined);
      onConfirm().then(
        () => onClose(),
        (err: unknown) => {
          setBusy(false);
          setError(errorText(err));
        },
      );
    } else if (input === 'n' || input === 'N' || key.escape || input === 'q') {
      onClose();
    }
  }, { singleKeys: true });
  return (
    <Dialog title={title} hint="y confirms · n or Esc cancels" width={width} height={height} color={theme.warn}>
      <Text> </Text>
      {lines.map((l, i) => (
        <Text key={i} wrap="truncate">
          {truncate(l, cols)}
        </Text>
      ))}
      <Text> </Text>
      {busy ? (
        <Text color={theme.warn}>
          <Spinner type="dots" /> working…
        </Text>
      ) : error ? (
        <Text color={theme.error} wrap="truncate">
          ✗ {truncate(error, cols - 2)}
        </Text>
      ) : (
        <Text bold>
          Press <Text color={theme.badge}>y</Text> to confirm, <Text color={theme.badge}>n</Text> to cancel.
        </Text>
      )}
    </Dialog>
  );
}
