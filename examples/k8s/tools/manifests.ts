// Renders the word-count manifests (the Kustomize base and each overlay) and parses them into plain objects.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments, stringify } from 'yaml';

/** examples/k8s. */
export const K8S_DIR = fileURLToPath(new URL('..', import.meta.url));
/** The repository's root. */
export const REPO_ROOT = join(K8S_DIR, '..', '..');
/** Where tools/fetch.sh puts kubeconform, kustomize (when there is no kubectl) and the schemas. */
export const DATA_DIR = join(REPO_ROOT, '.data', 'k8s');

/** The deployable variants: the base on its own and each overlay. */
export const VARIANTS = ['base', 'overlays/development', 'overlays/production'] as const;
export type Variant = (typeof VARIANTS)[number];

/** A Kubernetes object as parsed from YAML; the checks read deeper fields through `field()`. */
export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [key: string]: unknown;
}

/** `kind/name`, how problems and schema results name a resource. */
export const resourceId = (m: { kind: string; metadata: { name: string } }): string =>
  `${m.kind}/${m.metadata.name}`;

/** The command that renders a Kustomize folder: kubectl's built-in kustomize, else the one tools/fetch.sh built. */
export function kustomizeCommand(): { file: string; args: string[] } | undefined {
  const onPath = (name: string) =>
    (process.env.PATH ?? '').split(':').some((dir) => dir !== '' && existsSync(join(dir, name)));
  if (onPath('kubectl')) return { file: 'kubectl', args: ['kustomize'] };
  const built = join(DATA_DIR, 'bin', 'kustomize');
  return existsSync(built) ? { file: built, args: ['build'] } : undefined;
}

/** Why the manifests cannot be rendered here, or undefined when they can. */
export function rendererMissing(): string | undefined {
  return kustomizeCommand() === undefined
    ? 'neither kubectl nor .data/k8s/bin/kustomize: run examples/k8s/tools/fetch.sh'
    : undefined;
}

/** The variant's manifests as one YAML stream. */
export function render(variant: Variant): string {
  const command = kustomizeCommand();
  if (command === undefined) throw new Error(rendererMissing());
  return execFileSync(command.file, [...command.args, join(K8S_DIR, variant)], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

export function parseManifests(text: string): Manifest[] {
  return parseAllDocuments(text)
    .map((doc) => {
      if (doc.errors.length > 0) throw doc.errors[0];
      return doc.toJS() as Manifest | null;
    })
    .filter((m): m is Manifest => m !== null);
}

export function stringifyManifests(manifests: readonly Manifest[]): string {
  return manifests.map((m) => `---\n${stringify(m)}`).join('');
}

/** The value at a dotted path (`spec.template.spec`), or undefined where any step is missing. */
export function field(value: unknown, path: string): unknown {
  let at = value;
  for (const step of path.split('.')) {
    if (at === null || typeof at !== 'object') return undefined;
    at = (at as Record<string, unknown>)[step];
  }
  return at;
}
