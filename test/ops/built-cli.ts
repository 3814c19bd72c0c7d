/** Runs the built chat-ops (`node dist/ops/main.js`; `npm run build` first) as a script would, against given servers. */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const OPS_MAIN = fileURLToPath(new URL('../../dist/ops/main.js', import.meta.url));

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** CHAT_SERVERS for the run. */
  servers: readonly string[];
  /** Written to its standard input, which is then closed (default nothing). */
  input?: string;
  env?: Record<string, string>;
  /** Killed and failed after this long (default 20 s). */
  timeoutMs?: number;
}

/** Fails at once when the build is missing, rather than with a puzzling exit status. */
export function requireBuiltOps(): void {
  if (!existsSync(OPS_MAIN)) throw new Error(`${OPS_MAIN} is missing: run \`npm run build\` first`);
}

export function runBuiltOps(args: string[], o: RunOptions): Promise<Run> {
  const timeoutMs = o.timeoutMs ?? 20_000;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [OPS_MAIN, ...args], {
      env: { ...process.env, CHAT_SERVERS: o.servers.join(','), ...o.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`chat-ops ${args.join(' ')} did not finish in ${timeoutMs / 1000} s\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(o.input ?? '');
  });
}
