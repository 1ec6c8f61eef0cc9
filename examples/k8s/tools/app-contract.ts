// Checks the manifests against what the word-count app reads and serves: environment variable names, ports, probe
// paths, the grace period against the close bound, the autoscaler's topics, group and bounds. Schemas cannot see these.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { resolveConfig } from '@eddy/streams/internals';
import { parse } from 'yaml';
import { wordCountTopology } from '../../word-count/topology.js';
import { DATA_DIR, field, K8S_DIR, type Manifest, REPO_ROOT, resourceId } from './manifests.js';

export const CONTRACT_CODES = [
  'MISSING_RESOURCE',
  'ENV_NOT_READ',
  'ENV_MISSING',
  'POD_NAME_NOT_FROM_METADATA',
  'APPLICATION_SERVER_NOT_STABLE',
  'NO_HEADLESS_SERVICE',
  'SELECTOR_MISMATCH',
  'PORT_MISMATCH',
  'PROBE_PATH',
  'SCRAPE_ANNOTATIONS',
  'STATE_DIR_NOT_ON_CLAIM',
  'GRACE_PERIOD_TOO_SHORT',
  'POD_MANAGEMENT_POLICY',
  'ARGS_MISSING',
  'SCALE_TARGET',
  'REPLICA_BOUNDS',
  'MAX_REPLICAS_ABOVE_PARTITIONS',
  'TRIGGER_TOPICS',
  'TRIGGER_GROUP',
  'TRIGGER_BROKERS',
  'TRIGGER_METADATA_KEY',
  'TRIGGER_SETTING',
  'SCALE_DOWN_TOO_FAST',
] as const;
export type ContractCode = (typeof CONTRACT_CODES)[number];

export interface Problem {
  code: ContractCode;
  /** `kind/name` of the resource at fault. */
  resource: string;
  message: string;
}

/** What the checks compare the manifests with, read from the app's sources and the topic list. */
export interface AppFacts {
  /** Environment variables the app or the library reads. */
  envNames: ReadonlySet<string>;
  /** Paths the operations HTTP server answers. */
  opsPaths: ReadonlySet<string>;
  closeTimeoutMs: number;
  autoOffsetReset: 'earliest' | 'latest';
  /** Partitions per topic (topics.yaml). */
  partitions: ReadonlyMap<string, number>;
  /** Trigger metadata keys KEDA's Kafka scaler reads; undefined when tools/fetch.sh has not fetched them. */
  kafkaScalerKeys: ReadonlySet<string> | undefined;
  /** Every topic the app's tasks read (repartition topics by their full names), for its id and arguments. */
  sourceTopics(applicationId: string, args: readonly string[]): string[];
}

/** Environment variables the app must be given on Kubernetes. */
const REQUIRED_ENV = [
  'POD_NAME',
  'APPLICATION_ID',
  'KAFKA_BROKERS',
  'STATE_DIR',
  'HTTP_PORT',
  'APPLICATION_SERVER',
];
/** Scale-down must wait at least this long after the lag fell: each pod removed moves and may restore state. */
export const MIN_SCALE_DOWN_WINDOW_S = 600;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => join(dir, f));
}

function matches(files: readonly string[], pattern: RegExp): Set<string> {
  const found = new Set<string>();
  for (const file of files) {
    for (const m of readFileSync(file, 'utf8').matchAll(pattern)) found.add(m[1] as string);
  }
  return found;
}

export function readAppFacts(): AppFacts {
  const app = join(REPO_ROOT, 'examples', 'word-count');
  const libraries = ['streams', 'state', 'assignor'].map((p) => join(REPO_ROOT, 'packages', p, 'src'));
  const shared = join(REPO_ROOT, 'examples', 'service');
  const envFiles = [
    join(app, 'service.ts'),
    join(app, 'app.ts'),
    ...sourceFiles(shared),
    ...libraries.flatMap(sourceFiles),
  ];
  const defaults = resolveConfig({ applicationId: 'contract', brokers: ['localhost:9092'] });
  const topics = parse(readFileSync(join(K8S_DIR, 'topics.yaml'), 'utf8')) as {
    topics: { name: string; partitions: number }[];
  };
  const keysFile = join(DATA_DIR, 'keda-kafka-metadata-keys.txt');
  return {
    envNames: matches(envFiles, /\benv\.([A-Z][A-Z0-9_]*)\b/g),
    opsPaths: matches(
      [join(REPO_ROOT, 'packages', 'streams', 'src', 'ops', 'ops-server.ts')],
      /pathname === '(\/[^']*)'/g,
    ),
    closeTimeoutMs: defaults.closeTimeoutMs,
    autoOffsetReset: defaults.autoOffsetReset,
    partitions: new Map(topics.topics.map((t) => [t.name, t.partitions])),
    kafkaScalerKeys: existsSync(keysFile)
      ? new Set(readFileSync(keysFile, 'utf8').split('\n').filter(Boolean))
      : undefined,
    sourceTopics: (applicationId, [input, output]) =>
      wordCountTopology(input as string, output as string)
        .seal(applicationId)
        .subtopologies.flatMap((s) => s.sourceTopics),
  };
}

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { fieldRef?: { fieldPath?: string } };
}
interface Probe {
  httpGet?: { path?: string; port?: string | number };
}
interface Container {
  name: string;
  args?: string[];
  env?: EnvVar[];
  ports?: { name?: string; containerPort: number }[];
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  lifecycle?: { preStop?: { sleep?: { seconds?: number } } };
  volumeMounts?: { name: string; mountPath: string }[];
}

const labelsMatch = (selector: unknown, labels: Record<string, string>): boolean => {
  if (selector === null || typeof selector !== 'object') return false;
  const entries = Object.entries(selector as Record<string, string>);
  return entries.length > 0 && entries.every(([k, v]) => labels[k] === v);
};

/** Checks one variant's manifests; an empty list means they hold to the contract. */
export function checkContract(manifests: readonly Manifest[], facts: AppFacts): Problem[] {
  const problems: Problem[] = [];
  const report = (code: ContractCode, m: Manifest | string, message: string) =>
    problems.push({ code, resource: typeof m === 'string' ? m : resourceId(m), message });
  const sets = manifests.filter((m) => m.kind === 'StatefulSet');
  const set = sets[0];
  if (set === undefined || sets.length > 1) {
    report('MISSING_RESOURCE', 'StatefulSet', `expected one StatefulSet, found ${sets.length}`);
    return problems;
  }
  const container = (field(set, 'spec.template.spec.containers') as Container[] | undefined)?.[0];
  if (container === undefined) {
    report('MISSING_RESOURCE', set, 'the StatefulSet has no container');
    return problems;
  }
  const env = new Map((container.env ?? []).map((e) => [e.name, e]));
  const podLabels = (field(set, 'spec.template.metadata.labels') ?? {}) as Record<string, string>;
  const httpPort = Number(env.get('HTTP_PORT')?.value);

  const ctx: Context = { manifests, set, container, env, podLabels, httpPort, facts, report };
  checkEnv(ctx);
  checkIdentity(ctx);
  checkPorts(ctx);
  checkLifecycle(ctx);
  checkDisruptionBudget(ctx);
  for (const so of manifests.filter((m) => m.kind === 'ScaledObject')) checkScaledObject(so, ctx);
  return problems;
}

type Report = (code: ContractCode, m: Manifest | string, message: string) => void;

/** What every check reads: the variant's manifests, its StatefulSet and container, and where to report. */
interface Context {
  manifests: readonly Manifest[];
  set: Manifest;
  container: Container;
  env: Map<string, EnvVar>;
  podLabels: Record<string, string>;
  httpPort: number;
  facts: AppFacts;
  report: Report;
}

function checkEnv({ set, env, facts, report }: Context): void {
  const referenced = new Set(
    [...env.values()].flatMap((e) =>
      [...(e.value ?? '').matchAll(/\$\(([A-Za-z0-9_]+)\)/g)].map((m) => m[1]),
    ),
  );
  for (const name of env.keys()) {
    if (!facts.envNames.has(name) && !referenced.has(name)) {
      report('ENV_NOT_READ', set, `${name} is read by neither the app nor another variable of the container`);
    }
  }
  for (const name of REQUIRED_ENV) {
    if (!env.has(name)) report('ENV_MISSING', set, `the container does not set ${name}`);
  }
  if (env.has('POD_NAME') && env.get('POD_NAME')?.valueFrom?.fieldRef?.fieldPath !== 'metadata.name') {
    report('POD_NAME_NOT_FROM_METADATA', set, 'POD_NAME must come from fieldRef metadata.name');
  }
}

function checkIdentity({ set, env, httpPort, manifests, podLabels, report }: Context): void {
  if (field(set, 'spec.podManagementPolicy') !== 'Parallel') {
    report('POD_MANAGEMENT_POLICY', set, 'podManagementPolicy must be Parallel');
  }
  const serviceName = field(set, 'spec.serviceName') as string | undefined;
  const headless = manifests.find(
    (m) => m.kind === 'Service' && m.metadata.name === serviceName && field(m, 'spec.clusterIP') === 'None',
  );
  if (headless === undefined) {
    report('NO_HEADLESS_SERVICE', set, `no headless Service named serviceName ${String(serviceName)}`);
  }
  for (const svc of manifests.filter((m) => m.kind === 'Service')) {
    if (!labelsMatch(field(svc, 'spec.selector'), podLabels)) {
      report('SELECTOR_MISMATCH', svc, "the Service's selector does not select the StatefulSet's pods");
    }
  }
  const server = env.get('APPLICATION_SERVER')?.value;
  if (server !== undefined) {
    const [host = '', port] = server.split(':');
    const [pod, subdomain] = host.split('.');
    if (pod !== '$(POD_NAME)' || subdomain !== serviceName || Number(port) !== httpPort) {
      report(
        'APPLICATION_SERVER_NOT_STABLE',
        set,
        `APPLICATION_SERVER ${server} must be $(POD_NAME).${String(serviceName)}.<namespace>.svc:<HTTP_PORT>`,
      );
    }
  }
}

function checkPorts({ set, container, httpPort, facts, report }: Context): void {
  const port = (container.ports ?? []).find((p) => p.containerPort === httpPort);
  if (port === undefined) report('PORT_MISMATCH', set, `no containerPort is HTTP_PORT ${httpPort}`);
  const isHttp = (p: string | number | undefined) => p === httpPort || (p !== undefined && p === port?.name);
  const probes: [string, Probe | undefined, string][] = [
    ['livenessProbe', container.livenessProbe, '/healthz'],
    ['readinessProbe', container.readinessProbe, '/readyz'],
  ];
  for (const [name, probe, path] of probes) {
    const get = probe?.httpGet;
    if (get?.path !== path || !facts.opsPaths.has(path)) {
      report(
        'PROBE_PATH',
        set,
        `${name} must get ${path}, which the ops server answers; got ${String(get?.path)}`,
      );
    }
    if (!isHttp(get?.port)) report('PORT_MISMATCH', set, `${name} does not probe HTTP_PORT ${httpPort}`);
  }
  const annotations = (field(set, 'spec.template.metadata.annotations') ?? {}) as Record<string, string>;
  const path = annotations['prometheus.io/path'] ?? '/metrics';
  if (
    annotations['prometheus.io/scrape'] !== 'true' ||
    Number(annotations['prometheus.io/port']) !== httpPort ||
    !facts.opsPaths.has(path)
  ) {
    report(
      'SCRAPE_ANNOTATIONS',
      set,
      `the pods must carry prometheus.io/scrape "true", prometheus.io/port "${httpPort}" and a path the ops server answers`,
    );
  }
}

function checkLifecycle({ set, container, env, facts, report }: Context): void {
  const stateDir = env.get('STATE_DIR')?.value ?? '';
  const claims = ((field(set, 'spec.volumeClaimTemplates') ?? []) as Manifest[]).map((c) => c.metadata.name);
  const onClaim = (container.volumeMounts ?? []).some(
    (v) => claims.includes(v.name) && (stateDir === v.mountPath || stateDir.startsWith(`${v.mountPath}/`)),
  );
  if (!onClaim)
    report('STATE_DIR_NOT_ON_CLAIM', set, `STATE_DIR ${stateDir} is not on a volumeClaimTemplate's mount`);
  const grace = Number(field(set, 'spec.template.spec.terminationGracePeriodSeconds') ?? 30);
  const preStop = container.lifecycle?.preStop?.sleep?.seconds ?? 0;
  const needed = preStop + facts.closeTimeoutMs / 1000;
  if (!(grace > needed)) {
    report(
      'GRACE_PERIOD_TOO_SHORT',
      set,
      `terminationGracePeriodSeconds ${grace} must exceed preStop ${preStop} s + closeTimeoutMs ${facts.closeTimeoutMs} ms`,
    );
  }
}

function checkDisruptionBudget({ manifests, podLabels, report }: Context): void {
  const budgets = manifests.filter((m) => m.kind === 'PodDisruptionBudget');
  if (budgets.length === 0) report('MISSING_RESOURCE', 'PodDisruptionBudget', 'no PodDisruptionBudget');
  for (const pdb of budgets) {
    if (!labelsMatch(field(pdb, 'spec.selector.matchLabels'), podLabels)) {
      report('SELECTOR_MISMATCH', pdb, "the budget's selector does not select the StatefulSet's pods");
    }
  }
}

function checkScaledObject(so: Manifest, ctx: Context): void {
  const { set, container, env, facts, report } = ctx;
  const target = field(so, 'spec.scaleTargetRef') as { kind?: string; name?: string } | undefined;
  if (target?.kind !== 'StatefulSet' || target.name !== set.metadata.name) {
    report('SCALE_TARGET', so, `scaleTargetRef must be StatefulSet ${set.metadata.name}`);
  }
  const min = Number(field(so, 'spec.minReplicaCount') ?? 0);
  const max = Number(field(so, 'spec.maxReplicaCount') ?? 100);
  const replicas = Number(field(set, 'spec.replicas') ?? 1);
  if (min > max || replicas < min || replicas > max) {
    report(
      'REPLICA_BOUNDS',
      so,
      `replicas ${replicas} must lie within minReplicaCount ${min} ≤ maxReplicaCount ${max}`,
    );
  }
  const applicationId = env.get('APPLICATION_ID')?.value ?? '';
  const args = container.args ?? [];
  if (args.length < 2) {
    report('ARGS_MISSING', set, 'the container must name its input and output topics as arguments');
    return;
  }
  const wanted = facts.sourceTopics(applicationId, args);
  const inputPartitions = Math.max(...wanted.map((t) => facts.partitions.get(t) ?? 0));
  if (max > inputPartitions) {
    report(
      'MAX_REPLICAS_ABOVE_PARTITIONS',
      so,
      `maxReplicaCount ${max} is above the ${inputPartitions} partitions of ${wanted.join(', ')} (topics.yaml)`,
    );
  }
  const triggers = (field(so, 'spec.triggers') ?? []) as {
    type: string;
    metadata?: Record<string, string>;
  }[];
  const topics = triggers.map((t) => t.metadata?.topic);
  const missing = wanted.filter((t) => !topics.includes(t));
  const extra = topics.filter((t) => t === undefined || !wanted.includes(t));
  if (missing.length > 0 || extra.length > 0) {
    report(
      'TRIGGER_TOPICS',
      so,
      `one kafka trigger per topic the app reads (${wanted.join(', ')}); missing: [${missing.join(', ')}], not read: [${extra.join(', ')}]`,
    );
  }
  for (const t of triggers) checkTrigger(so, t, ctx);
  checkBehavior(so, report);
}

function checkTrigger(
  so: Manifest,
  trigger: { type: string; metadata?: Record<string, string> },
  { env, facts, report }: Context,
): void {
  const md = trigger.metadata ?? {};
  if (trigger.type !== 'kafka') report('TRIGGER_SETTING', so, `trigger type ${trigger.type} is not kafka`);
  for (const key of Object.keys(md)) {
    if (facts.kafkaScalerKeys !== undefined && !facts.kafkaScalerKeys.has(key)) {
      report('TRIGGER_METADATA_KEY', so, `KEDA's Kafka scaler reads no metadata key ${key}`);
    }
  }
  const group =
    md.consumerGroupFromEnv !== undefined ? env.get(md.consumerGroupFromEnv)?.value : md.consumerGroup;
  if (group === undefined || group !== env.get('APPLICATION_ID')?.value) {
    report(
      'TRIGGER_GROUP',
      so,
      'the consumer group must be the APPLICATION_ID (consumerGroupFromEnv: APPLICATION_ID)',
    );
  }
  const brokers =
    md.bootstrapServersFromEnv !== undefined
      ? env.get(md.bootstrapServersFromEnv)?.value
      : md.bootstrapServers;
  if (brokers === undefined || brokers !== env.get('KAFKA_BROKERS')?.value) {
    report(
      'TRIGGER_BROKERS',
      so,
      "the brokers must be the app's KAFKA_BROKERS (bootstrapServersFromEnv: KAFKA_BROKERS)",
    );
  }
  const threshold = Number(md.lagThreshold);
  if (!Number.isSafeInteger(threshold) || threshold <= 0) {
    report('TRIGGER_SETTING', so, `lagThreshold must be a positive integer, got ${String(md.lagThreshold)}`);
  }
  if (md.allowIdleConsumers === 'true') {
    report('TRIGGER_SETTING', so, 'allowIdleConsumers would scale past the partitions: pods without tasks');
  }
  if ((md.offsetResetPolicy ?? 'latest') !== facts.autoOffsetReset) {
    report(
      'TRIGGER_SETTING',
      so,
      `offsetResetPolicy must match the app's autoOffsetReset ${facts.autoOffsetReset}`,
    );
  }
}

function checkBehavior(so: Manifest, report: Report): void {
  const down = field(so, 'spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleDown') as
    | { stabilizationWindowSeconds?: number; policies?: { type: string; value: number }[] }
    | undefined;
  const window = down?.stabilizationWindowSeconds ?? 300;
  const policies = down?.policies ?? [];
  const onePodAtATime = policies.length > 0 && policies.every((p) => p.type === 'Pods' && p.value === 1);
  if (window < MIN_SCALE_DOWN_WINDOW_S || !onePodAtATime) {
    report(
      'SCALE_DOWN_TOO_FAST',
      so,
      `scale-down must wait ≥ ${MIN_SCALE_DOWN_WINDOW_S} s (got ${window}) and remove one pod per period`,
    );
  }
}
