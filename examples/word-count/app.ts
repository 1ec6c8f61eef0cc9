// Runs word-count as a service: `tsx app.ts <input-topic> <output-topic>` (see service.ts for the environment).
import { runWordCountService } from './service.js';

const [input = 'words', output = 'word-counts'] = process.argv.slice(2);
await runWordCountService(input, output, process.env);
