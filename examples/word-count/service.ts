// The word-count service: the shared example service runner (../service) over the word-count topology; see
// ../service/env.ts for the environment (HTTP_PORT serves /stores/counts/... among the rest). With
// NUM_STREAM_THREADS above 1 it runs as a threaded app (definition.ts).
import type { StreamsApp, StreamsAppOptions, ThreadedStreamsApp } from '@eddy/streams';
import { runService, runThreadedService } from '../service/run-service.js';
import { wordCountTopology } from './topology.js';

export function runWordCountService(
  input: string,
  output: string,
  env: NodeJS.ProcessEnv,
  options: StreamsAppOptions = {},
): Promise<StreamsApp | ThreadedStreamsApp> {
  if (Number(env.NUM_STREAM_THREADS ?? 1) > 1) {
    return runThreadedService('word-count', definitionModule(), [input, output], env);
  }
  return runService('word-count', wordCountTopology(input, output), env, options);
}

/** definition.ts beside this module, as built (.js) or run from its sources (.ts). */
function definitionModule(): URL {
  return new URL(import.meta.url.endsWith('.ts') ? './definition.ts' : './definition.js', import.meta.url);
}
