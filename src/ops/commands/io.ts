/** Where a one-shot command writes: standard output and error, and how wide a table may be. */
export interface CommandIo {
  out(text: string): void;
  err(text: string): void;
  /** Width for tables: the terminal's, or wide when output goes to a pipe or file. */
  columns: number;
}

export function processIo(): CommandIo {
  return {
    out: (text) => void process.stdout.write(text),
    err: (text) => void process.stderr.write(text),
    columns: process.stdout.isTTY ? process.stdout.columns || 80 : 200,
  };
}
