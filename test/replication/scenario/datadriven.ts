/**
 * Scripts in the style of etcd-io/raft's datadriven `testdata/*.txt`: each step
 * is a command line, a `----` line and the output it must print, ended by a
 * blank line; `#` lines in between are the story told to the reader.
 *
 *     # The leader crashes.
 *     crash A
 *     ----
 *     ok
 *
 * With SCENARIO_REWRITE=1 the expected outputs are rewritten from what the
 * commands print (then read the diff: it is the behaviour being pinned).
 */
import { readFileSync, writeFileSync } from 'node:fs';

export interface Step {
  /** Comment and blank lines before the command, kept as they are. */
  preamble: string[];
  command: string;
  expected: string;
  /** 1-based line of the command, for error messages. */
  line: number;
}

export function parseScript(text: string, file: string): Step[] {
  const lines = text.split('\n');
  const steps: Step[] = [];
  let preamble: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '' || line.startsWith('#')) {
      preamble.push(line);
      continue;
    }
    if (lines[i + 1] !== '----') throw new Error(`${file}:${i + 1}: "${line}" must be followed by a line "----"`);
    const output: string[] = [];
    let j = i + 2;
    for (; j < lines.length && lines[j]!.trim() !== ''; j++) output.push(lines[j]!);
    while (preamble[0]?.trim() === '') preamble.shift(); // steps are separated by one blank line
    steps.push({ preamble, command: line, expected: output.join('\n'), line: i + 1 });
    preamble = [];
    i = j; // the blank line that ends the output belongs to the step
  }
  return steps;
}

/** The script again, with each step's output as given. */
export function formatScript(steps: readonly Step[], outputs: readonly string[]): string {
  const parts: string[] = [];
  steps.forEach((step, i) => {
    parts.push(...step.preamble, step.command, '----', outputs[i]!, '');
  });
  return `${parts.join('\n').replace(/\n+$/, '')}\n`;
}

export const REWRITE = process.env.SCENARIO_REWRITE === '1';

/** Runs every step of `file` through `run`; returns the mismatches (after rewriting the file, with SCENARIO_REWRITE=1). */
export function runScript(file: string, run: (command: string) => string): { step: Step; actual: string }[] {
  const steps = parseScript(readFileSync(file, 'utf8'), file);
  const outputs: string[] = [];
  const mismatches: { step: Step; actual: string }[] = [];
  for (const step of steps) {
    let actual: string;
    try {
      actual = run(step.command);
    } catch (err) {
      actual = `error: ${(err as Error).message}`;
    }
    actual = actual.trim() === '' ? 'ok' : actual.replace(/\n\s*\n/g, '\n').trimEnd();
    outputs.push(actual);
    if (actual !== step.expected) mismatches.push({ step, actual });
  }
  if (REWRITE) writeFileSync(file, formatScript(steps, outputs));
  return REWRITE ? [] : mismatches;
}
