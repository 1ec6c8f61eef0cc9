#!/usr/bin/env node
// Copies the patched kafkajs that the workspace installed into packages/streams/dist/vendor/kafkajs, so that a
// packed @eddy/streams runs with the patched client (through its `#kafkajs` import) instead of kafkajs from npm.
// Usage: node scripts/vendor-kafkajs.mjs (run by the streams package's build after tsc);
//        node scripts/vendor-kafkajs.mjs --check <dir>: only checks that the kafkajs copy in <dir> is patched.
import { cpSync, existsSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const workspace = readFileSync(join(root, 'pnpm-workspace.yaml'), 'utf8');
const patchEntry = workspace.match(/^\s+kafkajs@([^:]+):\s*(\S+)\s*$/m);
if (!patchEntry) fail('pnpm-workspace.yaml has no patchedDependencies entry for kafkajs');
const [, patchedVersion, patchFile] = patchEntry;
const patch = readFileSync(join(root, patchFile), 'utf8');

if (process.argv[2] === '--check') {
  if (!process.argv[3]) fail('--check needs the folder of a kafkajs copy');
  const dir = resolve(process.argv[3]);
  assertPatched(dir);
  console.log(`[vendor-kafkajs] ${dir} carries ${patchFile}`);
  process.exit(0);
}

const streams = join(root, 'packages', 'streams');
const target = join(streams, 'dist', 'vendor', 'kafkajs');
const requireFromStreams = createRequire(join(streams, 'package.json'));
const source = realpathSync(dirname(requireFromStreams.resolve('kafkajs/package.json')));
const pkg = JSON.parse(readFileSync(join(source, 'package.json'), 'utf8'));
if (pkg.version !== patchedVersion)
  fail(`installed kafkajs is ${pkg.version}, the patch is for ${patchedVersion}`);
if (Object.keys(pkg.dependencies ?? {}).length > 0)
  fail('kafkajs gained runtime dependencies: vendor them too');

// The copy ships what kafkajs needs at run time and for types, and its licence (MIT: redistribution allowed,
// provided the copyright and permission notice travel with it).
rmSync(target, { recursive: true, force: true });
for (const entry of ['package.json', 'LICENSE', 'index.js', 'src', 'types']) {
  if (!existsSync(join(source, entry))) fail(`kafkajs has no ${entry}`);
  cpSync(join(source, entry), join(target, entry), { recursive: true, dereference: true });
}
assertPatched(target);
console.log(`[vendor-kafkajs] patched kafkajs ${pkg.version} copied to ${target}`);

// Every line the patch adds must be in the file it patches: a copy of an unpatched kafkajs must not ship.
function assertPatched(dir) {
  for (const section of patch.split(/^diff --git /m).slice(1)) {
    const file = section.match(/^\+\+\+ b\/(.+)$/m)?.[1];
    if (!file) continue;
    const copied = existsSync(join(dir, file)) ? readFileSync(join(dir, file), 'utf8') : '';
    const lines = new Set(copied.split('\n').map((l) => l.trim()));
    const missing = section
      .split('\n')
      .filter((l) => l.startsWith('+') && !l.startsWith('+++'))
      .map((l) => l.slice(1).trim())
      .filter((l) => l !== '' && !lines.has(l));
    if (missing.length > 0)
      fail(`${file} lacks the patch (${missing.length} added lines missing, e.g. ${missing[0]})`);
  }
}

function fail(message) {
  console.error(`[vendor-kafkajs] ${message}`);
  process.exit(1);
}
