// The word-count service with a crash injected into its commit protocol: with CRASH_PHASE=<phase> and
// CRASH_AT_COMMIT=<n>, the process SIGKILLs itself at that phase of its n-th state-writing commit.
import type { CommitPhase } from '@eddy/streams';
import { runWordCountService } from '../../../examples/word-count/service.js';

const [input = 'words', output = 'word-counts'] = process.argv.slice(2);
const phase = process.env.CRASH_PHASE as CommitPhase | undefined;
const at = Number(process.env.CRASH_AT_COMMIT ?? 1);
let seen = 0;

await runWordCountService(input, output, process.env, {
  onCommitPhase: (p) => {
    if (p !== phase || ++seen < at) return;
    process.stdout.write(`${JSON.stringify({ event: 'crash', phase: p })}\n`);
    process.kill(process.pid, 'SIGKILL');
  },
});
