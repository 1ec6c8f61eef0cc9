// Every variant of the manifests passes kubeconform's strict check against the Kubernetes and KEDA schemas of the
// oldest and newest supported Kubernetes versions, and a broken copy of each manifest fails it.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { checkContract, readAppFacts } from '../tools/app-contract.js';
import {
  field,
  K8S_DIR,
  type Manifest,
  parseManifests,
  render,
  resourceId,
  stringifyManifests,
  VARIANTS,
} from '../tools/manifests.js';
import { kubernetesVersions, schemaCheckMissing, validateSchemas } from '../tools/schema-check.js';

const missing = schemaCheckMissing();
if (missing !== undefined) process.stderr.write(`[k8s] schema tests skipped: ${missing}\n`);
const versions = kubernetesVersions();

/** Ways to break a manifest that only a schema sees; each must make that manifest invalid. */
const breakages: [string, (m: Manifest) => void][] = [
  [
    'an unknown field in spec',
    (m) => {
      (m.spec as Record<string, unknown>).replicaz = 3;
    },
  ],
  [
    'a number where a string belongs',
    (m) => {
      // A CRD's schema says nothing of metadata (only a server checks a custom object's labels): break its spec.
      if (m.kind === 'ScaledObject') (field(m, 'spec.triggers.0') as Record<string, unknown>).type = 3;
      else m.metadata.labels = { ...m.metadata.labels, broken: 1 as never };
    },
  ],
  [
    'a misspelt field deep inside',
    (m) => {
      const deep: Record<string, [string, string]> = {
        StatefulSet: ['spec.template.spec.containers.0.readinessProbe.httpGet', 'paht'],
        Service: ['spec.ports.0', 'targetPorts'],
        PodDisruptionBudget: ['spec.selector', 'matchLabel'],
        ScaledObject: [
          'spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleDown',
          'stabilisationWindowSeconds',
        ],
      };
      const [path, key] = deep[m.kind] ?? ['metadata', 'nam'];
      (field(m, path) as Record<string, unknown>)[key] = 1;
    },
  ],
  [
    'a number given as a string',
    (m) => {
      const typed: Record<string, [string, string]> = {
        StatefulSet: ['spec', 'replicas'],
        Service: ['spec.ports.0', 'port'],
        PodDisruptionBudget: ['spec', 'maxUnavailable'],
        ScaledObject: ['spec', 'maxReplicaCount'],
      };
      const [path, key] = typed[m.kind] ?? ['metadata', 'generation'];
      const at = field(m, path) as Record<string, unknown>;
      // maxUnavailable takes an int or a string percentage: give it neither.
      at[key] = m.kind === 'PodDisruptionBudget' ? true : String(at[key] ?? 1);
    },
  ],
];

describe.skipIf(missing !== undefined)('schemas', () => {
  it('cover the oldest and the newest supported Kubernetes version', () => {
    expect(versions.length).toBeGreaterThanOrEqual(2);
  });

  describe.each(VARIANTS)('%s', (variant) => {
    let yaml = '';
    let manifests: Manifest[] = [];
    beforeAll(() => {
      yaml = render(variant);
      manifests = parseManifests(yaml);
    });

    it.each(versions)('is valid for Kubernetes %s', (version) => {
      const results = validateSchemas(yaml, version);
      expect(results.map((r) => r.resource).sort()).toEqual(manifests.map(resourceId).sort());
      expect(results.filter((r) => !r.valid)).toEqual([]);
    });

    it.each(versions)('a broken copy of each manifest is invalid for Kubernetes %s', (version) => {
      const copies = manifests.flatMap((m) =>
        breakages.map(([how, breakIt], i) => {
          const copy = structuredClone(m);
          breakIt(copy);
          copy.metadata.name = `${m.metadata.name}-broken-${i}`;
          return { copy, how };
        }),
      );
      const results = new Map(
        validateSchemas(stringifyManifests(copies.map((c) => c.copy)), version).map((r) => [r.resource, r]),
      );
      for (const { copy, how } of copies) {
        const result = results.get(resourceId(copy));
        expect(result, `${resourceId(copy)}: ${how}`).toBeDefined();
        expect(result?.valid, `${resourceId(copy)}: ${how} passed the schema`).toBe(false);
      }
    });
  });

  it('a misspelt enum value passes the schemas, so the contract check catches it', () => {
    const manifests = parseManifests(render('base'));
    const set = manifests.find((m) => m.kind === 'StatefulSet') as Manifest;
    (set.spec as Record<string, unknown>).podManagementPolicy = 'Paralel';
    const [version] = versions;
    expect(validateSchemas(stringifyManifests(manifests), version as string).every((r) => r.valid)).toBe(
      true,
    );
    expect(checkContract(manifests, readAppFacts()).map((p) => p.code)).toEqual(['POD_MANAGEMENT_POLICY']);
  });

  it('a second fetch finds everything cached and fetches nothing', () => {
    const run = spawnSync('bash', [join(K8S_DIR, 'tools', 'fetch.sh')], { encoding: 'utf8' });
    expect(run.status).toBe(0);
    expect(run.stderr).toBe('');
  });
});
