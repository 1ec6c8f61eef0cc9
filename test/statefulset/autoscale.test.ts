// The "Scale" deployment pattern: a KEDA-style autoscaler loop (autoscaler.ts) scales the simulated StatefulSet up
// under a burst of input and back down once it drains, removing the highest ordinals first (they leave the group on
// SIGTERM). Run once on KEDA's own signal (committed-offset lag) and once on the pods' effective lag; counts stay
// exact in both, and each run prints its replica timeline and the rebalances it caused.
import { describe, expect, it } from 'vitest';
import { freePort } from '../support/http.js';
import { testProducer, waitFor, withAdmin } from '../support/kafka.js';
import { type AppProcess, appProcesses } from '../support/processes.js';
import { Autoscaler, kedaMetric, recommend, type ScalerSpec, Stabilizer } from './autoscaler.js';
import { assignments, expectExactCounts, type Harness, statefulSet, TASKS, waitSettled } from './harness.js';
import { effectiveLag, kafkaLag } from './lag-signals.js';

const apps = appProcesses();

const spec: ScalerSpec = { lagThreshold: 5_000, partitions: TASKS, minReplicas: 1, maxReplicas: 3 };
/**
 * Records of the burst at least; past that, the burst goes on until the set scaled up (or `BURST_MAX`). A fixed burst
 * made the test depend on the machine's speed: an idle machine drained 60,000 in 2.9 s, 200,000 in 5.6–6.5 s, and on
 * a faster day one pod drained 400,000 before the effective-lag run's up window (3 s) had held, so nothing scaled —
 * rightly, for a burst that drains within the window. Input that keeps coming while one pod runs keeps its lag up
 * however fast the machine is: the producer sends 1-byte values in batches of 10,000, which one pod that counts,
 * writes its output and logs its changes does not keep up with.
 */
const BURST = 400_000;
const BURST_MAX = 4_000_000;
const SESSION_TIMEOUT_MS = 30_000;

describe('the autoscaler arithmetic', () => {
  it('caps the lag at partitions × lagThreshold and asks for ceil(lag / threshold) outside the 10 % tolerance', () => {
    const spec: ScalerSpec = { lagThreshold: 10_000, partitions: 6, minReplicas: 1, maxReplicas: 3 };
    expect(kedaMetric(1_000_000, spec)).toBe(60_000);
    expect(kedaMetric(25_000, spec)).toBe(25_000);
    expect(recommend(25_000, 1, spec)).toBe(3);
    // 10,500 per replica is within 10 % of the target: no change.
    expect(recommend(21_000, 2, spec)).toBe(2);
    expect(recommend(23_000, 2, spec)).toBe(3);
    expect(recommend(500, 3, spec)).toBe(1);
  });

  it('scales up only as far as the up window held, down only once the down window was low', () => {
    const s = new Stabilizer(2_000, 10_000);
    expect(s.next(1, 1, 0)).toBe(1);
    expect(s.next(3, 1, 1_000)).toBe(1); // 1 is still in the up window
    expect(s.next(3, 1, 3_500)).toBe(3);
    expect(s.next(1, 3, 4_000)).toBe(3); // 3 is in the down window
    expect(s.next(1, 3, 13_000)).toBe(3);
    expect(s.next(1, 3, 14_000)).toBe(1);
  });

  it('holds the size while the signal cannot be read; the down window counts from the last unreadable poll', async () => {
    const readings = [30_000, ...Array<undefined>(5).fill(undefined), ...Array<number>(500).fill(0)];
    let replicas = 1;
    let lastHoldAt = 0;
    const scaled: { at: number; to: number }[] = [];
    const scaler = new Autoscaler({
      spec: { lagThreshold: 10_000, partitions: 6, minReplicas: 1, maxReplicas: 3 },
      signal: async () => {
        const lag = readings.shift();
        if (lag === undefined) lastHoldAt = Date.now();
        return lag;
      },
      current: () => replicas,
      scale: async (to) => {
        scaled.push({ at: Date.now(), to });
        replicas = to;
      },
      pollIntervalMs: 10,
      upWindowMs: 0,
      downWindowMs: 300,
    });
    try {
      await waitFor(() => replicas === 1 && scaled.length === 2, {
        timeoutMs: 10_000,
        what: 'up to 3, then 1',
      });
    } finally {
      await scaler.close();
    }
    expect(scaled.map((s) => s.to)).toEqual([3, 1]);
    expect(scaler.holds).toBe(5);
    expect(scaled[1]!.at - lastHoldAt).toBeGreaterThanOrEqual(300);
  });
});

/** The set as the autoscaler sees it: pods app-0 … app-N-1 running, each ordinal with its own volume and port. */
class ScaledSet {
  readonly running: AppProcess[];
  /** Every pod started, for their events after they stopped. */
  readonly started: AppProcess[];
  readonly timeline: { at: number; replicas: number }[] = [];
  /** Per scale-down, the ordinals in the order their pods exited. */
  readonly removals: number[][] = [];
  lastScaleDownAt = 0;
  private readonly ports: number[];
  private readonly dirs: string[] = [];

  constructor(
    private readonly sts: Harness,
    port0: number,
  ) {
    this.running = [sts.pods[0]!];
    this.started = [sts.pods[0]!];
    this.ports = [port0];
    this.timeline.push({ at: Date.now(), replicas: 1 });
  }

  get replicas(): number {
    return this.running.length;
  }

  portsOfRunning(): number[] {
    return this.ports.slice(0, this.running.length);
  }

  /**
   * Up: starts the missing ordinals at once (`Parallel`). Down: SIGTERM to the highest ordinal, waiting for its exit
   * (which must be 0) before the next, so that the order pods leave in is the order observed.
   */
  async scale(replicas: number): Promise<void> {
    while (this.running.length < replicas) {
      const ordinal = this.running.length;
      this.ports[ordinal] ??= await freePort();
      this.dirs[ordinal] ??= apps.stateDir();
      const pod = this.sts.start(ordinal, this.dirs[ordinal], { HTTP_PORT: String(this.ports[ordinal]) });
      this.running.push(pod);
      this.started.push(pod);
    }
    const exited: number[] = [];
    if (this.running.length > replicas) {
      this.lastScaleDownAt = Date.now();
      this.removals.push(exited);
    }
    while (this.running.length > replicas) {
      const ordinal = this.running.length - 1;
      const pod = this.running.pop()!;
      pod.child.kill('SIGTERM');
      const code = await pod.exited;
      if (code !== 0) throw new Error(`app-${ordinal} exited with ${code}:\n${pod.output().slice(-3000)}`);
      exited.push(ordinal);
    }
    this.timeline.push({ at: Date.now(), replicas });
  }
}

/**
 * Sends at least `min` records, then more until `enough()` or `max`, in batches of 10,000; the counts sent per key and
 * the number of records.
 */
async function produceBurst(
  topic: string,
  min: number,
  max: number,
  enough: () => boolean,
): Promise<{ sent: Map<string, number>; records: number }> {
  const sent = new Map<string, number>();
  const producer = testProducer();
  await producer.connect();
  let i = 0;
  try {
    while (i < min || (i < max && !enough())) {
      const messages = Array.from({ length: 10_000 }, () => ({ key: `b${i++ % 89}`, value: 'x' }));
      await producer.send({ topic, messages });
      for (const m of messages) sent.set(m.key, (sent.get(m.key) ?? 0) + 1);
    }
  } finally {
    await producer.disconnect();
  }
  return { sent, records: i };
}

const plus = (a: Map<string, number>, b: Map<string, number>) =>
  new Map([...new Set([...a.keys(), ...b.keys()])].map((k) => [k, (a.get(k) ?? 0) + (b.get(k) ?? 0)]));

async function committedAll(groupId: string, topic: string, ends: Map<number, number>): Promise<boolean> {
  const [c] = await withAdmin((a) => a.fetchOffsets({ groupId, topics: [topic] }));
  return c!.partitions.every((p) => Number(p.offset) >= (ends.get(p.partition) ?? 0));
}

/**
 * One run: one pod, a burst, the loop scaling on `driver` until the burst drained and the set is back to one pod.
 * The other signal is read alongside at each poll, for comparison only.
 */
async function scaleRun(driver: 'kafka' | 'effective'): Promise<void> {
  const port0 = await freePort();
  const sts = await statefulSet(apps, {
    pods: 1,
    env: {
      LEAVE_GROUP_ON_SHUTDOWN: 'true',
      HTTP_PORT: String(port0),
      SESSION_TIMEOUT_MS: String(SESSION_TIMEOUT_MS),
    },
  });
  const set = new ScaledSet(sts, port0);
  const settledGeneration = sts.before[0]!.generation;
  const signals = {
    kafka: kafkaLag(sts.applicationId, [sts.input]),
    effective: effectiveLag(() => set.portsOfRunning()),
  };
  const signal = signals[driver];
  const other = signals[driver === 'kafka' ? 'effective' : 'kafka'];
  const readings: { at: number; driving: number | undefined; other: number | undefined }[] = [];
  const scaler = new Autoscaler({
    spec,
    signal: async () => {
      const at = Date.now();
      const [driving, alongside] = await Promise.all([signal.read(), other.read()]);
      readings.push({ at, driving, other: alongside });
      return driving;
    },
    current: () => set.replicas,
    scale: (n) => set.scale(n),
    pollIntervalMs: 1_000,
    upWindowMs: 3_000,
    downWindowMs: 10_000,
  });
  const maxReplicas = () => Math.max(...set.timeline.map((t) => t.replicas));
  try {
    const burstAt = Date.now();
    const { sent: burst, records: burstRecords } = await produceBurst(
      sts.input,
      BURST,
      BURST_MAX,
      () => maxReplicas() > 1,
    );
    const sentSeconds = (Date.now() - burstAt) / 1000;
    const ends = new Map(
      (await withAdmin((a) => a.fetchTopicOffsets(sts.input))).map((o) => [o.partition, Number(o.high)]),
    );
    await waitFor(() => scaler.error ?? committedAll(sts.applicationId, sts.input, ends), {
      timeoutMs: 240_000,
      intervalMs: 500,
      what: 'the group to commit the whole burst',
    });
    const drainSeconds = (Date.now() - burstAt) / 1000;
    await waitFor(() => scaler.error ?? (maxReplicas() > 1 && set.replicas === 1), {
      timeoutMs: 120_000,
      what: 'the autoscaler to scale up and back down to one pod',
    }).catch((err: Error) => {
      const last = readings
        .slice(-8)
        .map((r) => `${((r.at - burstAt) / 1000).toFixed(0)}s:${r.driving ?? '?'}/${r.other ?? '?'}`);
      throw new Error(
        `${err.message}; replicas ${set.replicas}, max ${maxReplicas()}; last readings (this signal/the other) ` +
          `${last.join(' ')}; unreadable: ${JSON.stringify(Object.fromEntries(signal.unreadable))}`,
      );
    });
    await scaler.close();
    expect(scaler.error).toBeUndefined();
    // The leaving pods left the group: app-0 takes every task back well before their session would have expired.
    await waitSettled(
      [set.running[0]!],
      'app-0 to hold every task again',
      undefined,
      SESSION_TIMEOUT_MS - 5_000,
    );
    expect(Date.now() - set.lastScaleDownAt).toBeLessThan(SESSION_TIMEOUT_MS);

    const generations = new Set(
      set.started
        .flatMap((p) => assignments(p).map((a) => a.generation))
        .filter((g) => g > settledGeneration),
    );
    const timeline = set.timeline
      .map((t, i) => `${t.replicas}@${i === 0 ? 'start' : `${((t.at - burstAt) / 1000).toFixed(1)}s`}`)
      .join(' → ');
    const peak = (of: 'driving' | 'other') => Math.max(...readings.map((r) => r[of] ?? 0));
    const why = [...signal.unreadable].map(([reason, n]) => `${n}× ${reason}`).join(', ');
    const name = driver === 'kafka' ? 'kafka lag (KEDA)' : 'effective lag (/metrics)';
    const series = readings
      .filter((_, i) => i % 4 === 0)
      .map((r) => `${((r.at - burstAt) / 1000).toFixed(0)}s:${r.driving ?? '?'}/${r.other ?? '?'}`)
      .join(' ');
    console.log(
      `[autoscale] ${name}: replicas ${timeline}; max ${maxReplicas()}; rebalances (generations seen) ${generations.size}; ` +
        `burst of ${burstRecords} sent in ${sentSeconds.toFixed(1)} s, drained in ${drainSeconds.toFixed(1)} s; removed ${set.removals.map((r) => r.map((o) => `app-${o}`).join(', ')).join(' / ')}; ` +
        `peak lag read ${peak('driving')} (the other signal: ${peak('other')}); ${scaler.polls.length} polls, ` +
        `${scaler.holds} held${why ? ` (${why})` : ''}\n[autoscale] ${name}: lag every 4th poll, this signal/the other: ${series}`,
    );

    expect(maxReplicas()).toBeGreaterThan(1);
    expect(maxReplicas()).toBeLessThanOrEqual(Math.min(spec.maxReplicas, TASKS));
    expect(set.replicas).toBe(1);
    // Highest ordinals first: each scale-down's pods exited in descending order, the last one down to app-1, and
    // every ordinal above 0 went.
    for (const step of set.removals) expect(step).toEqual([...step].sort((a, b) => b - a));
    expect(set.removals.at(-1)?.at(-1)).toBe(1);
    expect(new Set(set.removals.flat())).toEqual(
      new Set(Array.from({ length: maxReplicas() - 1 }, (_, i) => i + 1)),
    );
    await expectExactCounts({ ...sts, pods: set.running, expected: () => plus(sts.expected(), burst) });
  } finally {
    await scaler.close();
    await signals.kafka.close();
    await signals.effective.close();
    await sts.stop().catch(() => undefined);
  }
}

describe('scale: autoscaler loop on the simulated StatefulSet', () => {
  it("KEDA's signal: log end − committed offset per partition of the group", async () => {
    await scaleRun('kafka');
  }, 480_000);

  it("the pods' eddy_effective_lag_records, summed over /metrics (an unreadable pod holds the decision)", async () => {
    await scaleRun('effective');
  }, 480_000);
});
