// The eddy command line: its commands, and how a failure becomes one line and an exit code.
import { Command, CommanderError } from 'commander';
import { registerDescribe } from './commands/describe.js';
import { registerDrain } from './commands/drain.js';
import { registerLag } from './commands/lag.js';
import { registerOffsets } from './commands/offsets.js';
import { registerReset } from './commands/reset.js';
import { asCliError, CliError, exitCodeOf } from './errors.js';

function program(): Command {
  const cli = new Command('eddy')
    .description('Operate Eddy stream processing applications on Kafka')
    .exitOverride()
    // Errors are printed by run(), once, in the format --json asks for.
    .configureOutput({ outputError: () => undefined })
    .showHelpAfterError(false);
  registerDescribe(cli);
  registerLag(cli);
  registerReset(cli);
  registerOffsets(cli);
  registerDrain(cli);
  return cli;
}

/** A failure as the CLI reports it: a CliError, or 0 for commander's help and version exits. */
function failureOf(err: unknown): CliError | number {
  if (err instanceof CommanderError) {
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return err.exitCode;
    if (err.code === 'commander.help') return err.exitCode;
    return new CliError('INVALID_ARGUMENT', err.message.replace(/^error: /, ''), { cause: err });
  }
  return asCliError(err);
}

/**
 * Runs the command line `args` (without node and the script) and resolves with the process exit code. A failure is
 * printed on stderr as one line: `eddy: CODE: message`, or `{"error":{"code","message"}}` with --json.
 */
export async function run(args: string[]): Promise<number> {
  try {
    await program().parseAsync(args, { from: 'user' });
    return 0;
  } catch (err) {
    const failure = failureOf(err);
    if (typeof failure === 'number') return failure;
    const line = args.includes('--json')
      ? JSON.stringify({ error: { code: failure.code, message: failure.message } })
      : `eddy: ${failure.code}: ${failure.message}`;
    process.stderr.write(`${line.replace(/\n/g, ' ')}\n`);
    return exitCodeOf(failure.code);
  }
}
