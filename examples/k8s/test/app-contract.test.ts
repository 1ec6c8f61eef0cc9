// The manifests hold to the word-count app's contract, and a broken copy of each fails with the problem it has.
import { Serdes, StreamsBuilder } from '@eddy/streams';
import { describe, expect, it } from 'vitest';
import { type AppFacts, type ContractCode, checkContract, readAppFacts } from '../tools/app-contract.js';
import {
  field,
  type Manifest,
  parseManifests,
  render,
  rendererMissing,
  VARIANTS,
} from '../tools/manifests.js';

const facts = readAppFacts();
const noRenderer = rendererMissing();
if (noRenderer !== undefined) process.stderr.write(`[k8s] contract tests skipped: ${noRenderer}\n`);
const rendered = new Map(noRenderer === undefined ? VARIANTS.map((v) => [v, parseManifests(render(v))]) : []);
const copyOf = (variant: (typeof VARIANTS)[number]): Manifest[] =>
  structuredClone(rendered.get(variant) ?? []);

const find = (docs: Manifest[], kind: string, name?: string): Manifest => {
  const doc = docs.find((d) => d.kind === kind && (name === undefined || d.metadata.name === name));
  if (doc === undefined) throw new Error(`no ${kind} ${name ?? ''}`);
  return doc;
};
type Env = { name: string; value?: string; valueFrom?: unknown };
const container = (docs: Manifest[]) =>
  (field(find(docs, 'StatefulSet'), 'spec.template.spec.containers') as Record<string, unknown>[])[0] as {
    env: Env[];
    args?: string[];
    livenessProbe: { httpGet: { path: string; port: string | number } };
    readinessProbe: { httpGet: { path: string; port: string | number } };
  };
const envVar = (docs: Manifest[], name: string): Env => {
  const e = container(docs).env.find((v) => v.name === name);
  if (e === undefined) throw new Error(`no env ${name}`);
  return e;
};
const podSpec = (docs: Manifest[]) =>
  field(find(docs, 'StatefulSet'), 'spec.template.spec') as Record<string, unknown>;
const trigger = (docs: Manifest[]) =>
  (field(find(docs, 'ScaledObject'), 'spec.triggers') as { metadata: Record<string, string> }[])[0]
    ?.metadata ?? {};
const spec = (doc: Manifest) => doc.spec as Record<string, unknown>;
/** Breakages that set one trigger metadata key, or one env var's value. */
const setTrigger = (key: string, value: string) => (d: Manifest[]) => {
  trigger(d)[key] = value;
};
const setEnv = (name: string, value: string) => (d: Manifest[]) => {
  envVar(d, name).value = value;
};

describe('the facts the checks compare with', () => {
  it('come from the app and the library sources', () => {
    for (const name of [
      'POD_NAME',
      'APPLICATION_ID',
      'KAFKA_BROKERS',
      'STATE_DIR',
      'HTTP_PORT',
      'READY_MAX_LAG',
    ]) {
      expect(facts.envNames.has(name), name).toBe(true);
    }
    expect(facts.envNames.has('POD_NAMESPACE')).toBe(false);
    expect([...facts.opsPaths].sort()).toEqual(['/healthz', '/metrics', '/readyz']);
    expect(facts.sourceTopics('word-count', ['words', 'word-counts'])).toEqual(['words']);
    expect(facts.partitions.get('words')).toBeGreaterThan(0);
  });
});

describe.skipIf(noRenderer !== undefined).each(VARIANTS)('%s', (variant) => {
  it('holds to the app contract', () => {
    expect(checkContract(copyOf(variant), facts)).toEqual([]);
  });
});

/** A broken copy: which variant, what is changed, and the problem it must produce. */
const broken: [string, (typeof VARIANTS)[number], (docs: Manifest[]) => void, ContractCode][] = [
  [
    'an env var the app does not read',
    'base',
    (d) => {
      envVar(d, 'READY_MAX_LAG').name = 'READY_MAX_LAGG';
    },
    'ENV_NOT_READ',
  ],
  [
    'no APPLICATION_SERVER',
    'base',
    (d) => {
      container(d).env = container(d).env.filter((e) => e.name !== 'APPLICATION_SERVER');
    },
    'ENV_MISSING',
  ],
  [
    'POD_NAME from the uid',
    'base',
    (d) => {
      envVar(d, 'POD_NAME').valueFrom = { fieldRef: { fieldPath: 'metadata.uid' } };
    },
    'POD_NAME_NOT_FROM_METADATA',
  ],
  [
    'the application server on the query service',
    'base',

    setEnv('APPLICATION_SERVER', 'word-count-query:8080'),
    'APPLICATION_SERVER_NOT_STABLE',
  ],
  [
    'HTTP_PORT unlike the container port',
    'base',

    setEnv('HTTP_PORT', '9090'),
    'PORT_MISMATCH',
  ],
  [
    'liveness on a path the server does not answer',
    'base',
    (d) => {
      container(d).livenessProbe.httpGet.path = '/health';
    },
    'PROBE_PATH',
  ],
  [
    'readiness on the liveness path',
    'base',
    (d) => {
      container(d).readinessProbe.httpGet.path = '/healthz';
    },
    'PROBE_PATH',
  ],
  [
    'readiness on another port',
    'overlays/production',
    (d) => {
      container(d).readinessProbe.httpGet.port = 9090;
    },
    'PORT_MISMATCH',
  ],
  [
    'scrape annotation on another port',
    'base',
    (d) => {
      (field(find(d, 'StatefulSet'), 'spec.template.metadata.annotations') as Record<string, string>)[
        'prometheus.io/port'
      ] = '9090';
    },
    'SCRAPE_ANNOTATIONS',
  ],
  [
    'the state dir off the claim',
    'overlays/development',

    setEnv('STATE_DIR', '/tmp/state'),
    'STATE_DIR_NOT_ON_CLAIM',
  ],
  [
    'a grace period within the close bound',
    'base',
    (d) => {
      podSpec(d).terminationGracePeriodSeconds = 30;
    },
    'GRACE_PERIOD_TOO_SHORT',
  ],
  [
    'ordered pod management',
    'overlays/production',
    (d) => {
      spec(find(d, 'StatefulSet')).podManagementPolicy = 'OrderedReady';
    },
    'POD_MANAGEMENT_POLICY',
  ],
  [
    'a Service that is not headless',
    'base',
    (d) => {
      delete spec(find(d, 'Service', 'word-count')).clusterIP;
    },
    'NO_HEADLESS_SERVICE',
  ],
  [
    'a Service selecting other pods',
    'base',
    (d) => {
      spec(find(d, 'Service', 'word-count-query')).selector = { app: 'other' };
    },
    'SELECTOR_MISMATCH',
  ],
  [
    'a budget selecting other pods',
    'overlays/production',
    (d) => {
      spec(find(d, 'PodDisruptionBudget')).selector = { matchLabels: { app: 'other' } };
    },
    'SELECTOR_MISMATCH',
  ],
  [
    'no budget',
    'base',
    (d) => {
      d.splice(d.indexOf(find(d, 'PodDisruptionBudget')), 1);
    },
    'MISSING_RESOURCE',
  ],
  [
    'no topic arguments',
    'base',
    (d) => {
      delete container(d).args;
    },
    'ARGS_MISSING',
  ],
  [
    'scaling another workload',
    'base',
    (d) => {
      spec(find(d, 'ScaledObject')).scaleTargetRef = {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        name: 'word-count',
      };
    },
    'SCALE_TARGET',
  ],
  [
    'more replicas than partitions',
    'overlays/production',
    (d) => {
      spec(find(d, 'ScaledObject')).maxReplicaCount = 24;
    },
    'MAX_REPLICAS_ABOVE_PARTITIONS',
  ],
  [
    'a minimum above the set',
    'overlays/production',
    (d) => {
      spec(find(d, 'ScaledObject')).minReplicaCount = 5;
    },
    'REPLICA_BOUNDS',
  ],
  [
    'a trigger on a topic the app does not read',
    'base',

    setTrigger('topic', 'word'),
    'TRIGGER_TOPICS',
  ],
  [
    'the app reading a topic no trigger watches',
    'overlays/production',
    (d) => {
      (container(d).args as string[])[0] = 'sentences';
    },
    'TRIGGER_TOPICS',
  ],
  [
    'another consumer group',
    'base',
    (d) => {
      delete trigger(d).consumerGroupFromEnv;
      trigger(d).consumerGroup = 'wordcount';
    },
    'TRIGGER_GROUP',
  ],
  [
    'brokers from a variable the pod lacks',
    'base',

    setTrigger('bootstrapServersFromEnv', 'KAFKA_BROKER'),
    'TRIGGER_BROKERS',
  ],
  [
    'idle consumers allowed',
    'base',

    setTrigger('allowIdleConsumers', 'true'),
    'TRIGGER_SETTING',
  ],
  [
    'a lag threshold that is no number',
    'overlays/production',

    setTrigger('lagThreshold', 'a million'),
    'TRIGGER_SETTING',
  ],
  [
    'offsets reset unlike the app',
    'base',

    setTrigger('offsetResetPolicy', 'latest'),
    'TRIGGER_SETTING',
  ],
  [
    'a quick scale-down',
    'overlays/production',
    (d) => {
      (
        field(
          find(d, 'ScaledObject'),
          'spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleDown',
        ) as Record<string, unknown>
      ).stabilizationWindowSeconds = 60;
    },
    'SCALE_DOWN_TOO_FAST',
  ],
  [
    'a scale-down of many pods at once',
    'base',
    (d) => {
      (
        field(
          find(d, 'ScaledObject'),
          'spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleDown',
        ) as Record<string, unknown>
      ).policies = [{ type: 'Percent', value: 50, periodSeconds: 60 }];
    },
    'SCALE_DOWN_TOO_FAST',
  ],
];

describe.skipIf(noRenderer !== undefined)('a broken copy fails', () => {
  it.each(broken)('%s (%s)', (_name, variant, breakIt, code) => {
    const docs = copyOf(variant);
    breakIt(docs);
    expect(checkContract(docs, facts).map((p) => p.code)).toContain(code);
  });

  it.skipIf(facts.kafkaScalerKeys === undefined)('a misspelt trigger key (base)', () => {
    const docs = copyOf('base');
    const md = trigger(docs);
    md.lagThresold = md.lagThreshold as string;
    delete md.lagThreshold;
    const codes = checkContract(docs, facts).map((p) => p.code);
    expect(codes).toContain('TRIGGER_METADATA_KEY');
  });

  it('a topology with a repartition topic needs a trigger on it as well', () => {
    // The same manifests for an app whose count follows a re-keying: its tasks also read the repartition topic.
    const repartitioning: AppFacts = {
      ...facts,
      sourceTopics: (applicationId, [input]) => {
        const builder = new StreamsBuilder();
        builder
          .stream(input as string, { keySerde: Serdes.string(), valueSerde: Serdes.string() })
          .groupBy((_k, v) => v, { keySerde: Serdes.string(), valueSerde: Serdes.string() })
          .count({ name: 'by-word' });
        return builder
          .build()
          .seal(applicationId)
          .subtopologies.flatMap((s) => s.sourceTopics);
      },
    };
    const docs = copyOf('overlays/production');
    const topics = repartitioning.sourceTopics('word-count', ['words']);
    const repartition = topics.find((t) => t.endsWith('-repartition'));
    expect(repartition).toMatch(/^word-count-.+-repartition$/);
    const problems = checkContract(docs, repartitioning);
    expect(problems.map((p) => p.code)).toEqual(['TRIGGER_TOPICS']);
    expect(problems[0]?.message).toContain(repartition);

    const triggers = field(find(docs, 'ScaledObject'), 'spec.triggers') as {
      metadata: Record<string, string>;
    }[];
    triggers.push({ ...structuredClone(triggers[0] as { metadata: Record<string, string> }) });
    (triggers[1] as { metadata: Record<string, string> }).metadata.topic = repartition as string;
    expect(checkContract(docs, repartitioning)).toEqual([]);
  });
});
