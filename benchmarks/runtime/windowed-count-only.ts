// Runs only the runtime.windowed-count figure (for profiling it: node --cpu-prof); writes no results file.
import { windowedCountFigures } from './windowed-count.js';

const silent = { debug() {}, info() {}, warn() {}, error() {} };
await windowedCountFigures(100, (stateDir) => ({
  applicationId: 'bench',
  stateDir,
  deserializationErrors: 'fail' as const,
  processingErrors: 'fail' as const,
  logger: silent,
}));
