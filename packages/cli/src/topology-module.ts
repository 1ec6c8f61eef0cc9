// Loads the topology a user module exports: a Topology, a StreamsBuilder, or a function returning either.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Topology } from '@eddy/streams';
import { CliError } from './errors.js';

function invalidModule(message: string, cause?: unknown): CliError {
  return new CliError('INVALID_MODULE', message, cause === undefined ? {} : { cause });
}

// Duck-typed: the module may load its own copy of @eddy/streams (sources or build), so `instanceof` cannot decide.
function isTopology(value: unknown): value is Topology {
  const v = value as { describe?: unknown; seal?: unknown } | null;
  return typeof v?.describe === 'function' && typeof v.seal === 'function';
}

function isBuilder(value: unknown): value is { build(): unknown } {
  return typeof (value as { build?: unknown } | null)?.build === 'function';
}

async function topologyOf(value: unknown): Promise<Topology | undefined> {
  const v = typeof value === 'function' && !isBuilder(value) ? await (value as () => unknown)() : value;
  if (isTopology(v)) return v;
  if (isBuilder(v)) {
    const built = v.build();
    if (isTopology(built)) return built;
  }
  return undefined;
}

/**
 * The topology `file` exports as `exportName`; without one, its default export, else `topology`, else its only
 * export that is (or makes) a topology. A TypeScript module needs a TypeScript-aware runtime (tsx).
 */
export async function loadTopology(file: string, exportName?: string): Promise<Topology> {
  const path = resolve(file);
  if (!existsSync(path)) throw invalidModule(`no such module: ${path}`);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  } catch (err) {
    throw invalidModule(`cannot load ${path}: ${err instanceof Error ? err.message : String(err)}`, err);
  }
  const names = exportName !== undefined ? [exportName] : ['default', 'topology'];
  for (const name of names) {
    if (!(name in mod)) continue;
    const topology = await topologyOf(mod[name]).catch((err: unknown) => {
      throw invalidModule(
        `export "${name}" of ${path} failed: ${err instanceof Error ? err.message : String(err)}`,
        err,
      );
    });
    if (topology) return topology;
    throw invalidModule(
      `export "${name}" of ${path} is not a Topology, a StreamsBuilder or a function making one`,
    );
  }
  if (exportName !== undefined) throw invalidModule(`${path} has no export "${exportName}"`);
  const found: Topology[] = [];
  for (const value of Object.values(mod)) {
    // Only values, not factories: calling every exported function could have effects.
    if (isTopology(value)) found.push(value);
    else if (isBuilder(value)) {
      const built = value.build();
      if (isTopology(built)) found.push(built);
    }
  }
  if (found.length === 1) return found[0]!;
  throw invalidModule(
    found.length === 0
      ? `${path} exports no topology: export a Topology or StreamsBuilder (default or "topology"), or pass --export`
      : `${path} exports ${found.length} topologies: choose one with --export`,
  );
}
