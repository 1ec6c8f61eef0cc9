// `eddy offsets export | import | copy`: a group's committed offsets to a file, from one, or to another group.
import type { Command } from 'commander';
import { type ConnectionFlags, connectionOptions, withAdmin } from '../connection.js';
import { CliError, invalidArgument } from '../errors.js';
import {
  committedOffsets,
  type PartitionOffset,
  requireEmptyGroup,
  requirePartitions,
  setOffsets,
} from '../group.js';
import { formatOffsets, type OffsetsFile, readOffsetsFile, writeOffsetsFile } from '../offsets-file.js';
import { Output, table } from '../output.js';
import { applicationId } from '../parse.js';

interface Flags extends ConnectionFlags {
  json?: boolean;
}

interface Moved {
  group: string;
  from: string;
  offsets: PartitionOffset[];
}

/** The group's committed offsets; GROUP_NOT_FOUND when it has none. */
async function requireOffsets(flags: ConnectionFlags, group: string): Promise<PartitionOffset[]> {
  const offsets = await withAdmin(flags, (admin) => committedOffsets(admin, group));
  if (offsets.length === 0)
    throw new CliError('GROUP_NOT_FOUND', `group "${group}" has no committed offsets`);
  return offsets;
}

/** Commits `offsets` for `group` after checking it has no members and every partition exists. */
async function commitOffsets(
  flags: ConnectionFlags,
  group: string,
  offsets: PartitionOffset[],
): Promise<void> {
  await withAdmin(flags, async (admin) => {
    await requireEmptyGroup(admin, group, 'setting its offsets');
    await requirePartitions(admin, offsets);
    await setOffsets(admin, group, offsets);
  });
}

function renderMoved(m: Moved): string {
  return [
    `Set offsets of group "${m.group}" from ${m.from}:`,
    table(m.offsets, ['topic', 'partition', 'offset']),
  ].join('\n');
}

const groupOption = (option: string) => applicationId(option);

export function registerOffsets(program: Command): void {
  const offsets = program
    .command('offsets')
    .description(
      "a group's committed offsets: export to JSON, import from it, or copy to another group (blue/green)",
    );

  connectionOptions(
    offsets
      .command('export')
      .description("write a group's committed offsets as JSON, to --file or standard output")
      .requiredOption('--group <id>', 'the consumer group (an application id)', groupOption('--group'))
      .option('--file <path>', 'write here instead of standard output')
      .option('--json', 'print the summary as JSON (with --file)'),
  ).action(async (flags: Flags & { group: string; file?: string }) => {
    const file: OffsetsFile = {
      version: 1,
      group: flags.group,
      offsets: await requireOffsets(flags, flags.group),
    };
    if (flags.file === undefined) {
      process.stdout.write(formatOffsets(file));
      return;
    }
    writeOffsetsFile(flags.file, file);
    new Output(flags.json === true).result(
      { group: flags.group, file: flags.file, partitions: file.offsets.length },
      (r) => `Wrote ${r.partitions} offset(s) of group "${r.group}" to ${r.file}`,
    );
  });

  connectionOptions(
    offsets
      .command('import')
      .description("set a group's offsets from an exported file; refused while the group has members")
      .requiredOption('--file <path>', "the offsets file ('-' for standard input)")
      .option('--group <id>', "the group to set (default: the file's group)", groupOption('--group'))
      .option('--json', 'print JSON'),
  ).action(async (flags: Flags & { group?: string; file: string }) => {
    const file = readOffsetsFile(flags.file);
    if (file.offsets.length === 0) throw invalidArgument(`${flags.file} holds no offsets`);
    const group = flags.group ?? applicationId('the file\'s "group"')(file.group);
    await commitOffsets(flags, group, file.offsets);
    new Output(flags.json === true).result({ group, from: flags.file, offsets: file.offsets }, renderMoved);
  });

  connectionOptions(
    offsets
      .command('copy')
      .description(
        "copy one group's committed offsets to another (blue/green cut-over); refused while the target has members",
      )
      .requiredOption('--from-group <id>', 'the group to read', groupOption('--from-group'))
      .requiredOption('--to-group <id>', 'the group to set', groupOption('--to-group'))
      .option('--json', 'print JSON'),
  ).action(async (flags: Flags & { fromGroup: string; toGroup: string }) => {
    if (flags.fromGroup === flags.toGroup)
      throw invalidArgument('--from-group and --to-group are the same group');
    const moved = await requireOffsets(flags, flags.fromGroup);
    await commitOffsets(flags, flags.toGroup, moved);
    new Output(flags.json === true).result(
      { group: flags.toGroup, from: `group "${flags.fromGroup}"`, offsets: moved },
      renderMoved,
    );
  });
}
