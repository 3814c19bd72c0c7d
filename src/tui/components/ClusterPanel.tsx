import { Box } from 'ink';
import { Text } from '../../terminal/colors.js';
import type { ClusterSnapshot } from '../hooks.js';
import { clusterRows, clusterSummary } from '../state/status.js';
import { fit, textWidth, truncate } from '../../terminal/text.js';
import { theme, toneColor } from './theme.js';

export interface ClusterPanelProps {
  snapshot: ClusterSnapshot | undefined;
  width: number;
  /** Rows: a title, a header, then one per replica. */
  height: number;
  now: number;
}

const COLS = { id: 3, address: 18, role: 10, epoch: 6, commit: 8, applied: 8, lag: 6 };

/** Each replica's role (learners too), epoch, up/down, log position and lag, refreshed about every second. */
export function ClusterPanel({ snapshot, width, height, now }: ClusterPanelProps) {
  const rows = snapshot ? clusterRows(snapshot.probes, snapshot.leader, snapshot.knownIds) : [];
  const summary = snapshot
    ? clusterSummary(snapshot.probes, snapshot.leader)
    : { text: 'asking the replicas…', tone: 'warn' as const };
  const age = snapshot ? `${Math.max(0, (now - snapshot.at) / 1000).toFixed(0)} s ago · c hides` : 'c hides';
  const titleText = ` Cluster · ${summary.text} `;
  const titleRoom = Math.max(0, width - textWidth(age) - 3);
  const title = truncate(titleText, titleRoom);
  const header =
    fit('id', COLS.id) +
    fit('address', COLS.address) +
    fit('role', COLS.role) +
    fit('epoch', COLS.epoch) +
    fit('commit', COLS.commit) +
    fit('applied', COLS.applied) +
    fit('lag', COLS.lag) +
    'probe';
  return (
    <Box flexDirection="column" width={width} height={height}>
      <Text wrap="truncate" dimColor={false}>
        <Text dimColor>─</Text>
        <Text bold color={toneColor(summary.tone)}>
          {title}
        </Text>
        <Text dimColor>{'─'.repeat(Math.max(0, width - 2 - textWidth(title) - textWidth(age)))}</Text>
        <Text dimColor> {age}</Text>
      </Text>
      <Text dimColor wrap="truncate">
        {truncate(header, width)}
      </Text>
      {rows.slice(0, Math.max(0, height - 2)).map((r) => {
        const roleColor = !r.up
          ? theme.error
          : r.leader
            ? theme.ok
            : r.role === 'follower'
              ? undefined
              : r.role === 'learner'
                ? theme.accent
                : theme.warn;
        return (
          <Text key={r.address} wrap="truncate">
            <Text bold={r.leader || !r.up} color={roleColor}>
              {fit(r.id, COLS.id)}
            </Text>
            {fit(r.address, COLS.address)}
            <Text color={roleColor} bold={r.leader || !r.up}>
              {fit(r.up ? r.role : 'DOWN', COLS.role)}
            </Text>
            {fit(r.epoch, COLS.epoch)}
            {fit(r.commit, COLS.commit)}
            {fit(r.applied, COLS.applied)}
            <Text color={r.lag !== '' && r.lag !== '-' && r.lag !== '0' ? theme.warn : undefined}>
              {fit(r.lag, COLS.lag)}
            </Text>
            <Text dimColor={r.up} color={r.up ? undefined : theme.error}>
              {truncate(r.note, Math.max(0, width - 59))}
            </Text>
          </Text>
        );
      })}
    </Box>
  );
}
