/** Runs a built program (`node dist/...`; `npm run build` first) to its end, as a script would, with a bound. */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface ProgramOptions {
  /** Written to its standard input, which is then closed (default nothing). */
  input?: string;
  /** Added to this process's environment. */
  env?: Record<string, string>;
  /** Killed and failed after this long (default 20 s). */
  timeoutMs?: number;
}

/** Fails at once when the build is missing, rather than with a puzzling exit status. */
export function requireBuilt(main: string): void {
  if (!existsSync(main)) throw new Error(`${main} is missing: run \`npm run build\` first`);
}

export function runProgram(main: string, args: readonly string[], o: ProgramOptions = {}): Promise<Run> {
  const timeoutMs = o.timeoutMs ?? 20_000;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [main, ...args], {
      env: { ...process.env, ...o.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${main} ${args.join(' ')} did not finish in ${timeoutMs / 1000} s\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(o.input ?? '');
  });
}
