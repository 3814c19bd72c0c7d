#!/usr/bin/env node
/**
 * `npm start`: makes sure a local three-replica cluster is running (starting
 * one in the background when none answers) and opens chat-tui on it.
 */
import * as grpc from '@grpc/grpc-js';
import { spawn } from 'node:child_process';
import { mkdirSync, openSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ClusterServiceClient } from '../gen/chat/v1/cluster.js';
import { DEFAULT_DATA_ROOT, localAddresses } from './local-cluster/layout.js';

const CLUSTER_MAIN = fileURLToPath(new URL('./local-cluster.js', import.meta.url));
const TUI_MAIN = fileURLToPath(new URL('../tui/main.js', import.meta.url));

function findLeader(address: string): Promise<string | undefined> {
  const client = new ClusterServiceClient(address, grpc.credentials.createInsecure());
  return new Promise((resolveLeader) => {
    client.findLeader({}, new grpc.Metadata(), { deadline: Date.now() + 500 }, (err, res) => {
      client.close();
      resolveLeader(err ? undefined : res.leaderId || '');
    });
  });
}

async function anyAnswers(addresses: string[]): Promise<{ answered: boolean; leader: boolean }> {
  const answers = await Promise.all(addresses.map(findLeader));
  return { answered: answers.some((a) => a !== undefined), leader: answers.some((a) => a) };
}

async function main(): Promise<void> {
  const addresses = localAddresses();
  let state = await anyAnswers(addresses);
  if (!state.answered) {
    const dataDir = resolve(process.env.CHAT_LOCAL_DATA ?? DEFAULT_DATA_ROOT);
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const out = openSync(join(dataDir, 'cluster.out'), 'a', 0o600);
    const child = spawn(process.execPath, [CLUSTER_MAIN, 'start', '--quiet', '--data-dir', dataDir], {
      detached: true,
      stdio: ['ignore', out, out],
    });
    child.unref();
    process.stdout.write(
      `started a local cluster in the background (${addresses.join(', ')}; data in ${dataDir}); stop it with: npm run cluster:stop\n`,
    );
  }
  const deadline = Date.now() + 15_000;
  while (!state.leader && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
    state = await anyAnswers(addresses);
  }
  if (!state.leader) process.stdout.write('the cluster has no leader yet; chat-tui will show what it waits for\n');
  const tui = spawn(process.execPath, [TUI_MAIN, ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: { ...process.env, CHAT_SERVERS: process.env.CHAT_SERVERS ?? addresses.join(',') },
  });
  tui.on('exit', (code) => process.exit(code ?? 0));
}

void main();
