/** Accounts and sessions for the load: created and logged in through the client library. */
import { ChatClient } from '../../src/client/index.js';
import type { ListenUser, SendUser } from './jobs.js';

export const BENCH_PASSWORD = 'bench-password-1';

export interface Account {
  username: string;
  token: string;
}

/** Creates and logs in `names` (a few at a time: every creation and login costs the leader one scrypt). */
export async function createAccounts(servers: string[], names: string[], concurrency = 4): Promise<Account[]> {
  const out: Account[] = new Array<Account>(names.length);
  let next = 0;
  const worker = async () => {
    const client = new ChatClient({ servers, retryBudgetMs: 30_000 });
    try {
      while (next < names.length) {
        const i = next++;
        const name = names[i]!;
        await client.createAccount(name, BENCH_PASSWORD);
        const login = await client.login(name, BENCH_PASSWORD);
        out[i] = { username: name, token: login.token };
      }
    } finally {
      client.close();
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, names.length) }, worker));
  return out;
}

/** Logs existing accounts in (e.g. those of a prepared data set). */
export async function loginAccounts(servers: string[], names: string[], concurrency = 4): Promise<Account[]> {
  const out: Account[] = new Array<Account>(names.length);
  let next = 0;
  const worker = async () => {
    const client = new ChatClient({ servers, retryBudgetMs: 30_000 });
    try {
      while (next < names.length) {
        const i = next++;
        const login = await client.login(names[i]!, BENCH_PASSWORD);
        out[i] = { username: names[i]!, token: login.token };
      }
    } finally {
      client.close();
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, names.length) }, worker));
  return out;
}

/** Each account sends to the next one (a ring), so every user both sends and receives. */
export function ring(accounts: Account[]): SendUser[] {
  return accounts.map((a, i) => ({
    token: a.token,
    username: a.username,
    recipient: accounts[(i + 1) % accounts.length]!.username,
  }));
}

export function listeners(accounts: Account[]): ListenUser[] {
  return accounts.map((a) => ({ token: a.token, username: a.username }));
}
