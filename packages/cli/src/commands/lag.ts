// `eddy lag`: an application's consumer lag per partition and in total, and its instances' restore status.
import type { Command } from 'commander';
import { type ConnectionFlags, connectionOptions, withAdmin } from '../connection.js';
import { dataProbe, type GroupLag, groupLag } from '../lag.js';
import { Output, table } from '../output.js';
import { positiveInteger, urlList } from '../parse.js';
import { type InstanceReadiness, readinessOf } from '../readiness.js';
import { appOptions } from './app-options.js';

interface LagFlags extends ConnectionFlags {
  applicationId: string;
  inputTopics?: string[];
  instances?: string[];
  readyzTimeout: number;
  json?: boolean;
}

type LagReport = { applicationId: string } & GroupLag & { instances?: InstanceReadiness[] };

function render(r: LagReport): string {
  const lines = [
    table(r.partitions, ['topic', 'partition', 'committed', 'end', 'lag']),
    '',
    `Total lag: ${r.total}`,
  ];
  if (r.instances !== undefined) {
    const rows = r.instances.map((i) => ({
      instance: i.instance,
      ready: i.ready ? 'yes' : 'no',
      state: i.state,
      restoring: i.restoringTasks,
      lag: i.consumerLag,
      why: i.error ?? i.reasons?.join('; '),
    }));
    lines.push('', table(rows, ['instance', 'ready', 'state', 'restoring', 'lag', 'why']));
  }
  return lines.join('\n');
}

export function registerLag(program: Command): void {
  connectionOptions(
    appOptions(
      program
        .command('lag')
        .description(
          "an application's consumer lag per partition and in total, and its instances' restore status",
        ),
      'also show these topics where nothing is committed yet',
    )
      .option(
        '--instances <urls>',
        'operations servers of the instances (http://host:port,...) to ask /readyz',
        urlList('--instances'),
      )
      .option(
        '--readyz-timeout <ms>',
        'how long to wait for each /readyz',
        positiveInteger('--readyz-timeout'),
        2_000,
      )
      .option('--json', 'print JSON'),
  ).action(async (flags: LagFlags) => {
    const lag = await withAdmin(flags, (admin) =>
      groupLag(admin, flags.applicationId, flags.inputTopics ?? [], dataProbe(flags, flags.applicationId)),
    );
    const report: LagReport = { applicationId: flags.applicationId, ...lag };
    if (flags.instances !== undefined)
      report.instances = await readinessOf(flags.instances, flags.readyzTimeout);
    new Output(flags.json === true).result(report, render);
  });
}
