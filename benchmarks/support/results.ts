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

/**
 * Framework and hand-written rounds interleaved (each on fresh batches), the first `warmup` rounds left out (they warm
 * up the JIT, the LevelDB files and the caches); returns the median of each side per record, in ns. `measured` is
 * told the index of every round that counts, right after it ran.
 */
export async function interleavedRounds<B>(options: {
  rounds: number;
  warmup: number;
  recordsPerRound: number;
  fresh: () => B;
  framework: (batches: B) => Promise<number> | number;
  handwritten: (batches: B) => number;
  measured?: (round: number) => void;
}): Promise<{ frameworkNs: number; handwrittenNs: number }> {
  const frameworkMs: number[] = [];
  const handwrittenMs: number[] = [];
  for (let round = 0; round < options.rounds; round++) {
    const f = await options.framework(options.fresh());
    const h = options.handwritten(options.fresh());
    if (round < options.warmup) continue;
    frameworkMs.push(f);
    handwrittenMs.push(h);
    options.measured?.(round);
  }
  const perRecord = (ms: number[]) => (median(ms) * 1e6) / options.recordsPerRound;
  return { frameworkNs: perRecord(frameworkMs), handwrittenNs: perRecord(handwrittenMs) };
}
