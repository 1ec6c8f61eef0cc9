#!/usr/bin/env node
// Prints what the schema gate would decide for a topology at start, for a deployment pipeline; exits 1 when the
// start would be refused.
//
//   eddy-schema-gate <module> <applicationId>
//
// <module> exports a function `topology` (or a default export) returning the app's Topology (built with its Avro
// serdes and their registry). The registry is asked, nothing is registered.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { formatGateDecisions, schemaGateDryRun } from '@eddy/avro';

const [modulePath, applicationId] = process.argv.slice(2);
if (modulePath === undefined || applicationId === undefined) {
  process.stderr.write('usage: eddy-schema-gate <module> <applicationId>\n');
  process.exit(2);
}
const mod = await import(pathToFileURL(resolve(modulePath)).href);
const make = mod.topology ?? mod.default;
if (typeof make !== 'function') {
  process.stderr.write(`${modulePath} exports no function "topology" (or default) returning a Topology\n`);
  process.exit(2);
}
const { ok, decisions } = await schemaGateDryRun(await make(), applicationId);
process.stdout.write(`${formatGateDecisions(decisions)}\n`);
process.stdout.write(
  ok ? 'the schema gate would let this start\n' : 'the schema gate would refuse this start\n',
);
process.exit(ok ? 0 : 1);
