// A KEDA-style autoscaler for the simulated StatefulSet: KEDA's Kafka-scaler arithmetic, the HPA's tolerance and
// stabilization windows, and the control loop that reads a lag signal every poll and applies the decision.

export interface ScalerSpec {
  /** Records of lag per replica (KEDA's `lagThreshold`, the HPA's average-value target). */
  lagThreshold: number;
  /** Partitions the group reads: KEDA caps the total lag at partitions × lagThreshold. */
  partitions: number;
  minReplicas: number;
  maxReplicas: number;
  /** The HPA's tolerance: no change while total / (threshold × current) is within 1 ± this (0.1 by default). */
  tolerance?: number;
}

/** The metric KEDA reports for a total lag: capped at partitions × lagThreshold (`allowIdleConsumers` off). */
export function kedaMetric(totalLag: number, spec: ScalerSpec): number {
  return Math.min(totalLag, spec.partitions * spec.lagThreshold);
}

/**
 * The HPA's raw recommendation for an average-value target: the current size while the usage ratio is within the
 * tolerance, else ceil(metric / threshold). Not yet stabilized nor bounded.
 */
export function recommend(metric: number, current: number, spec: ScalerSpec): number {
  const ratio = metric / (spec.lagThreshold * Math.max(1, current));
  if (Math.abs(ratio - 1) <= (spec.tolerance ?? 0.1)) return current;
  return Math.ceil(metric / spec.lagThreshold);
}

/**
 * The HPA's stabilization: of the recommendations kept, a scale-up goes only as far as the lowest one in the up
 * window (the need held that long), a scale-down only as far as the highest one in the down window (it stayed low
 * that long).
 */
export class Stabilizer {
  private readonly kept: { at: number; value: number }[] = [];

  constructor(
    private readonly upWindowMs: number,
    private readonly downWindowMs: number,
  ) {}

  next(recommendation: number, current: number, now: number): number {
    this.kept.push({ at: now, value: recommendation });
    const horizon = now - Math.max(this.upWindowMs, this.downWindowMs);
    while (this.kept.length > 0 && this.kept[0]!.at < horizon) this.kept.shift();
    let up = Number.POSITIVE_INFINITY;
    let down = Number.NEGATIVE_INFINITY;
    for (const r of this.kept) {
      if (r.at >= now - this.upWindowMs) up = Math.min(up, r.value);
      if (r.at >= now - this.downWindowMs) down = Math.max(down, r.value);
    }
    let replicas = current;
    if (replicas < up) replicas = up;
    if (replicas > down) replicas = down;
    return replicas;
  }
}

/** One poll of the loop: what was read and decided. `lag` undefined: the signal could not be read (a hold). */
export interface Poll {
  at: number;
  lag: number | undefined;
  replicas: number;
}

export interface AutoscalerOptions {
  spec: ScalerSpec;
  /** The total lag, or undefined when it cannot be read (the loop then holds the current size). */
  signal(): Promise<number | undefined>;
  /** The replicas the set has now. */
  current(): number;
  /** Brings the set to `replicas`; the next poll waits for it. */
  scale(replicas: number): Promise<void>;
  pollIntervalMs: number;
  upWindowMs: number;
  downWindowMs: number;
}

/** The control loop: started once, stopped by an idempotent close() that waits for the poll under way. */
export class Autoscaler {
  readonly polls: Poll[] = [];
  private running = true;
  private readonly loop: Promise<void>;
  private readonly stabilizer: Stabilizer;
  private failure: unknown;

  constructor(private readonly options: AutoscalerOptions) {
    this.stabilizer = new Stabilizer(options.upWindowMs, options.downWindowMs);
    this.loop = this.run();
  }

  /** Polls where the signal could not be read. */
  get holds(): number {
    return this.polls.filter((p) => p.lag === undefined).length;
  }

  /** The error that ended the loop (a failed scale), if one did. */
  get error(): unknown {
    return this.failure;
  }

  async close(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  private async run(): Promise<void> {
    const { spec, pollIntervalMs } = this.options;
    while (this.running) {
      const started = Date.now();
      const lag = await this.options.signal().catch(() => undefined);
      const current = this.options.current();
      const readable = lag !== undefined && Number.isFinite(lag);
      // An unreadable signal recommends the current size, as KEDA's fallback with `behavior: currentReplicas` has
      // the HPA do: nothing changes, and the scale-down window counts from the last poll that could not tell.
      const recommendation = readable ? recommend(kedaMetric(lag, spec), current, spec) : current;
      const stabilized = this.stabilizer.next(recommendation, current, started);
      const replicas = Math.min(spec.maxReplicas, Math.max(spec.minReplicas, stabilized));
      this.polls.push({
        at: started,
        lag: readable ? lag : undefined,
        replicas,
      });
      if (replicas !== current) {
        try {
          await this.options.scale(replicas);
        } catch (err) {
          this.failure = err;
          this.running = false;
          return;
        }
      }
      const rest = pollIntervalMs - (Date.now() - started);
      if (rest > 0 && this.running) await new Promise((r) => setTimeout(r, rest));
    }
  }
}
