// Strict offline validation against the Kubernetes and KEDA JSON schemas, with kubeconform and the schemas that
// tools/fetch.sh caches under .data/k8s.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DATA_DIR, kustomizeCommand } from './manifests.js';

const KUBECONFORM = join(DATA_DIR, 'bin', 'kubeconform');
const SCHEMAS = join(DATA_DIR, 'schemas');
const KEDA_SCHEMA = join(SCHEMAS, 'crds', 'keda.sh', 'scaledobject_v1alpha1.json');
const VERSION_DIR = /^v(\d+\.\d+\.\d+)-standalone-strict$/;

export interface SchemaResult {
  /** `kind/name`. */
  resource: string;
  valid: boolean;
  message: string;
}

/** Why the schema check cannot run here, or undefined when kubeconform and the schemas are in place. */
export function schemaCheckMissing(): string | undefined {
  const missing = [
    existsSync(KUBECONFORM) ? undefined : 'kubeconform',
    kubernetesVersions().length > 0 ? undefined : 'the Kubernetes schemas',
    existsSync(KEDA_SCHEMA) ? undefined : 'the KEDA ScaledObject schema',
    kustomizeCommand() !== undefined ? undefined : 'kustomize (nor kubectl)',
  ].filter((m) => m !== undefined);
  return missing.length === 0
    ? undefined
    : `${missing.join(', ')} missing under .data/k8s: run examples/k8s/tools/fetch.sh`;
}

/** The Kubernetes versions whose schemas are cached (tools/fetch.sh fetches the oldest and newest supported). */
export function kubernetesVersions(): string[] {
  if (!existsSync(SCHEMAS)) return [];
  return readdirSync(SCHEMAS).flatMap((dir) => VERSION_DIR.exec(dir)?.[1] ?? []);
}

interface KubeconformOutput {
  resources?: { kind: string; name: string; status: string; msg: string }[];
}

/**
 * Validates a YAML stream strictly (unknown fields and wrong types fail) against one Kubernetes version; a kind
 * with no schema fails too. One result per resource.
 */
export function validateSchemas(yaml: string, kubernetesVersion: string): SchemaResult[] {
  const run = spawnSync(
    KUBECONFORM,
    [
      '-strict',
      '-output',
      'json',
      '-verbose',
      '-kubernetes-version',
      kubernetesVersion,
      '-schema-location',
      join(
        SCHEMAS,
        '{{.NormalizedKubernetesVersion}}-standalone{{.StrictSuffix}}/{{.ResourceKind}}{{.KindSuffix}}.json',
      ),
      '-schema-location',
      join(SCHEMAS, 'crds/{{.Group}}/{{.ResourceKind}}_{{.ResourceAPIVersion}}.json'),
      '-',
    ],
    { input: yaml, encoding: 'utf8' },
  );
  if (run.error) throw run.error;
  let output: KubeconformOutput;
  try {
    output = JSON.parse(run.stdout) as KubeconformOutput;
  } catch {
    throw new Error(`kubeconform exited ${run.status} without a JSON report: ${run.stderr || run.stdout}`);
  }
  return (output.resources ?? []).map((r) => ({
    resource: `${r.kind}/${r.name}`,
    valid: r.status === 'statusValid',
    message: r.msg,
  }));
}
