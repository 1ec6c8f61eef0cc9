// Starts the worker thread of one stream thread, from the built package or, in this repository, from its sources.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { ThreadWorkerData } from './thread-messages.js';

/**
 * The worker runs `thread-worker` next to this module. Built, that is plain JavaScript. Run from the TypeScript
 * sources (tests, `tsx`), a worker thread does not inherit the loader of the thread that starts it, so it registers
 * tsx itself and resolves the workspace packages to their sources, as the tests do.
 */
export function spawnThread(data: ThreadWorkerData): Worker {
  const here = import.meta.url;
  if (!here.endsWith('.ts')) {
    return new Worker(new URL('./thread-worker.js', here), { workerData: data });
  }
  // tsx's hooks for import and for require, as `node --import tsx` installs them. The worker gets only the export
  // condition, not the options of the thread that starts it: under vitest on Node 22 and 24 those options made tsx
  // hand kafkajs's require()d package.json over as JavaScript ("is not valid JSON").
  const tsxDist = join(dirname(createRequire(here).resolve('tsx/package.json')), 'dist');
  const api = (kind: 'esm' | 'cjs') =>
    JSON.stringify(pathToFileURL(join(tsxDist, kind, 'api', 'index.mjs')).href);
  const worker = new URL('./thread-worker.ts', here).href;
  const bootstrap = [
    `(await import(${api('cjs')})).register();`,
    `(await import(${api('esm')})).register();`,
    `await import(${JSON.stringify(worker)});`,
  ].join('\n');
  return new Worker(bootstrap, {
    eval: true,
    workerData: data,
    execArgv: ['--conditions=eddy-source'],
  });
}
