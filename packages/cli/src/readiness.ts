// Restore status of running instances: what each one's operations server answers on /readyz.

/** One instance's /readyz answer, or why there is none. */
export interface InstanceReadiness {
  instance: string;
  ready: boolean;
  state?: string;
  restoringTasks?: number;
  consumerLag?: number;
  reasons?: string[];
  error?: string;
}

/** Asks every instance's /readyz at once; an instance that does not answer within `timeoutMs` reports an error. */
export function readinessOf(instances: string[], timeoutMs: number): Promise<InstanceReadiness[]> {
  return Promise.all(instances.map((instance) => readinessOfOne(instance, timeoutMs)));
}

async function readinessOfOne(instance: string, timeoutMs: number): Promise<InstanceReadiness> {
  try {
    // 503 is an answer too: the instance is up and says why it is not ready.
    const res = await fetch(`${instance}/readyz`, { signal: AbortSignal.timeout(timeoutMs) });
    const body = (await res.json()) as Partial<InstanceReadiness>;
    return {
      instance,
      ready: res.status === 200 && body.ready === true,
      ...(typeof body.state === 'string' ? { state: body.state } : {}),
      ...(typeof body.restoringTasks === 'number' ? { restoringTasks: body.restoringTasks } : {}),
      ...(typeof body.consumerLag === 'number' ? { consumerLag: body.consumerLag } : {}),
      ...(Array.isArray(body.reasons) ? { reasons: body.reasons.map(String) } : {}),
    };
  } catch (err) {
    return { instance, ready: false, error: err instanceof Error ? err.message : String(err) };
  }
}
