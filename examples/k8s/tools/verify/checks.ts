// What the controllers do with the example's StatefulSet and PodDisruptionBudget, each check returning what it saw.
import type { Api, WatchEvent } from './api.js';
import { describe } from './api.js';
import { isReady, ordinalsFrom, type Pod, parallelStart, replacementOrder } from './events.js';
import { waitFor } from './wait.js';

export interface CheckResult {
  name: string;
  pass: boolean;
  saw: string[];
}

/** The StatefulSet under test and where its objects live. */
export interface Target {
  api: Api;
  namespace: string;
  name: string;
  /** The claim template's name: claims are `<template>-<pod>`. */
  claimTemplate: string;
  /** Starts a watch of the namespace's pods from a resource version (so no event after it is missed). */
  watchPods(resourceVersion: string): { events: WatchEvent[]; close(): void };
}

// kwok removes a deleted pod at a random point of its grace period (60 s here), so a rolling update of three pods
// can take three minutes.
const WAIT = { timeoutMs: 420_000 };

const base = (t: Target) => `/api/v1/namespaces/${t.namespace}`;
const stsPath = (t: Target) => `/apis/apps/v1/namespaces/${t.namespace}/statefulsets/${t.name}`;

/** The set's pods (`<name>-<ordinal>`), by ordinal. */
export async function setPods(t: Target): Promise<Pod[]> {
  const list = await t.api.get(`${base(t)}/pods`);
  const own = new RegExp(`^${t.name}-(\\d+)$`);
  return (list.items as Pod[])
    .filter((p) => own.test(p.metadata.name))
    .sort((a, b) => ordinal(a.metadata.name) - ordinal(b.metadata.name));
}

const ordinal = (name: string): number => ordinalsFrom([name])[0] ?? -1;

const claimOf = (p: Pod, template: string): string | undefined =>
  p.spec.volumes?.find((v) => v.name === template)?.persistentVolumeClaim?.claimName;

const summary = (pods: Pod[]) =>
  pods
    .map(
      (p) =>
        `${p.metadata.name}${isReady(p) ? '' : '(not ready)'}${p.metadata.deletionTimestamp ? '(terminating)' : ''}`,
    )
    .join(', ') || 'no pods';

/** Waits until exactly the pods with the given ordinals exist, none terminating, all Ready; returns them. */
export async function waitForPods(t: Target, ordinals: number[], what: string): Promise<Pod[]> {
  let pods: Pod[] = [];
  const want = ordinals.map((o) => `${t.name}-${o}`).join(',');
  return waitFor(
    what,
    async () => {
      pods = await setPods(t);
      const names = pods.map((p) => p.metadata.name).join(',');
      const settled = pods.every((p) => isReady(p) && p.metadata.deletionTimestamp === undefined);
      return names === want && settled ? pods : undefined;
    },
    () => summary(pods),
    WAIT,
  );
}

// biome-ignore lint/suspicious/noExplicitAny: claims as the API returns them.
async function claims(t: Target): Promise<Map<string, any>> {
  const list = await t.api.get(`${base(t)}/persistentvolumeclaims`);
  // biome-ignore lint/suspicious/noExplicitAny: see above.
  return new Map(list.items.map((c: any) => [c.metadata.name, c]));
}

/** Pods created together before any is Ready, named `<name>-0..n-1`, each on its own bound claim. */
export async function checkParallelStart(
  t: Target,
  events: WatchEvent[],
  replicas: number,
): Promise<CheckResult> {
  const ordinals = [...Array(replicas).keys()];
  const pods = await waitForPods(t, ordinals, `${replicas} pods of ${t.name} Ready`);
  const saw: string[] = [];
  const start = parallelStart(events, t.name);
  saw.push(
    `event order: ${start.order.join(' → ')}`,
    `all ${start.created.length} pods created before the first was Ready: ${start.allCreatedBeforeReady}`,
  );
  const claimMap = await claims(t);
  const volumes = new Set<string>();
  let claimsOk = true;
  for (const p of pods) {
    const claim = claimOf(p, t.claimTemplate);
    const pvc = claim === undefined ? undefined : claimMap.get(claim);
    const expected = `${t.claimTemplate}-${p.metadata.name}`;
    const ok = claim === expected && pvc?.status?.phase === 'Bound' && !volumes.has(pvc.spec.volumeName);
    if (pvc !== undefined) volumes.add(pvc.spec.volumeName);
    claimsOk &&= ok;
    saw.push(
      `${p.metadata.name} created ${p.metadata.creationTimestamp} on ${p.spec.nodeName}: claim ${claim} ${pvc?.status?.phase ?? 'missing'} to ${pvc?.spec?.volumeName}`,
    );
  }
  const names =
    pods.map((p) => p.metadata.name).join(',') === ordinals.map((o) => `${t.name}-${o}`).join(',');
  return {
    name: `pods start in parallel as ${t.name}-0..${replicas - 1}, each on its own claim`,
    pass: start.allCreatedBeforeReady && start.created.length === replicas && names && claimsOk,
    saw,
  };
}

/** A change of the pod template replaces the pods one at a time from the highest ordinal down. */
export async function checkRollingUpdate(t: Target, replicas: number): Promise<CheckResult> {
  const before = await t.api.get(stsPath(t));
  const image = `${before.spec.template.spec.containers[0].image}-verify`;
  const watch = t.watchPods((await t.api.get(`${base(t)}/pods`)).metadata.resourceVersion);
  const started = Date.now();
  await t.api.jsonPatch(stsPath(t), [
    { op: 'replace', path: '/spec/template/spec/containers/0/image', value: image },
  ]);
  let status = '';
  await waitFor(
    'the rolling update to finish (every pod on the new revision and Ready)',
    async () => {
      const s = (await t.api.get(stsPath(t))).status;
      status = `updated ${s.updatedReplicas ?? 0}/${replicas}, ready ${s.readyReplicas ?? 0}, revision ${s.currentRevision} → ${s.updateRevision}`;
      return s.updateRevision !== before.status.updateRevision &&
        s.currentRevision === s.updateRevision &&
        s.updatedReplicas === replicas &&
        s.readyReplicas === replicas
        ? true
        : undefined;
    },
    () => status,
    WAIT,
  );
  watch.close();
  const pods = await waitForPods(t, [...Array(replicas).keys()], 'the updated pods Ready');
  const order = replacementOrder(watch.events, t.name);
  const descending = [...Array(replicas).keys()].reverse().map((o) => `${t.name}-${o}`);
  const allNew = pods.every((p) => p.spec.containers[0]?.image === image);
  return {
    name: 'a rolling update replaces pods from the highest ordinal down',
    pass: order.join(',') === descending.join(',') && allNew,
    saw: [
      `image → ${image}; order of replacement: ${order.join(' → ')} (${Math.round((Date.now() - started) / 1000)} s)`,
      `every pod runs the new image: ${allNew}`,
    ],
  };
}

/** A deleted pod comes back under the same name, hostname, subdomain and claim (and the same volume). */
export async function checkDeletedPodReturns(
  t: Target,
  ordinal: number,
  serviceName: string,
): Promise<CheckResult> {
  const name = `${t.name}-${ordinal}`;
  const old: Pod = await t.api.get(`${base(t)}/pods/${name}`);
  const oldClaim = claimOf(old, t.claimTemplate);
  const oldVolume = oldClaim === undefined ? undefined : (await claims(t)).get(oldClaim)?.spec?.volumeName;
  const res = await t.api.call('DELETE', `${base(t)}/pods/${name}`);
  if (res.status !== 200) throw new Error(`deleting ${name}: HTTP ${res.status}: ${describe(res.body)}`);
  let seen = 'the old pod';
  const fresh: Pod = await waitFor(
    `${name} to come back Ready`,
    async () => {
      const r = await t.api.call('GET', `${base(t)}/pods/${name}`);
      const p = r.body as Pod;
      seen =
        r.status === 404
          ? 'no pod'
          : p.metadata.uid === old.metadata.uid
            ? 'the old pod'
            : 'a new pod, not Ready';
      return r.status === 200 && p.metadata.uid !== old.metadata.uid && isReady(p) ? p : undefined;
    },
    () => seen,
    WAIT,
  );
  const newClaim = claimOf(fresh, t.claimTemplate);
  const newVolume = newClaim === undefined ? undefined : (await claims(t)).get(newClaim)?.spec?.volumeName;
  const same =
    fresh.spec.hostname === old.spec.hostname &&
    fresh.spec.hostname === name &&
    fresh.spec.subdomain === serviceName &&
    newClaim === oldClaim &&
    newVolume === oldVolume;
  return {
    name: 'a deleted pod comes back with the same name, hostname and claim',
    pass: same,
    saw: [
      `before: uid ${old.metadata.uid.slice(0, 8)}, hostname ${old.spec.hostname}, subdomain ${old.spec.subdomain}, claim ${oldClaim} on ${oldVolume}`,
      `after:  uid ${fresh.metadata.uid.slice(0, 8)}, hostname ${fresh.spec.hostname}, subdomain ${fresh.spec.subdomain}, claim ${newClaim} on ${newVolume}`,
      `DNS name ${fresh.spec.hostname}.${fresh.spec.subdomain}.${t.namespace}.svc (the subdomain is the headless service ${serviceName})`,
    ],
  };
}

/** Evicts through the Eviction API; the HTTP status and the server's message. */
async function evict(t: Target, pod: string): Promise<{ status: number; message: string }> {
  const res = await t.api.call('POST', `${base(t)}/pods/${pod}/eviction`, {
    apiVersion: 'policy/v1',
    kind: 'Eviction',
    metadata: { name: pod, namespace: t.namespace },
  });
  // The server answers 201 (or 200) with a Status when it evicts, 429 when a budget forbids it.
  const status = res.status === 200 ? 201 : res.status;
  return { status, message: status === 201 ? 'evicted' : describe(res.body) };
}

/**
 * With one pod evicted and not yet back, the budget refuses a second eviction; once the first is back and Ready,
 * the same second eviction goes through (the refusal was the budget's).
 */
export async function checkDisruptionBudget(
  t: Target,
  pdbName: string,
  replicas: number,
): Promise<CheckResult> {
  const pdbPath = `/apis/policy/v1/namespaces/${t.namespace}/poddisruptionbudgets/${pdbName}`;
  let pdbSeen = '';
  const settled = () =>
    waitFor(
      `the budget ${pdbName} to allow exactly one disruption with ${replicas} healthy pods`,
      async () => {
        const pdb = await t.api.get(pdbPath);
        const s = pdb.status ?? {};
        pdbSeen = `healthy ${s.currentHealthy}, allowed ${s.disruptionsAllowed}, observed generation ${s.observedGeneration}/${pdb.metadata.generation}`;
        return s.observedGeneration === pdb.metadata.generation &&
          s.currentHealthy === replicas &&
          s.disruptionsAllowed === 1
          ? true
          : undefined;
      },
      () => pdbSeen,
      WAIT,
    );
  await waitForPods(t, [...Array(replicas).keys()], `${replicas} pods Ready before evicting`);
  await settled();
  const saw = [`budget before: ${pdbSeen}`];
  const first = `${t.name}-0`;
  const second = `${t.name}-${replicas - 1}`;
  const firstUid = (await t.api.get(`${base(t)}/pods/${first}`)).metadata.uid;
  const e1 = await evict(t, first);
  const e2 = await evict(t, second);
  const firstNow = await t.api.call('GET', `${base(t)}/pods/${first}`);
  const firstState =
    firstNow.status === 404
      ? 'gone'
      : (firstNow.body as Pod).metadata.uid === firstUid
        ? 'terminating'
        : isReady(firstNow.body as Pod)
          ? 'back and Ready'
          : 'recreated, not Ready';
  saw.push(
    `evict ${first}: HTTP ${e1.status} ${e1.message}`,
    `evict ${second} while ${first} is ${firstState}: HTTP ${e2.status} ${e2.message}`,
  );
  await waitForPods(t, [...Array(replicas).keys()], `${first} back and every pod Ready`);
  await settled();
  const e3 = await evict(t, second);
  saw.push(`evict ${second} again once ${first} is back: HTTP ${e3.status} ${e3.message}`);
  await waitFor(
    `${second} to come back after its eviction`,
    async () => {
      const pods = await setPods(t);
      return pods.length === replicas &&
        pods.every((p) => isReady(p) && p.metadata.deletionTimestamp === undefined) &&
        pods.find((p) => p.metadata.name === second)?.metadata.creationTimestamp !== undefined &&
        (await t.api.get(pdbPath)).status?.currentHealthy === replicas
        ? true
        : undefined;
    },
    () => pdbSeen,
    WAIT,
  );
  return {
    name: 'the PodDisruptionBudget refuses a second eviction while one pod is disrupted',
    pass: e1.status === 201 && e2.status === 429 && firstState !== 'back and Ready' && e3.status === 201,
    saw,
  };
}

/** Scaling up, down and up again keeps the removed ordinals' claims and gives them back to the same ordinals. */
export async function checkScaling(t: Target, steps: number[]): Promise<CheckResult> {
  const saw: string[] = [];
  const uids = new Map<string, string>();
  const from = (await t.api.get(stsPath(t))).spec.replicas as number;
  let pass = true;
  for (const replicas of steps) {
    await t.api.mergePatch(stsPath(t), { spec: { replicas } });
    const ordinals = [...Array(replicas).keys()];
    const pods = await waitForPods(t, ordinals, `${replicas} pods Ready after scaling to ${replicas}`);
    const all = await claims(t);
    const own = [...all.keys()].filter((k) => k.startsWith(`${t.claimTemplate}-${t.name}-`)).sort();
    const notes: string[] = [];
    for (const [claim, pvc] of all) {
      const known = uids.get(claim);
      if (known === undefined) uids.set(claim, pvc.metadata.uid);
      else if (known !== pvc.metadata.uid) {
        pass = false;
        notes.push(`${claim} was replaced by a new claim`);
      }
      if (pvc.status?.phase !== 'Bound') {
        pass = false;
        notes.push(`${claim} is ${pvc.status?.phase}`);
      }
    }
    for (const p of pods) {
      if (claimOf(p, t.claimTemplate) !== `${t.claimTemplate}-${p.metadata.name}`) {
        pass = false;
        notes.push(`${p.metadata.name} mounts ${claimOf(p, t.claimTemplate)}`);
      }
    }
    // Every claim made so far is still there: none removed on scale-in.
    if (own.length !== uids.size) {
      pass = false;
      notes.push(`${uids.size - own.length} claim(s) removed`);
    }
    saw.push(
      `replicas ${replicas}: pods ${pods.map((p) => p.metadata.name.slice(t.name.length + 1)).join(',')}; claims ${own.map((c) => c.slice(-1)).join(',')} (all Bound, same uids: ${notes.length === 0})${notes.length === 0 ? '' : `: ${notes.join('; ')}`}`,
    );
  }
  return {
    name: `scaling ${[from, ...steps].join(' → ')} keeps the claims and reuses them`,
    pass,
    saw,
  };
}
