// A service's project outside the workspace: builds the packages and the word-count example, packs the packages
// with pnpm, installs the tarballs with npm into a temporary folder and copies the example's build next to them.
// @eddy/avro comes along, for its serdes and the eddy-schema-gate command.
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from '../support/processes.js';

const run = promisify(execFile);
/** The packages a service running the word-count example needs, each with its dependencies on the others, and Avro. */
const PACKAGES = ['assignor', 'state', 'streams', 'avro'];

/** Returns the project's folder; the caller removes it. */
export async function installedProject(): Promise<string> {
  await run('pnpm', ['--filter', '@eddy/example-word-count...', '--filter', '@eddy/avro...', 'build'], {
    cwd: repoRoot,
  });
  const project = mkdtempSync(join(tmpdir(), 'eddy-installed-'));
  const tarballs = join(project, 'tarballs');
  for (const name of PACKAGES) {
    await run('pnpm', ['pack', '--pack-destination', tarballs], { cwd: join(repoRoot, 'packages', name) });
  }
  const dependencies: Record<string, string> = {};
  for (const file of readdirSync(tarballs)) {
    const name = file.match(/^eddy-(.+)-\d+\.\d+\.\d+\.tgz$/)?.[1];
    if (name) dependencies[`@eddy/${name}`] = `file:tarballs/${file}`;
  }
  writeFileSync(
    join(project, 'package.json'),
    JSON.stringify({ name: 'installed-word-count', private: true, type: 'module', dependencies }, null, 2),
  );
  await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], {
    cwd: project,
  });
  cpSync(join(repoRoot, 'examples', 'word-count', 'dist'), project, {
    recursive: true,
    filter: (source) => !source.endsWith('.map'),
  });
  return project;
}
