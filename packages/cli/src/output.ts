// How a command prints its result: aligned text tables for people, one JSON document with --json.

export type Cell = string | number | bigint | boolean | null | undefined;

/** Rows as an aligned text table under `columns` (the keys of the rows to show, in order). */
export function table<T extends { [K in C]: Cell }, C extends string>(rows: T[], columns: C[]): string {
  const text = (c: Cell) => (c === undefined || c === null ? '-' : String(c));
  const cells = [columns.map((c) => c.toUpperCase()), ...rows.map((r) => columns.map((c) => text(r[c])))];
  const widths = columns.map((_, i) => Math.max(...cells.map((line) => line[i]!.length)));
  return cells
    .map((line) => line.map((cell, i) => (i === line.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  '))
    .join('\n');
}

/** JSON with bigints as strings (offsets can pass 2^53). */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_, v) => (typeof v === 'bigint' ? v.toString() : v), 2);
}

/** Where a command writes: its result on stdout, as JSON or as text. */
export class Output {
  constructor(
    readonly json: boolean,
    private readonly write: (text: string) => void = (t) => process.stdout.write(t),
  ) {}

  /** Prints `value` as JSON, or the text `render` makes of it. */
  result<T>(value: T, render: (value: T) => string): void {
    this.write(`${this.json ? toJson(value) : render(value)}\n`);
  }

  /** A progress line for people; nothing with --json. */
  note(text: string): void {
    if (!this.json) process.stderr.write(`${text}\n`);
  }
}
