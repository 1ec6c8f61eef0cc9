// Writes benchmark figures to benchmarks/results/<suite>.json as [{ name, value, unit }], keeping other entries.
import { mkdir, readFile, writeFile } from 'node:fs/promises';

export interface Figure {
  name: string;
  value: number;
  unit: string;
}

export async function writeResults(suite: string, figures: Figure[]): Promise<void> {
  const file = new URL(`../results/${suite}.json`, import.meta.url);
  let existing: Figure[] = [];
  try {
    existing = JSON.parse(await readFile(file, 'utf8')) as Figure[];
  } catch {
    existing = [];
  }
  const names = new Set(figures.map((f) => f.name));
  const merged = [...existing.filter((f) => !names.has(f.name)), ...figures];
  await mkdir(new URL('.', file), { recursive: true });
  await writeFile(file, `${JSON.stringify(merged, null, 2)}\n`);
  for (const f of figures) process.stdout.write(`${f.name}: ${f.value} ${f.unit}\n`);
}

/** Mean time per iteration in nanoseconds of a mitata trial. */
export function avgNs(
  benchmarks: { alias: string; runs: { stats?: { avg: number } }[] }[],
  alias: string,
): number {
  const trial = benchmarks.find((b) => b.alias === alias);
  const avg = trial?.runs[0]?.stats?.avg;
  if (avg === undefined) throw new Error(`benchmark ${alias} did not run`);
  return avg;
}

/** The median of timed rounds. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** CPU time of this process (ms): unlike wall-clock time, not stretched while other processes hold the two cores. */
export function cpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}
