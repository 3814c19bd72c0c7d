import { Box } from 'ink';
import { Text } from '../../terminal/colors.js';
import { useEffect, useRef, useState } from 'react';
import { useRefState } from '../hooks.js';
import type { AccountListing, ChatApi } from '../../client/api.js';
import { errorText } from '../errors.js';
import { editFor } from '../state/controls.js';
import { EMPTY_TEXT, editText, textOf, type TextState } from '../state/text-editor.js';
import { commandId } from '../commands.js';
import { nameKey } from '../state/messages.js';
import { truncate, wrap } from '../../terminal/text.js';
import { Dialog, dialogColumns, dialogRows } from './Dialog.js';
import { LabeledField } from './LineField.js';
import { theme } from './theme.js';
import { useKeys } from '../keys.js';

export interface SearchDialogProps {
  chat: ChatApi;
  me: string;
  width: number;
  height: number;
  onOpen(account: AccountListing): void;
  onClose(): void;
}

interface PageState {
  /** Tokens of the pages so far: tokens[i] fetches page i (page 0 has none). */
  tokens: (string | undefined)[];
  index: number;
  accounts: AccountListing[];
  next: string | undefined;
}

const FIRST: PageState = { tokens: [undefined], index: 0, accounts: [], next: undefined };

/** Start a conversation: accounts matching a wildcard pattern, a page at a time. */
export function SearchDialog({ chat, me, width, height, onOpen, onClose }: SearchDialogProps) {
  const rows = dialogRows(height);
  const cols = dialogColumns(width);
  const pageSize = Math.max(1, rows - 3);
  const [pattern, setPattern] = useState<TextState>(EMPTY_TEXT);
  const [page, setPage, pageRef] = useRefState<PageState>(FIRST);
  const [cursor, setCursor, cursorRef] = useRefState(0);
  const [loading, setLoading, loadingRef] = useRefState(true);
  const [error, setError] = useState<string | undefined>(undefined);
  const request = useRef(0);
  const text = textOf(pattern);
  // Without a wildcard, a pattern means "names containing it".
  const query = text === '' || /[*?]/.test(text) ? text : `*${text}*`;

  const load = (index: number, tokens: (string | undefined)[], delayMs: number) => {
    const id = ++request.current;
    setLoading(true);
    const run = async () => {
      if (id !== request.current) return;
      try {
        const result = await chat.listAccounts({ pattern: query, pageSize, pageToken: tokens[index] });
        if (id !== request.current) return;
        const nextTokens = tokens.slice(0, index + 1);
        if (result.nextPageToken) nextTokens[index + 1] = result.nextPageToken;
        setPage({ tokens: nextTokens, index, accounts: result.accounts, next: result.nextPageToken });
        setCursor(0);
        setError(undefined);
      } catch (err) {
        if (id !== request.current) return;
        setError(errorText(err));
        setPage((p) => ({ ...p, accounts: [] }));
      } finally {
        if (id === request.current) setLoading(false);
      }
    };
    const timer = setTimeout(() => void run(), delayMs);
    return () => clearTimeout(timer);
  };

  // A new pattern (or page size) starts again from the first page, after a short pause in typing.
  useEffect(() => load(0, [undefined], 200), [query, pageSize]);

  useKeys((press) => {
    const page = pageRef.current;
    const loading = loadingRef.current;
    switch (commandId(['search'], press)) {
      case 'close':
        return onClose();
      case 'accept': {
        const chosen = page.accounts[cursorRef.current];
        if (chosen) onOpen(chosen);
        return;
      }
      case 'move.down':
        return setCursor((c) => Math.min(Math.max(0, page.accounts.length - 1), c + 1));
      case 'move.up':
        return setCursor((c) => Math.max(0, c - 1));
      case 'page.next':
        if (page.next && !loading) load(page.index + 1, page.tokens, 0);
        return;
      case 'page.previous':
        if (page.index > 0 && !loading) load(page.index - 1, page.tokens, 0);
        return;
    }
    const edit = editFor(press, false);
    if (edit) setPattern((p) => editText(p, edit));
  });

  const footer = [
    `page ${page.index + 1}`,
    page.next ? 'PgDn next' : 'last page',
    page.index > 0 ? 'PgUp previous' : '',
    'Enter opens',
    'Esc closes',
  ]
    .filter(Boolean)
    .join(' · ');

  return (
    <Dialog
      title="New conversation"
      hint="* any run · ? one character · plain text: contains"
      width={width}
      height={height}
    >
      <LabeledField label="Pattern  " state={pattern} width={cols} />
      {error ? (
        // A failure is shown whole, wrapped, where the accounts would be.
        <Box flexDirection="column" height={pageSize + 1}>
          {wrap(`✗ ${error}`, cols)
            .slice(0, pageSize + 1)
            .map((line, i) => (
              <Text key={i} color={theme.error} wrap="truncate">
                {line}
              </Text>
            ))}
        </Box>
      ) : (
        <>
          <Text wrap="truncate" dimColor>
            {loading
              ? 'searching…'
              : page.accounts.length === 0
                ? truncate(`no account matches ${query}`, cols)
                : truncate(`accounts matching ${query || '*'} (● online)`, cols)}
          </Text>
          <Box flexDirection="column" height={pageSize}>
            {page.accounts.slice(0, pageSize).map((a, i) => (
              <Text key={a.username} wrap="truncate" inverse={i === cursor}>
                {i === cursor ? '▸ ' : '  '}
                {a.online ? <Text color={theme.ok}>●</Text> : <Text dimColor>○</Text>} {truncate(a.username, cols - 12)}
                {nameKey(a.username) === nameKey(me) ? <Text dimColor> (me)</Text> : null}
              </Text>
            ))}
          </Box>
        </>
      )}
      <Text dimColor wrap="truncate">
        {truncate(footer, cols)}
      </Text>
    </Dialog>
  );
}
