// The module a threaded app is defined in: loading it, and calling its definition for one thread.
import { pathToFileURL } from 'node:url';
import type { StreamsConfig } from '../../config.js';
import { errorMessage, StreamsError } from '../../errors.js';
import type { Topology } from '../../topology/topology.js';
import type { StreamsAppOptions } from '../streams-app.js';

/** What a definition is called with. */
export interface AppDefinitionContext {
  /** The stream thread it is called for, from 1; 0 on the main thread, which only reads the configuration. */
  readonly thread: number;
  /** The `args` given to `ThreadedStreamsApp.load`. */
  readonly args: readonly string[];
}

/** What a definition returns: the app each stream thread runs. */
export interface AppDefinitionResult {
  topology: Topology;
  config: StreamsConfig;
  options?: StreamsAppOptions;
}

/**
 * A threaded app's definition: the export of its module (`default` unless named), called once on the main thread
 * and once on each stream thread, so that every thread builds its own topology, serdes and listeners.
 */
export type AppDefinition = (
  context: AppDefinitionContext,
) => AppDefinitionResult | Promise<AppDefinitionResult>;

/** Types a definition; returns it unchanged. */
export function defineStreamsApp(definition: AppDefinition): AppDefinition {
  return definition;
}

function invalidModule(message: string, cause?: unknown): StreamsError {
  return new StreamsError('INVALID_APP_MODULE', message, cause === undefined ? {} : { cause });
}

/** The module's URL: a `file:` URL as given, or a path made absolute. */
export function moduleHref(module: string | URL): string {
  if (module instanceof URL) return module.href;
  return /^[a-z][a-z0-9+.-]*:/i.test(module) && !/^[a-z]:[\\/]/i.test(module)
    ? module
    : pathToFileURL(module).href;
}

/** Imports the module at `href` and returns its export `exportName` as a definition. */
export async function loadAppDefinition(href: string, exportName: string): Promise<AppDefinition> {
  let mod: Record<string, unknown>;
  try {
    mod = (await import(href)) as Record<string, unknown>;
  } catch (err) {
    throw invalidModule(`cannot load the app module ${href}: ${errorMessage(err)}`, err);
  }
  const definition = mod[exportName];
  if (typeof definition !== 'function') {
    throw invalidModule(
      `the app module ${href} has no export "${exportName}" that is a function (it is ${typeof definition}); export one made with defineStreamsApp`,
    );
  }
  return definition as AppDefinition;
}

/** Calls the definition and checks what it returns. */
export async function defineFor(
  definition: AppDefinition,
  context: AppDefinitionContext,
  href: string,
): Promise<AppDefinitionResult> {
  let result: unknown;
  try {
    result = await definition(context);
  } catch (err) {
    throw invalidModule(`the app definition of ${href} threw: ${errorMessage(err)}`, err);
  }
  const r = result as Partial<AppDefinitionResult> | null;
  const topology = r?.topology as { seal?: unknown } | undefined;
  if (typeof topology?.seal !== 'function' || typeof r?.config !== 'object' || r.config === null) {
    throw invalidModule(`the app definition of ${href} must return { topology, config }`);
  }
  return r as AppDefinitionResult;
}
