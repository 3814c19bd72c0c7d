import { Box, useApp, useStdin } from 'ink';
import { Text } from '../../terminal/colors.js';
import { useEffect, useState } from 'react';
import type { ChatApi, ClusterApi, LoginResult } from '../../client/api.js';
import { useTerminalSize, type TerminalSize } from '../../terminal/use-terminal-size.js';
import { useConnection, useNow } from '../hooks.js';
import type { SettingsStore } from '../settings.js';
import { MIN_COLUMNS, MIN_ROWS, tooSmall } from '../state/layout.js';
import { MainScreen } from './MainScreen.js';
import { SignIn } from './SignIn.js';
import { theme } from './theme.js';
import { KeyRouter, useKeys } from '../keys.js';
import { commandId } from '../commands.js';

export interface AppProps {
  chat: ChatApi;
  cluster: ClusterApi;
  settings: SettingsStore;
  /** The servers in use, for display. */
  servers: readonly string[];
  /** Prefilled on the sign-in screen (else the last username saved). */
  username?: string;
  /** False with --no-bell. */
  bell?: boolean;
  /** Fixed size instead of the terminal's (tests). */
  size?: TerminalSize;
  /** Called when the user quits; the default exits Ink. */
  onQuit?: () => void;
}

/**
 * `username` on the sign-in screen is this instance's own memory (the name it was
 * signed in as, or the one given at start): never what another chat-tui saved
 * meanwhile, so a password is not typed into a Username field that changed.
 */
type Screen =
  | { kind: 'sign-in'; notice: string | undefined; username: string }
  | { kind: 'main'; username: string; unreadAtLogin: number };

/** chat-tui: the sign-in screen, then the main screen, sized to the terminal. */
export function App(props: AppProps) {
  const { exit } = useApp();
  const { isRawModeSupported } = useStdin();
  useEffect(() => {
    if (!isRawModeSupported) exit(new Error('chat-tui needs an interactive terminal: stdin does not support raw mode'));
  }, [isRawModeSupported]);
  if (!isRawModeSupported) {
    return (
      <Text color={theme.error}>
        chat-tui needs an interactive terminal (stdin does not support raw mode). Run it directly in a terminal, not
        through a pipe.
      </Text>
    );
  }
  return (
    <KeyRouter>
      <Screens {...props} />
    </KeyRouter>
  );
}

function Screens({ chat, cluster, settings, servers, username, bell = true, size: fixedSize, onQuit }: AppProps) {
  const { exit } = useApp();
  const size = useTerminalSize(fixedSize);
  const connection = useConnection(chat);
  const now = useNow(1000);
  const [screen, setScreen] = useState<Screen>(() => ({
    kind: 'sign-in',
    notice: undefined,
    username: username ?? settings.read().lastUsername,
  }));
  const quit = onQuit ?? (() => exit());
  let content;
  if (screen.kind === 'sign-in') {
    content = (
      <SignIn
        chat={chat}
        size={size}
        connection={connection}
        now={now}
        servers={servers}
        initialUsername={screen.username}
        notice={screen.notice}
        onQuit={quit}
        onSignedIn={(result: LoginResult) => {
          settings.update({ lastUsername: result.username });
          setScreen({ kind: 'main', username: result.username, unreadAtLogin: result.unreadCount });
        }}
      />
    );
  } else {
    content = (
      <MainScreen
        key={screen.username}
        chat={chat}
        cluster={cluster}
        settings={settings}
        me={screen.username}
        unreadAtLogin={screen.unreadAtLogin}
        size={size}
        connection={connection}
        now={now}
        bellAllowed={bell}
        servers={servers}
        onQuit={quit}
        onSignedOut={(notice, gone) => setScreen({ kind: 'sign-in', notice, username: gone ? '' : screen.username })}
      />
    );
  }
  // Too small to lay out: say so, but keep the screen (and its session) mounted, hidden, until the terminal grows.
  const small = tooSmall(size.columns, size.rows);
  return (
    <Box flexDirection="column">
      {small ? (
        <Box width={size.columns} height={Math.max(1, size.rows - 1)}>
          <Text color={theme.warn} wrap="wrap">
            The terminal is {size.columns}x{size.rows}; chat-tui needs at least {MIN_COLUMNS}x{MIN_ROWS}. Make it larger
            (Ctrl-C quits).
          </Text>
          <QuitOnCtrlC onQuit={quit} />
        </Box>
      ) : null}
      <Box display={small ? 'none' : 'flex'} flexDirection="column">
        {content}
      </Box>
    </Box>
  );
}

function QuitOnCtrlC({ onQuit }: { onQuit(): void }) {
  useKeys((press) => {
    if (commandId(['app'], press) === 'quit') onQuit();
  });
  return null;
}
