// `pnpm --filter @eddy/example-k8s check`: validates every variant of the manifests against the schemas and the app's
// contract, prints each problem, and exits 1 if there is any.
import { checkContract, readAppFacts } from './app-contract.js';
import { parseManifests, render, VARIANTS } from './manifests.js';
import { kubernetesVersions, schemaCheckMissing, validateSchemas } from './schema-check.js';

const facts = readAppFacts();
const missing = schemaCheckMissing();
if (missing !== undefined) process.stderr.write(`[k8s] schema check skipped: ${missing}\n`);
let failures = 0;
for (const variant of VARIANTS) {
  const yaml = render(variant);
  const problems = checkContract(parseManifests(yaml), facts).map(
    (p) => `${p.resource}: ${p.code}: ${p.message}`,
  );
  if (missing === undefined) {
    for (const version of kubernetesVersions()) {
      for (const r of validateSchemas(yaml, version)) {
        if (!r.valid) problems.push(`${r.resource}: schema of Kubernetes ${version}: ${r.message}`);
      }
    }
  }
  failures += problems.length;
  process.stdout.write(`${variant}: ${problems.length === 0 ? 'ok' : `${problems.length} problem(s)`}\n`);
  for (const p of problems) process.stdout.write(`  ${p}\n`);
}
process.exitCode = failures === 0 ? 0 : 1;
