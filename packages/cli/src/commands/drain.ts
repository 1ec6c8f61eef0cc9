// `eddy drain`: waits until an application's committed offsets reach the end of everything it reads.
import type { Command } from 'commander';
import { type ConnectionFlags, connectionOptions, withAdmin } from '../connection.js';
import { CliError } from '../errors.js';
import { dataProbe, type GroupLag, groupLag, settledProbe } from '../lag.js';
import { Output } from '../output.js';
import { positiveInteger } from '../parse.js';
import { appOptions } from './app-options.js';

interface DrainFlags extends ConnectionFlags {
  applicationId: string;
  inputTopics?: string[];
  timeout: number;
  interval: number;
  json?: boolean;
}

function behind(lag: GroupLag): string {
  const lagging = lag.partitions.filter((p) => p.lag > 0n);
  const shown = lagging.slice(0, 5).map((p) => `${p.topic}-${p.partition}: ${p.lag}`);
  const more = lagging.length > shown.length ? `, and ${lagging.length - shown.length} more` : '';
  return `lag ${lag.total} on ${lagging.length} partition(s) (${shown.join(', ')}${more})`;
}

export function registerDrain(program: Command): void {
  connectionOptions(
    appOptions(
      program
        .command('drain')
        .description(
          "wait until the application's committed offsets reach the end offsets of its input, then exit 0",
        ),
      'also wait for these topics (default: the topics the group has committed offsets for)',
    )
      .option(
        '--timeout <ms>',
        'give up (exit 3, TIMEOUT) after this long',
        positiveInteger('--timeout'),
        600_000,
      )
      .option('--interval <ms>', 'how often to check', positiveInteger('--interval'), 1_000)
      .option('--json', 'print JSON'),
  ).action(async (flags: DrainFlags) => {
    const out = new Output(flags.json === true);
    const started = Date.now();
    const deadline = started + flags.timeout;
    const lag = await withAdmin(flags, async (admin) => {
      let last = '';
      // A gap is read only once the group stopped moving in it: while it drains, checks cost no reads.
      const probe = settledProbe(dataProbe(flags, flags.applicationId));
      for (;;) {
        const now = await groupLag(admin, flags.applicationId, flags.inputTopics ?? [], probe);
        if (now.total === 0n) return now;
        const status = behind(now);
        if (status !== last) out.note(`waiting: ${status}`);
        last = status;
        const left = deadline - Date.now();
        if (left <= 0) {
          throw new CliError(
            'TIMEOUT',
            `group "${flags.applicationId}" did not drain within ${flags.timeout} ms: ${status}`,
          );
        }
        await new Promise((r) => setTimeout(r, Math.min(flags.interval, left)));
      }
    });
    const waitedMs = Date.now() - started;
    out.result(
      { applicationId: flags.applicationId, drained: true, waitedMs, partitions: lag.partitions.length },
      (r) =>
        `Drained: group "${r.applicationId}" is at the end of ${r.partitions} partition(s) after ${r.waitedMs} ms`,
    );
  });
}
