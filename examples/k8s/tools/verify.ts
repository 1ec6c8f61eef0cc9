// `pnpm k8s:verify`: applies the example's production overlay to a real API server with its controllers, scheduler
// and kwok's simulated nodes (built by verify-build.sh), and checks what the controllers do with it. Exits 1 if any
// check fails; tears the cluster down on every exit path.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DATA_DIR, field, K8S_DIR, type Manifest, parseManifests, render } from './manifests.js';
import { describe } from './verify/api.js';
import {
  type CheckResult,
  checkDeletedPodReturns,
  checkDisruptionBudget,
  checkParallelStart,
  checkRollingUpdate,
  checkScaling,
  type Target,
} from './verify/checks.js';
import { Cluster } from './verify/cluster.js';
import { waitFor } from './verify/wait.js';

const VARIANT = 'overlays/production';
const KEDA_VERSION = 'v2.21.0';
const KEEP = process.argv.includes('--keep');
const step = (s: string) => console.log(`\n[k8s-verify] ${s}`);

function kubectl(kubeconfig: string, args: string[], input?: string): { ok: boolean; out: string } {
  const r = spawnSync('kubectl', [`--kubeconfig=${kubeconfig}`, ...args], {
    input,
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { ok: r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}`.trim() };
}

function mustKubectl(kubeconfig: string, args: string[], input?: string): string {
  const r = kubectl(kubeconfig, args, input);
  if (!r.ok) throw new Error(`kubectl ${args.join(' ')} failed:\n${r.out}`);
  return r.out;
}

const indent = (text: string) =>
  text
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');

function kedaCrd(): string {
  const info = JSON.parse(
    execFileSync('go', ['mod', 'download', '-json', `github.com/kedacore/keda/v2@${KEDA_VERSION}`], {
      encoding: 'utf8',
    }),
  ) as { Dir: string };
  return join(info.Dir, 'config', 'crd', 'bases', 'keda.sh_scaledobjects.yaml');
}

/** hostPath volumes for the claims, in the class and size the overlay asks for (there is no provisioner). */
function persistentVolumes(
  dir: string,
  count: number,
  storageClass: string | undefined,
  size: string,
): unknown[] {
  return [...Array(count).keys()].map((i) => {
    const path = join(dir, `pv-${i}`);
    mkdirSync(path, { recursive: true });
    return {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: `verify-pv-${i}` },
      spec: {
        capacity: { storage: size },
        accessModes: ['ReadWriteOnce'],
        persistentVolumeReclaimPolicy: 'Retain',
        ...(storageClass === undefined ? {} : { storageClassName: storageClass }),
        hostPath: { path, type: 'DirectoryOrCreate' },
      },
    };
  });
}

async function main(cluster: Cluster): Promise<CheckResult[]> {
  step(`rendering ${VARIANT}`);
  const yaml = render(VARIANT);
  const manifests = parseManifests(yaml);
  const byKind = (kind: string) => {
    const m = manifests.find((x) => x.kind === kind);
    if (m === undefined) throw new Error(`${VARIANT} has no ${kind}`);
    return m;
  };
  const sts = byKind('StatefulSet');
  const pdb = byKind('PodDisruptionBudget');
  const namespace = sts.metadata.namespace ?? 'default';
  const replicas = field(sts, 'spec.replicas') as number;
  const template = (field(sts, 'spec.volumeClaimTemplates') as Manifest[] | undefined)?.[0];
  if (template === undefined) throw new Error(`the StatefulSet of ${VARIANT} has no volume claim template`);
  const storageClass = field(template, 'spec.storageClassName') as string | undefined;
  const size = field(template, 'spec.resources.requests.storage') as string;
  const headless = manifests.find((m) => m.kind === 'Service' && field(m, 'spec.clusterIP') === 'None');
  console.log(
    `  ${manifests.map((m) => `${m.kind}/${m.metadata.name}`).join(', ')} in namespace ${namespace}; ${replicas} replicas`,
  );

  step('starting etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok on loopback');
  const started = Date.now();
  await cluster.start();
  console.log(
    `  control plane and nodes up in ${((Date.now() - started) / 1000).toFixed(1)} s (folder ${cluster.dir})`,
  );
  const kc = cluster.kubeconfig;
  console.log(indent(mustKubectl(kc, ['version']).replace(/^Client Version:.*\n?/m, '')));

  step('the namespace, a storage class, hostPath volumes and the KEDA ScaledObject CRD');
  const pvCount = 5;
  const setup = [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } },
    ...(storageClass === undefined
      ? []
      : [
          {
            apiVersion: 'storage.k8s.io/v1',
            kind: 'StorageClass',
            metadata: { name: storageClass },
            provisioner: 'kubernetes.io/no-provisioner',
            volumeBindingMode: 'Immediate',
          },
        ]),
    ...persistentVolumes(cluster.dir, pvCount, storageClass, size),
  ];
  console.log(
    indent(
      mustKubectl(kc, ['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: setup })),
    ),
  );
  const crd = kedaCrd();
  // Server-side: the CRD is too large for the last-applied annotation of a client-side apply.
  console.log(indent(mustKubectl(kc, ['apply', '--server-side', '-f', crd])));
  console.log(
    indent(
      mustKubectl(kc, ['wait', '--for=condition=Established', '--timeout=60s', 'crd/scaledobjects.keda.sh']),
    ),
  );

  const results: CheckResult[] = [];
  const report = (r: CheckResult) => {
    console.log(`${r.pass ? 'PASS' : 'FAIL'} ${r.name}`);
    for (const line of r.saw) console.log(`     ${line}`);
    results.push(r);
  };
  step(`server-side dry run of ${VARIANT}`);
  const dry = kubectl(kc, ['apply', '--dry-run=server', '-f', '-'], yaml);
  console.log(indent(dry.out));
  report({
    name: `the server accepts ${VARIANT} (dry run)`,
    pass: dry.ok,
    saw: [
      dry.ok
        ? `accepted: ${dry.out.split('\n').filter((l) => l.endsWith('(server dry run)')).length} objects`
        : dry.out,
    ],
  });

  const broken = yaml.replace('podManagementPolicy: Parallel', 'podManagementPolicy: Paralel');
  if (broken === yaml)
    throw new Error('the rendered StatefulSet has no "podManagementPolicy: Parallel" to break');
  const bad = kubectl(kc, ['apply', '--dry-run=server', '-f', '-'], broken);
  const refusal = bad.out.split('\n').find((l) => l.includes('Paralel')) ?? bad.out;
  // Refused for that field (kube-apiserver 1.34 says `Invalid value: "Paralel": must be 'OrderedReady' or
  // 'Parallel'`), not for anything else in the copy.
  report({
    name: 'the server rejects a misspelt podManagementPolicy (dry run)',
    pass: !bad.ok && refusal.includes('spec.podManagementPolicy'),
    saw: [bad.ok ? 'accepted' : refusal],
  });

  step(`applying ${VARIANT}`);
  const api = cluster.api;
  const list = await api.get(`/api/v1/namespaces/${namespace}/pods`);
  const target: Target = {
    api,
    namespace,
    name: sts.metadata.name,
    claimTemplate: template.metadata.name,
    watchPods: (rv) => api.watch(`/api/v1/namespaces/${namespace}/pods`, rv),
  };
  const startWatch = target.watchPods(list.metadata.resourceVersion);
  // Pods are created by the controller only after the namespace's default service account exists.
  await waitFor('the default service account of the namespace', async () =>
    (await api.call('GET', `/api/v1/namespaces/${namespace}/serviceaccounts/default`)).status === 200
      ? true
      : undefined,
  );
  console.log(indent(mustKubectl(kc, ['apply', '-f', '-'], yaml)));
  console.log(
    '  pods are simulated by kwok: no container runs and the image is never pulled; kwok marks a pod Running and',
  );
  console.log(
    "  Ready 1–6 s after it is scheduled. KEDA's operator does not run: the ScaledObject is only stored.",
  );

  step('checks');
  const run = async (what: string, check: () => Promise<CheckResult>) => {
    let r: CheckResult;
    try {
      r = await check();
    } catch (e) {
      r = {
        name: `${what} (did not finish)`,
        pass: false,
        saw: [e instanceof Error ? e.message : String(e)],
      };
    }
    report(r);
  };
  await run('parallel start', () => checkParallelStart(target, startWatch.events, replicas));
  startWatch.close();
  await run('rolling update', () => checkRollingUpdate(target, replicas));
  await run('deleted pod', () => checkDeletedPodReturns(target, 1, headless?.metadata.name ?? ''));
  await run('disruption budget', () => checkDisruptionBudget(target, pdb.metadata.name, replicas));
  await run('scaling', () => checkScaling(target, [5, 2, 5]));
  return results;
}

const bin = join(DATA_DIR, 'bin');
const stages = join(DATA_DIR, 'kwok-stages');
step('building or reusing the binaries (examples/k8s/tools/verify-build.sh)');
const build = spawnSync(join(K8S_DIR, 'tools', 'verify-build.sh'), { stdio: 'inherit' });
if (build.status !== 0 || !existsSync(stages)) {
  console.error('[k8s-verify] the build failed; see its output above');
  process.exit(1);
}
const cluster = new Cluster(bin, stages);
const onSignal = (signal: NodeJS.Signals) => {
  console.log(`\n[k8s-verify] ${signal}: stopping the cluster`);
  void cluster.close(KEEP).finally(() => process.exit(130));
};
process.once('SIGINT', onSignal);
process.once('SIGTERM', onSignal);
process.once('exit', () => cluster.killNow());

let failed = true;
try {
  const results = await main(cluster);
  const failures = results.filter((r) => !r.pass);
  failed = failures.length > 0;
  step(`${results.length - failures.length} of ${results.length} checks passed`);
  for (const f of failures) console.log(`  FAIL ${f.name}`);
} catch (e) {
  console.error(`[k8s-verify] stopped: ${e instanceof Error ? e.message : describe(e)}`);
  for (const name of ['kube-apiserver', 'kube-controller-manager', 'kwok']) {
    const tail = cluster.tail(name, 8);
    if (tail !== '') console.error(`--- last lines of ${name}'s log:\n${tail}`);
  }
} finally {
  step('tearing down');
  await cluster.close(KEEP);
}
process.exitCode = failed ? 1 : 0;
