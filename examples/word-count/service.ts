// The word-count service: the shared example service runner (../service) over the word-count topology; see
// ../service/env.ts for the environment (HTTP_PORT serves /stores/counts/... among the rest).
import type { StreamsApp, StreamsAppOptions } from '@eddy/streams';
import { runService } from '../service/run-service.js';
import { wordCountTopology } from './topology.js';

export function runWordCountService(
  input: string,
  output: string,
  env: NodeJS.ProcessEnv,
  options: StreamsAppOptions = {},
): Promise<StreamsApp> {
  return runService('word-count', wordCountTopology(input, output), env, options);
}
