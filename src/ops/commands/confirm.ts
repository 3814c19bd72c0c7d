/**
 * Asking the operator before a command changes the cluster: one line read from
 * standard input (the question goes to standard error, so the answer never
 * mixes with output a script reads).
 */
import { createInterface } from 'node:readline';

/** Reads one answer; undefined when input ended before a line came. */
export type Ask = (question: string) => Promise<string | undefined>;

export function askLine(question: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const rl = createInterface({
      input: process.stdin,
      output: process.stderr,
      terminal: process.stdin.isTTY === true,
    });
    let answered = false;
    rl.question(question, (answer) => {
      answered = true;
      rl.close();
      resolve(answer);
    });
    rl.on('close', () => {
      if (!answered) resolve(undefined);
    });
  });
}

/** Whether a person can answer a prompt here: standard input is a terminal. */
export function canAsk(): boolean {
  return process.stdin.isTTY === true;
}

/** A y/N answer: only y or yes (any case) agrees. */
export function agreed(answer: string | undefined): boolean {
  return answer !== undefined && /^(y|yes)$/i.test(answer.trim());
}
