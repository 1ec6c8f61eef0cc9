#!/usr/bin/env node
// Prints what the schema gate would decide for a topology at start, for a deployment pipeline. Exit codes: 0 the
// start would go ahead, 1 it would be refused, 2 usage or a module that cannot be used, 3 the registry did not answer.
//
//   eddy-schema-gate <module> <applicationId>
//
// <module> exports a function `topology` (or a default export) returning the app's Topology (built with its Avro
// serdes and their registry). The registry is asked, nothing is registered.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { formatGateDecisions, schemaGateDryRun } from '@eddy/avro';

const EXIT = { start: 0, refuse: 1, usage: 2, registryUnavailable: 3 };

/** Ends with one line on stderr, without a stack trace. */
function fail(code, line) {
  process.stderr.write(`eddy-schema-gate: ${line}\n`);
  process.exit(code);
}

/** The error and those it wraps, outermost first. */
function chain(err) {
  const out = [];
  for (let e = err; e !== null && typeof e === 'object' && out.length < 6; e = e.cause) out.push(e);
  return out;
}

const [modulePath, applicationId] = process.argv.slice(2);
if (modulePath === undefined || applicationId === undefined) {
  fail(EXIT.usage, 'usage: eddy-schema-gate <module> <applicationId>');
}
let make;
try {
  const mod = await import(pathToFileURL(resolve(modulePath)).href);
  make = mod.topology ?? mod.default;
} catch (err) {
  fail(EXIT.usage, `cannot load ${modulePath}: ${err instanceof Error ? err.message : String(err)}`);
}
if (typeof make !== 'function') {
  fail(EXIT.usage, `${modulePath} exports no function "topology" (or default) returning a Topology`);
}
let result;
try {
  result = await schemaGateDryRun(await make(), applicationId);
} catch (err) {
  const unavailable = chain(err).find((e) => e.code === 'REGISTRY_UNAVAILABLE');
  if (unavailable !== undefined) {
    fail(
      EXIT.registryUnavailable,
      `the schema registry is unavailable, nothing was decided: ${unavailable.message}`,
    );
  }
  const code = chain(err).find((e) => typeof e.code === 'string')?.code;
  const message = err instanceof Error ? err.message : String(err);
  fail(EXIT.usage, `the dry run failed${code === undefined ? '' : ` (${code})`}: ${message}`);
}
const { ok, decisions } = result;
process.stdout.write(`${formatGateDecisions(decisions)}\n`);
process.stdout.write(
  ok ? 'the schema gate would let this start\n' : 'the schema gate would refuse this start\n',
);
process.exit(ok ? EXIT.start : EXIT.refuse);
