// Trace context through a task: each input record's W3C trace context is read from its headers, a process span runs
// around its processing, and the records it produces carry that span's context in their headers.
import {
  type Attributes,
  type Context,
  context,
  type Exception,
  ProxyTracerProvider,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TextMapGetter,
  type TextMapPropagator,
  type TextMapSetter,
  type Tracer,
  type TracerProvider,
  trace,
} from '@opentelemetry/api';
import { StreamsError } from '../errors.js';
import type { ConsumedRecord, RecordHeaders } from '../kafka/port.js';

/** The `tracing` option of a streams app (or `true` for all defaults). */
export interface TracingOptions {
  /**
   * Where spans go; default the global provider (the one the OpenTelemetry SDK registers). Without a registered
   * provider spans are not recorded, and the runtime skips their work.
   */
  tracerProvider?: TracerProvider;
  /** Reads and writes the trace context in record headers; default the global propagator (W3C with the SDK). */
  propagator?: TextMapPropagator;
  /**
   * Puts the record key on process spans (`messaging.kafka.message.key`): `true` as UTF-8 text, or a function that
   * names a key's bytes. Default false: keys may be personal data and make attributes unbounded.
   */
  recordKey?: boolean | ((key: Buffer) => string);
}

const TRACER_NAME = '@eddy/streams';
const NOOP_PROVIDER = new ProxyTracerProvider().getDelegate();

/** Checks the `tracing` option; undefined when tracing is off. */
export function resolveTracing(value: unknown): TracingOptions | undefined {
  if (value === undefined || value === false) return undefined;
  if (value === true) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid(
      `tracing must be true, false or an object of tracing options, got ${JSON.stringify(value)}`,
    );
  }
  const o = value as Record<string, unknown>;
  for (const name of Object.keys(o)) {
    if (!['tracerProvider', 'propagator', 'recordKey'].includes(name)) {
      throw invalid(`tracing.${name} is not a tracing option (tracerProvider, propagator, recordKey)`);
    }
  }
  if (
    o.tracerProvider !== undefined &&
    typeof (o.tracerProvider as TracerProvider).getTracer !== 'function'
  ) {
    throw invalid('tracing.tracerProvider must be an OpenTelemetry TracerProvider (with getTracer)');
  }
  const p = o.propagator as TextMapPropagator | undefined;
  if (
    p !== undefined &&
    (typeof p?.inject !== 'function' || typeof p.extract !== 'function' || typeof p.fields !== 'function')
  ) {
    throw invalid('tracing.propagator must be an OpenTelemetry TextMapPropagator (inject, extract, fields)');
  }
  if (o.recordKey !== undefined && typeof o.recordKey !== 'boolean' && typeof o.recordKey !== 'function') {
    throw invalid('tracing.recordKey must be a boolean or a function from key bytes to text');
  }
  return { ...(o as TracingOptions) };
}

function invalid(message: string): StreamsError {
  return new StreamsError('INVALID_CONFIG', message);
}

/** Header values are Buffers; a string, a Uint8Array or a repeated header (an array: the last one counts) is read too. */
function headerText(value: unknown): string | undefined {
  if (Array.isArray(value)) return headerText(value[value.length - 1]);
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  if (value instanceof Uint8Array)
    return Buffer.from(value.buffer, value.byteOffset, value.length).toString('utf8');
  return undefined;
}

const getter: TextMapGetter<RecordHeaders> = {
  keys: (headers) => Object.keys(headers),
  get: (headers, key) => headerText((headers as Record<string, unknown>)[key]),
};

/**
 * Headers being written, copied on the first write (the record's own headers may be shared with other records):
 * the copy leaves out every field of the propagator, so no stale `tracestate` of another context survives.
 */
interface Carrier {
  base: RecordHeaders;
  out: RecordHeaders | undefined;
  fields: readonly string[];
}

const setter: TextMapSetter<Carrier> = {
  set(carrier, key, value) {
    let out = carrier.out;
    if (out === undefined) {
      out = {};
      for (const name in carrier.base) if (!carrier.fields.includes(name)) out[name] = carrier.base[name]!;
      carrier.out = out;
    }
    out[key] = Buffer.from(value, 'utf8');
  },
};

/** True for the global provider while no SDK has registered one: its spans do nothing. */
function isNoop(provider: TracerProvider): boolean {
  return provider instanceof ProxyTracerProvider && provider.getDelegate() === NOOP_PROVIDER;
}

/** A task's tracing: one process span at a time (the task processes one record at a time). */
export class RecordTracing {
  private readonly tracer: Tracer;
  private readonly propagator: TextMapPropagator;
  private readonly carrier: Carrier = { base: {}, out: undefined, fields: [] };
  /** Per input topic: the span name and the attributes every record of it has (given at the start, for samplers). */
  private readonly topics = new Map<string, { name: string; attributes: Attributes }>();
  private span: Span | undefined;
  private spanContext: Context = ROOT_CONTEXT;
  /** The headers the topology was given for the current record (they already carry its span's context). */
  private traced: RecordHeaders | undefined;
  private on = false;

  constructor(
    private readonly options: TracingOptions,
    private readonly consumerGroup: string,
    private readonly taskId: string,
  ) {
    this.tracer = (options.tracerProvider ?? trace.getTracerProvider()).getTracer(TRACER_NAME);
    this.propagator = options.propagator ?? propagation;
  }

  /**
   * Called before each batch of records (and each punctuation): whether there is anything to do, i.e. a tracer or
   * a propagator is registered. While neither is, records are processed as without tracing.
   */
  refresh(): boolean {
    this.carrier.fields = this.propagator.fields();
    this.on =
      this.carrier.fields.length > 0 || !isNoop(this.options.tracerProvider ?? trace.getTracerProvider());
    return this.on;
  }

  get active(): boolean {
    return this.on;
  }

  /** Starts the process span of an input record, a child of the context its headers carry (else a new trace). */
  start(topic: string, partition: number, record: ConsumedRecord): void {
    const parent = this.propagator.extract(ROOT_CONTEXT, record.headers, getter);
    const of = this.topicInfo(topic);
    const span = this.tracer.startSpan(
      of.name,
      { kind: SpanKind.CONSUMER, attributes: of.attributes },
      parent,
    );
    if (span.isRecording()) {
      span.setAttribute('messaging.destination.partition.id', String(partition));
      span.setAttribute('messaging.kafka.offset', Number(record.offset));
      if (record.value === null) span.setAttribute('messaging.kafka.message.tombstone', true);
      const recordKey = this.options.recordKey;
      if (recordKey && record.key !== null) {
        span.setAttribute(
          'messaging.kafka.message.key',
          recordKey === true ? record.key.toString('utf8') : recordKey(record.key),
        );
      }
    }
    this.span = span;
    this.spanContext = trace.setSpan(parent, span);
  }

  /** Runs `fn` with the process span as the active span (seen by processors through the context manager). */
  run<T>(fn: () => T): T {
    return context.with(this.spanContext, fn);
  }

  /** The headers the topology sees: the record's, with the process span's trace context in place of the input's. */
  incoming(headers: RecordHeaders): RecordHeaders {
    this.traced = this.inject(this.spanContext, headers);
    return this.traced;
  }

  /**
   * The headers of an output record: while a record is processed, the context of the active span (a processor's
   * own child span) or else of the process span; outside (punctuators, flushes), the active span's context if a
   * processor made one, else the headers as given (a held record keeps the context of the record it came from).
   */
  outgoing(headers: RecordHeaders): RecordHeaders {
    const active = context.active();
    const activeSpan = trace.getSpan(active);
    if (this.span !== undefined) {
      if (activeSpan === undefined || activeSpan === this.span) {
        return headers === this.traced ? headers : this.inject(this.spanContext, headers);
      }
      return this.inject(active, headers);
    }
    return activeSpan === undefined ? headers : this.inject(active, headers);
  }

  /** Marks the process span as failed. */
  fail(error: unknown): void {
    const span = this.span;
    if (span === undefined || !span.isRecording()) return;
    span.recordException(error instanceof Error ? error : (String(error) as Exception));
    span.setStatus({
      code: SpanStatusCode.ERROR,
      message: error instanceof Error ? error.message : String(error),
    });
  }

  end(): void {
    this.span?.end();
    this.span = undefined;
    this.spanContext = ROOT_CONTEXT;
    this.traced = undefined;
  }

  private inject(ctx: Context, headers: RecordHeaders): RecordHeaders {
    const carrier = this.carrier;
    carrier.base = headers;
    carrier.out = undefined;
    this.propagator.inject(ctx, carrier, setter);
    const out = carrier.out ?? headers;
    carrier.base = {};
    carrier.out = undefined;
    return out;
  }

  private topicInfo(topic: string): { name: string; attributes: Attributes } {
    let info = this.topics.get(topic);
    if (info === undefined) {
      // Shared by every span of the topic: the SDK copies attributes, and this object is never changed.
      const attributes: Attributes = Object.freeze({
        'messaging.system': 'kafka',
        'messaging.operation.type': 'process',
        'messaging.operation.name': 'process',
        'messaging.destination.name': topic,
        'messaging.consumer.group.name': this.consumerGroup,
        'eddy.task.id': this.taskId,
      });
      info = { name: `process ${topic}`, attributes };
      this.topics.set(topic, info);
    }
    return info;
  }
}
