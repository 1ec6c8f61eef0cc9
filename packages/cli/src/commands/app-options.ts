// The options naming an application and its input, shared by lag, drain and reset.
import type { Command } from 'commander';
import { applicationId, nameList } from '../parse.js';

/** Adds the required --application-id and an optional --input-topics, described by `inputTopics`. */
export function appOptions(command: Command, inputTopics: string): Command {
  return command
    .requiredOption(
      '--application-id <id>',
      'the application (its consumer group)',
      applicationId('--application-id'),
    )
    .option('--input-topics <topics>', inputTopics, nameList('--input-topics'));
}
