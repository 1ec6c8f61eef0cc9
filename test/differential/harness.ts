// Runs differential scenarios against the broker: creates each scenario's topics, produces its generated input,
// runs every Kafka Streams topology in one JVM and the Eddy topologies in this process side by side, waits until
// both sides have consumed everything, and reads both outputs.
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { type Logger, StreamsApp, StreamsBuilder } from '@eddy/streams';
import type { Admin, ITopicConfig, Kafka } from 'kafkajs';
import { repoRoot } from '../support/processes.js';
import { type Side, waitCaughtUp } from './caught-up.js';
import { flushRecords, type InputRecord, partitionOf, seededRng } from './inputs.js';
import { build as buildKStreams } from './kstreams.mjs';
import { KStreamsProcess } from './kstreams-process.js';
import { type OutputRecord, readTopics } from './outputs.js';
import type { Scenario, ScenarioTopics } from './scenarios.js';

export interface ScenarioResult {
  /** Kafka Streams' output, per partition in offset order. */
  kstreams: OutputRecord[];
  /** Eddy's output; undefined when the scenario ran on Kafka Streams only. */
  eddy: OutputRecord[] | undefined;
  /** The input as produced (absolute timestamps), by role. */
  input: Record<string, InputRecord[]>;
}

export interface DifferentialOptions {
  kafka: Kafka;
  brokers: string[];
  /** Scenarios whose Eddy topology does not run (Kafka Streams only): pending ones, or on request. */
  kstreamsOnly?: (scenario: Scenario) => boolean;
  log?: (message: string) => void;
  /** How long a side may take to consume its input once started. */
  timeoutMs?: number;
  /** Multiplies the number of generated records (default 1). */
  scale?: number;
}

/** Names of one run of a scenario. */
interface Planned {
  scenario: Scenario;
  input: Record<string, InputRecord[]>;
  inputTopics: Record<string, string>;
  kstreams: Side;
  eddy: Side | undefined;
}

/**
 * Event time 0 of the generated input: two hours ago on a whole hour (the broker refuses records more than an hour
 * ahead of its clock, and deletes those older than its retention).
 */
function baseTime(): number {
  const hour = 3_600_000;
  return Math.floor(Date.now() / hour) * hour - 2 * hour;
}

/** Keeps the `keep` newest run directories under `root` (each holds a JVM log and the outputs). */
function pruneOldRuns(root: string, keep: number): void {
  if (!existsSync(root)) return;
  const runs = readdirSync(root)
    .map((name) => join(root, name))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  for (const old of runs.slice(keep)) rmSync(old, { recursive: true, force: true });
}

const quiet = (): Logger => ({ debug() {}, info() {}, warn() {}, error() {} });

/**
 * One differential run of a set of scenarios. `start()` sets everything up and starts both sides; `result(name)`
 * resolves once that scenario's sides have both caught up (each scenario on its own); `close()` stops everything
 * and deletes the run's topics.
 */
export class DifferentialRun {
  private readonly planned: Planned[];
  private readonly runId = `diff-${Date.now().toString(36)}${Math.floor(Math.random() * 1e4).toString(36)}`;
  private readonly dir = join(repoRoot, '.tmp', 'differential', this.runId);
  private readonly log: (message: string) => void;
  private admin: Admin | undefined;
  private jvm: KStreamsProcess | undefined;
  private readonly apps = new Map<string, StreamsApp>();
  private readonly results = new Map<string, Promise<ScenarioResult>>();
  private closing: Promise<void> | undefined;

  constructor(
    scenarios: Scenario[],
    private readonly options: DifferentialOptions,
  ) {
    this.log = options.log ?? ((m) => process.stderr.write(`[differential] ${m}\n`));
    const base = baseTime();
    this.planned = scenarios.map((scenario) => {
      const prefix = `${this.runId}-${scenario.name}`;
      const generated = scenario.generate(seededRng(scenario.name), options.scale ?? 1);
      const last = Math.max(
        0,
        ...Object.values(generated).flatMap((records) => records.map((r) => r.timestamp)),
      );
      const input = Object.fromEntries(
        scenario.inputs.map(({ role, partitions, flushValue }, i) => [
          role,
          [...(generated[role] ?? []), ...flushRecords(i, partitions, flushValue, last)].map((r) => ({
            ...r,
            timestamp: base + r.timestamp,
          })),
        ]),
      );
      const inputTopics = Object.fromEntries(scenario.inputs.map(({ role }) => [role, `${prefix}-${role}`]));
      const side = (name: string): Side => ({
        label: `${scenario.name} (${name})`,
        groupId: `${prefix}-${name}-app`,
        inputs: Object.values(inputTopics),
        output: `${prefix}-${name}-out`,
      });
      const eddyRuns = scenario.eddy !== undefined && !options.kstreamsOnly?.(scenario);
      return {
        scenario,
        input,
        inputTopics,
        kstreams: side('kstreams'),
        eddy: eddyRuns ? side('eddy') : undefined,
      };
    });
  }

  /** Builds the Kafka Streams application, creates and fills the topics, starts both sides. */
  async start(): Promise<void> {
    pruneOldRuns(dirname(this.dir), 4);
    mkdirSync(this.dir, { recursive: true });
    this.log(`building the Kafka Streams application (test/differential/kstreams.mjs build) ...`);
    buildKStreams();
    this.admin = this.options.kafka.admin();
    await this.admin.connect();

    const topics: ITopicConfig[] = this.planned.flatMap((p) => [
      ...p.scenario.inputs.map(({ role, partitions }) => ({
        topic: p.inputTopics[role]!,
        numPartitions: partitions,
      })),
      { topic: p.kstreams.output, numPartitions: 1 },
      ...(p.eddy ? [{ topic: p.eddy.output, numPartitions: 1 }] : []),
    ]);
    this.log(`run ${this.runId}: creating ${topics.length} topics for ${this.planned.length} scenarios`);
    await this.admin.createTopics({ topics, waitForLeaders: true });
    await this.produce();

    const logFile = join(this.dir, 'kstreams.log');
    this.log(`starting ${this.planned.length} Kafka Streams instances in one JVM (log: ${logFile})`);
    this.jvm = new KStreamsProcess(
      this.options.brokers.join(','),
      join(this.dir, 'kstreams-state'),
      this.planned.map((p) => ({
        scenario: p.scenario.name,
        applicationId: p.kstreams.groupId,
        output: p.kstreams.output,
        inputs: p.scenario.inputs.map(({ role }) => p.inputTopics[role]!),
      })),
      logFile,
    );
    for (const p of this.planned) this.results.set(p.scenario.name, this.runScenario(p));
    // Each result is awaited by its test; a failure must not also surface as an unhandled rejection here.
    for (const r of this.results.values()) r.catch(() => {});
  }

  /** The outputs of scenario `name` once both sides caught up. */
  result(name: string): Promise<ScenarioResult> {
    const r = this.results.get(name);
    if (!r) throw new Error(`scenario ${name} is not part of this run`);
    return r;
  }

  /** Stops both sides, deletes the run's topics and state. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async produce(): Promise<void> {
    const producer = this.options.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    try {
      let count = 0;
      for (const p of this.planned) {
        for (const { role, partitions } of p.scenario.inputs) {
          const records = p.input[role]!;
          count += records.length;
          await producer.send({
            topic: p.inputTopics[role]!,
            messages: records.map((r) => ({
              key: r.key,
              value: r.value,
              timestamp: String(r.timestamp),
              partition: partitionOf(r.key, partitions),
            })),
          });
        }
      }
      this.log(`produced ${count} input records`);
    } finally {
      await producer.disconnect();
    }
  }

  /** Waits for the scenario's Kafka Streams instance to report RUNNING. */
  private async kstreamsRunning(p: Planned, timeoutMs = 120_000): Promise<void> {
    const started = Date.now();
    let reported = started;
    while (!this.jvm!.isRunning(p.kstreams.groupId)) {
      if (Date.now() - started > timeoutMs)
        throw new Error(`${p.kstreams.label} did not reach RUNNING within ${timeoutMs} ms`);
      if (Date.now() - reported > 10_000) {
        reported = Date.now();
        this.log(`${p.kstreams.label}: waiting for the instance to reach RUNNING`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  private async runScenario(p: Planned): Promise<ScenarioResult> {
    const jvm = this.jvm!;
    const admin = this.admin!;
    const sides: Promise<unknown>[] = [
      this.kstreamsRunning(p).then(() =>
        waitCaughtUp(admin, p.kstreams, {
          log: this.log,
          timeoutMs: this.options.timeoutMs,
          check: () => jvm.check(p.kstreams.groupId),
        }),
      ),
    ];
    if (p.eddy) {
      const eddy = p.eddy;
      const builder = new StreamsBuilder();
      const topics: ScenarioTopics = { inputs: p.inputTopics, output: eddy.output };
      p.scenario.eddy!(builder, topics);
      const app = new StreamsApp(builder.build(), {
        applicationId: eddy.groupId,
        brokers: this.options.brokers,
        stateDir: join(this.dir, 'eddy-state', p.scenario.name),
        commitIntervalMs: 100,
        logger: quiet(),
      });
      this.apps.set(p.scenario.name, app);
      sides.push(
        app.start().then(() =>
          waitCaughtUp(admin, eddy, {
            log: this.log,
            timeoutMs: this.options.timeoutMs,
            check: () => {
              if (app.state === 'ERROR') throw new Error(`the Eddy app failed: ${app.error?.message}`);
            },
          }),
        ),
      );
    }
    await Promise.all(sides);
    this.log(`${p.scenario.name}: both sides caught up; reading outputs`);
    const outputs = await readTopics(this.options.kafka, [
      p.kstreams.output,
      ...(p.eddy ? [p.eddy.output] : []),
    ]);
    const result = {
      kstreams: outputs.get(p.kstreams.output)!,
      eddy: p.eddy ? outputs.get(p.eddy.output)! : undefined,
      input: p.input,
    };
    // Kept for a look at a difference (or, for a pending Eddy topology, at the answers it must give).
    writeFileSync(join(this.dir, `${p.scenario.name}.json`), JSON.stringify(result, null, 1));
    return result;
  }

  private async shutdown(): Promise<void> {
    await Promise.all([
      ...[...this.apps.values()].map((a) => a.close().catch(() => {})),
      this.jvm?.close().then((code) => {
        if (code !== 0)
          this.log(`the Kafka Streams JVM exited with ${code}; see ${join(this.dir, 'kstreams.log')}`);
      }),
    ]);
    if (this.admin) {
      try {
        const mine = (await this.admin.listTopics()).filter((t) => t.startsWith(`${this.runId}-`));
        if (mine.length > 0) await this.admin.deleteTopics({ topics: mine });
      } catch (err) {
        this.log(`could not delete the run's topics: ${String(err)}`);
      }
      await this.admin.disconnect();
    }
    rmSync(join(this.dir, 'kstreams-state'), { recursive: true, force: true });
    rmSync(join(this.dir, 'eddy-state'), { recursive: true, force: true });
  }
}
