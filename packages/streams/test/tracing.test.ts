// Tracing through the test driver: W3C trace context read from input headers, a process span per record with the
// messaging attributes, and the span's context in every output record (across a repartition hop too).
import {
  type Processor,
  type ProcessorContext,
  Serdes,
  StreamsBuilder,
  type StreamsConfig,
  StreamsError,
  Topology,
  type TracingOptions,
} from '@eddy/streams';
import { resolveConfig } from '@eddy/streams/internals';
import { context, propagation } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BasicTracerProvider,
  InMemorySpanExporter,
  ParentBasedSampler,
  type ReadableSpan,
  type Sampler,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TopologyTestDriver } from '../../test-utils/src/index.js';

const s = Serdes.string();
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT_ID = '00f067aa0ba902b7';
const traceparent = (flags = '01') => Buffer.from(`00-${TRACE_ID}-${PARENT_ID}-${flags}`);

/** The trace id, parent (span) id and flags of a `traceparent` header. */
function parse(header: Buffer | undefined): { traceId: string; spanId: string; flags: string } {
  expect(header).toBeDefined();
  const [, traceId, spanId, flags] = header!.toString().split('-');
  return { traceId: traceId!, spanId: spanId!, flags: flags! };
}

function sdk(sampler: Sampler = new ParentBasedSampler({ root: new AlwaysOnSampler() })) {
  const exporter = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({
    sampler,
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const tracing: TracingOptions = { tracerProvider, propagator: new W3CTraceContextPropagator() };
  return { exporter, tracing, spans: () => exporter.getFinishedSpans() };
}

const mapValuesTopology = () => {
  const b = new StreamsBuilder();
  b.stream('in', { keySerde: s, valueSerde: s })
    .mapValues((v) => v!.toUpperCase())
    .to('out', { keySerde: s, valueSerde: s });
  return b.build();
};

/** Rekeys by value, through a repartition topic, into a count (a cached table: its output goes out at the flush). */
const rekeyCountTopology = () => {
  const b = new StreamsBuilder();
  b.stream('orders', { keySerde: s, valueSerde: s })
    .groupBy((_, customer) => customer, { name: 'by-customer', keySerde: s, valueSerde: s })
    .count({ name: 'counts' })
    .toStream()
    .mapValues((n) => String(n))
    .to('counts-out', { keySerde: s, valueSerde: s });
  return b.build();
};

function spanId(span: ReadableSpan): string {
  return span.spanContext().spanId;
}

describe('tracing through the test driver', () => {
  beforeAll(() => {
    // Processors that start spans of their own find the process span as the active one.
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  });
  afterAll(() => {
    context.disable();
  });

  it('continues the input trace: the process span is a child of the producer, the output a child of the span', async () => {
    const { tracing, spans } = sdk();
    await using driver = new TopologyTestDriver(mapValuesTopology(), { tracing, applicationId: 'traced' });
    driver.createInputTopic('in', s, s).pipeInput('k', 'v', 5, {
      traceparent: traceparent(),
      tracestate: Buffer.from('vendor=1'),
      other: Buffer.from('x'),
    });
    const out = driver.createOutputTopic('out', s, s).readRecord();
    expect(out.value).toBe('V');
    const [span] = spans();
    expect(spans()).toHaveLength(1);
    expect(span!.name).toBe('process in');
    expect(span!.kind).toBe(4); // CONSUMER
    expect(span!.spanContext().traceId).toBe(TRACE_ID);
    expect(span!.parentSpanContext?.spanId).toBe(PARENT_ID);
    expect(span!.parentSpanContext?.isRemote).toBe(true);
    expect(span!.attributes).toEqual({
      'messaging.system': 'kafka',
      'messaging.operation.type': 'process',
      'messaging.operation.name': 'process',
      'messaging.destination.name': 'in',
      'messaging.destination.partition.id': '0',
      'messaging.consumer.group.name': 'traced',
      'messaging.kafka.offset': 0,
      'eddy.task.id': '0_0',
    });
    const header = parse(out.headers.traceparent);
    expect(header).toEqual({ traceId: TRACE_ID, spanId: spanId(span!), flags: '01' });
    expect(out.headers.tracestate?.toString()).toBe('vendor=1');
    expect(out.headers.other?.toString()).toBe('x');
  });

  it('starts a new trace for a record without trace context', async () => {
    const { tracing, spans } = sdk();
    await using driver = new TopologyTestDriver(mapValuesTopology(), { tracing });
    driver.createInputTopic('in', s, s).pipeInput('k', 'v');
    const out = driver.createOutputTopic('out', s, s).readRecord();
    const [span] = spans();
    expect(span!.parentSpanContext).toBeUndefined();
    expect(span!.spanContext().traceId).not.toBe(TRACE_ID);
    expect(parse(out.headers.traceparent)).toEqual({
      traceId: span!.spanContext().traceId,
      spanId: spanId(span!),
      flags: '01',
    });
  });

  it('respects sampling: no span is recorded, and the output carries the unsampled context', async () => {
    const { tracing, spans } = sdk(new ParentBasedSampler({ root: new AlwaysOffSampler() }));
    await using driver = new TopologyTestDriver(mapValuesTopology(), { tracing });
    const input = driver.createInputTopic('in', s, s);
    const output = driver.createOutputTopic('out', s, s);
    input.pipeInput('new', 'v');
    input.pipeInput('unsampled', 'v', 1, { traceparent: traceparent('00') });
    const [fresh, unsampled] = output.readRecordsToList();
    expect(spans()).toHaveLength(0);
    expect(parse(fresh!.headers.traceparent).flags).toBe('00');
    expect(parse(unsampled!.headers.traceparent)).toMatchObject({ traceId: TRACE_ID, flags: '00' });
    expect(parse(unsampled!.headers.traceparent).spanId).not.toBe(PARENT_ID);
  });

  it('runs one trace across a repartition topic, into output a cached table forwards at the flush', async () => {
    const { tracing, spans } = sdk();
    await using driver = await TopologyTestDriver.create(rekeyCountTopology(), {
      tracing,
      applicationId: 'app',
    });
    driver.createInputTopic('orders', s, s).pipeInput('order-1', 'alice', 1, { traceparent: traceparent() });
    const out = driver.createOutputTopic('counts-out', s, s).readRecord();
    expect([out.key, out.value]).toEqual(['alice', '1']);
    const [first, second] = spans();
    expect(spans()).toHaveLength(2);
    expect(first!.name).toBe('process orders');
    expect(second!.name).toBe('process app-by-customer-repartition');
    expect(second!.attributes['messaging.destination.name']).toBe('app-by-customer-repartition');
    expect(first!.spanContext().traceId).toBe(TRACE_ID);
    expect(second!.spanContext().traceId).toBe(TRACE_ID);
    expect(first!.parentSpanContext?.spanId).toBe(PARENT_ID);
    expect(second!.parentSpanContext?.spanId).toBe(spanId(first!));
    expect(parse(out.headers.traceparent)).toEqual({
      traceId: TRACE_ID,
      spanId: spanId(second!),
      flags: '01',
    });
  });

  it("gives output records the context of a processor's own active span, a child of the process span", async () => {
    const { tracing, spans } = sdk();
    const topology = new Topology()
      .addSource('src', { topics: ['in'], keySerde: s, valueSerde: s })
      .addProcessor(
        'enrich',
        (): Processor<string, string> => {
          let ctx: ProcessorContext<string, string>;
          return {
            init: (c) => {
              ctx = c;
            },
            process: (r) => {
              const tracer = tracing.tracerProvider!.getTracer('user');
              tracer.startActiveSpan('enrich', (span) => {
                // A new record with no headers of its own still gets the context.
                ctx.forward({ key: r.key, value: r.value, timestamp: r.timestamp, headers: {} });
                span.end();
              });
            },
          };
        },
        'src',
      )
      .addSink('sink', { topic: 'out', keySerde: s, valueSerde: s }, 'enrich');
    await using driver = new TopologyTestDriver(topology, { tracing });
    driver.createInputTopic('in', s, s).pipeInput('k', 'v', 1, { traceparent: traceparent() });
    const out = driver.createOutputTopic('out', s, s).readRecord();
    const enrich = spans().find((sp) => sp.name === 'enrich')!;
    const process = spans().find((sp) => sp.name === 'process in')!;
    expect(enrich.parentSpanContext?.spanId).toBe(spanId(process));
    expect(parse(out.headers.traceparent)).toEqual({
      traceId: TRACE_ID,
      spanId: spanId(enrich),
      flags: '01',
    });
  });

  it('marks the span of a record whose processing failed, and puts the key on spans only when asked', async () => {
    const { tracing, spans } = sdk();
    const b = new StreamsBuilder();
    b.stream('in', { keySerde: s, valueSerde: s })
      .mapValues((v) => {
        if (v === 'bad') throw new Error('cannot map');
        return v;
      })
      .to('out', { keySerde: s, valueSerde: s });
    await using driver = new TopologyTestDriver(b.build(), {
      tracing: { ...tracing, recordKey: true },
      processingErrors: 'log-and-continue',
    });
    const input = driver.createInputTopic('in', s, s);
    input.pipeInput('k1', 'bad');
    input.pipeInput('k2', null as unknown as string);
    const [failed, tombstone] = spans();
    expect(failed!.status).toEqual({ code: 2, message: expect.stringContaining('cannot map') });
    expect(failed!.events.map((e) => e.name)).toEqual(['exception']);
    expect(failed!.attributes['messaging.kafka.message.key']).toBe('k1');
    expect(tombstone!.status.code).toBe(0);
    expect(tombstone!.attributes['messaging.kafka.message.tombstone']).toBe(true);
    expect(tombstone!.attributes['messaging.kafka.offset']).toBe(1);
  });

  it('reads trace context from string header values', async () => {
    const { tracing, spans } = sdk();
    await using driver = new TopologyTestDriver(mapValuesTopology(), { tracing });
    const headers = { traceparent: traceparent().toString() } as unknown as Record<string, Buffer>;
    driver.createInputTopic('in', s, s).pipeInput('k', 'v', 1, headers);
    expect(spans()[0]!.parentSpanContext?.spanId).toBe(PARENT_ID);
  });

  it('leaves punctuator output as the punctuator wrote it (no process span runs)', async () => {
    const { tracing, spans } = sdk();
    const topology = new Topology()
      .addSource('src', { topics: ['in'], keySerde: s, valueSerde: s })
      .addProcessor(
        'tick',
        (): Processor<string, string> => ({
          init: (ctx) => {
            ctx.schedule(1000, 'wall-clock', (t) =>
              ctx.forward({ key: 'tick', value: String(t), timestamp: t, headers: {} }),
            );
          },
          process: () => {},
        }),
        'src',
      )
      .addSink('sink', { topic: 'out', keySerde: s, valueSerde: s }, 'tick');
    await using driver = new TopologyTestDriver(topology, { tracing });
    driver.createInputTopic('in', s, s).pipeInput('k', 'v', 1, { traceparent: traceparent() });
    driver.advanceWallClockTime(1000);
    const out = driver.createOutputTopic('out', s, s).readRecord();
    expect(out.key).toBe('tick');
    expect(out.headers).toEqual({});
    expect(spans().map((sp) => sp.name)).toEqual(['process in']);
  });

  it('with no tracer or propagator registered, passes headers through untouched', async () => {
    expect(propagation.fields()).toEqual([]);
    await using driver = new TopologyTestDriver(mapValuesTopology(), { tracing: true });
    driver.createInputTopic('in', s, s).pipeInput('k', 'v', 1, { traceparent: traceparent() });
    const out = driver.createOutputTopic('out', s, s).readRecord();
    expect(out.headers).toEqual({ traceparent: traceparent() });
  });

  it('rejects invalid tracing options with INVALID_CONFIG naming the option', async () => {
    const base: StreamsConfig = { applicationId: 'a', brokers: ['localhost:9092'] };
    const bad: unknown[] = [
      'yes',
      { sampler: 1 },
      { tracerProvider: {} },
      { propagator: {} },
      { recordKey: 'utf8' },
    ];
    for (const tracing of bad) {
      let error: unknown;
      try {
        resolveConfig({ ...base, tracing } as StreamsConfig);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(StreamsError);
      expect((error as StreamsError).code).toBe('INVALID_CONFIG');
      expect((error as StreamsError).message).toMatch(/tracing/);
    }
    expect(resolveConfig(base).tracing).toBeUndefined();
    expect(resolveConfig({ ...base, tracing: true }).tracing).toEqual({});
  });
});
