// Tracing against the broker: records produced with a W3C trace context go through a rekey → repartition topic →
// count app, and each output record continues its input's trace, with one process span per subtopology.
import { StreamsApp } from '@eddy/streams';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  AlwaysOnSampler,
  BasicTracerProvider,
  InMemorySpanExporter,
  ParentBasedSampler,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import { repartitionCountTopology } from '../support/apps/repartition-count.js';
import { inProcessApps } from '../support/in-process.js';
import { brokerList, createTopics, testProducer, uniqueName, waitFor } from '../support/kafka.js';
import { readAll } from '../support/read.js';

const apps = inProcessApps();

function traceparentOf(header: string | undefined): { traceId: string; spanId: string } {
  expect(header).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  const [, traceId, spanId] = header!.split('-');
  return { traceId: traceId!, spanId: spanId! };
}

describe('tracing through a two-hop topology on the broker', () => {
  it('continues the producer trace through the repartition topic into the output, not into the changelog', async () => {
    const input = uniqueName('orders');
    const output = uniqueName('counts');
    const applicationId = uniqueName('traced');
    await createTopics([
      { topic: input, numPartitions: 2 },
      { topic: output, numPartitions: 2 },
    ]);
    const traced = Array.from({ length: 6 }, (_, i) => ({
      order: `order-${i}`,
      customer: `customer-${i % 3}`,
      traceId: `${i + 1}`.padStart(32, 'a'),
      parentId: `${i + 1}`.padStart(16, 'b'),
    }));
    const producer = testProducer();
    await producer.connect();
    await producer.send({
      topic: input,
      messages: [
        ...traced.map((t) => ({
          key: t.order,
          value: t.customer,
          headers: { traceparent: `00-${t.traceId}-${t.parentId}-01` },
        })),
        { key: 'order-untraced', value: 'customer-x' },
      ],
    });
    await producer.disconnect();

    const exporter = new InMemorySpanExporter();
    const tracerProvider = new BasicTracerProvider({
      sampler: new ParentBasedSampler({ root: new AlwaysOnSampler() }),
      spanProcessors: [new SimpleSpanProcessor(exporter)],
    });
    const app = apps.track(
      new StreamsApp(repartitionCountTopology(input, output), {
        applicationId,
        brokers: brokerList(),
        stateDir: apps.stateDir(),
        commitIntervalMs: 200,
        tracing: { tracerProvider, propagator: new W3CTraceContextPropagator() },
      }),
    );
    await app.start();

    const outputs = await readAll(output, traced.length + 1);
    const spans = await waitFor(
      () => exporter.getFinishedSpans().length >= 2 * outputs.length && exporter.getFinishedSpans(),
      { what: 'two process spans per record' },
    );
    const repartition = `${applicationId}-customers-repartition`;
    const bySpanId = new Map(spans.map((s) => [s.spanContext().spanId, s]));
    const hop = (span: ReadableSpan | undefined, topic: string, group = applicationId) => {
      expect(span?.name).toBe(`process ${topic}`);
      expect(span?.attributes['messaging.system']).toBe('kafka');
      expect(span?.attributes['messaging.destination.name']).toBe(topic);
      expect(span?.attributes['messaging.consumer.group.name']).toBe(group);
      return span!;
    };

    for (const t of traced) {
      const out = outputs.find((o) => o.key === t.customer && o.headers.traceparent?.includes(t.traceId));
      expect(out, `the output of ${t.order}`).toBeDefined();
      const { traceId, spanId } = traceparentOf(out!.headers.traceparent);
      expect(traceId).toBe(t.traceId);
      // The output's parent is the process span of the count (subtopology 1) ...
      const second = hop(bySpanId.get(spanId), repartition);
      expect(second.spanContext().traceId).toBe(t.traceId);
      // ... a child of the process span of the rekey (subtopology 0), a child of the producer's span.
      const first = hop(bySpanId.get(second.parentSpanContext!.spanId), input);
      expect(first.spanContext().traceId).toBe(t.traceId);
      expect(first.parentSpanContext?.spanId).toBe(t.parentId);
      expect(first.attributes['messaging.kafka.offset']).toBeTypeOf('number');
    }

    // A record produced without trace context starts a trace of its own at the first hop.
    const untraced = outputs.find((o) => o.key === 'customer-x')!;
    const { traceId, spanId } = traceparentOf(untraced.headers.traceparent);
    const second = hop(bySpanId.get(spanId), repartition);
    const first = hop(bySpanId.get(second.parentSpanContext!.spanId), input);
    expect(first.parentSpanContext).toBeUndefined();
    expect(first.spanContext().traceId).toBe(traceId);
    expect(new Set(spans.map((s) => s.spanContext().traceId)).size).toBe(traced.length + 1);

    // Changelog records are written at the commit, for many input records at once: they carry no trace context.
    const changelog = await readAll(`${applicationId}-customer-counts-changelog`, 1);
    expect(changelog[0]!.headers.traceparent).toBeUndefined();
    expect(changelog[0]!.headers['eddy.src']).toBeDefined();
  });
});
