// Makes the Kubernetes JSON schemas of the kubernetes-validate package standalone for kubeconform: each kind's file
// refers into a shared _definitions.json, which kubeconform does not follow, so the definitions a kind reaches are
// copied into its own file. Usage: node inline-schemas.mjs <schema folder> <output folder>
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [from, to] = process.argv.slice(2);
if (!from || !to) {
  process.stderr.write('usage: node inline-schemas.mjs <schema folder> <output folder>\n');
  process.exit(2);
}
const SHARED = '/api/_definitions.json#/$defs/';
const LOCAL = '#/$defs/';
const defs = JSON.parse(readFileSync(join(from, '_definitions.json'), 'utf8')).$defs;

/** Rewrites references to the shared file as local ones and collects the names of the definitions reached. */
function localise(node, reached) {
  if (Array.isArray(node)) return node.map((n) => localise(n, reached));
  if (node === null || typeof node !== 'object') return node;
  const out = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === '$ref' && typeof value === 'string') {
      const name = value.startsWith(SHARED) ? value.slice(SHARED.length) : value.slice(LOCAL.length);
      reached.add(name);
      out[key] = LOCAL + name;
    } else {
      out[key] = localise(value, reached);
    }
  }
  return out;
}

const tmp = `${to}.partial`;
mkdirSync(tmp, { recursive: true });
let written = 0;
for (const file of readdirSync(from)) {
  if (!file.endsWith('.json') || file === '_definitions.json') continue;
  const reached = new Set();
  const schema = localise(JSON.parse(readFileSync(join(from, file), 'utf8')), reached);
  const own = {};
  for (const name of reached) {
    if (own[name] !== undefined) continue;
    const def = defs[name];
    if (def === undefined) throw new Error(`${file}: no definition ${name} in _definitions.json`);
    own[name] = localise(def, reached);
  }
  writeFileSync(join(tmp, file), JSON.stringify({ ...schema, $defs: own }));
  written++;
}
renameSync(tmp, to);
process.stdout.write(`${written} standalone schemas in ${to}\n`);
