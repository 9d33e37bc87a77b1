import {
  metrics,
  ValueType,
  type Attributes,
  type Counter,
  type Histogram,
  type Meter,
  type MeterProvider,
  type UpDownCounter,
} from '@opentelemetry/api';
import { ATTR, INSTRUMENT, METER_NAME, OPERATION, TOKEN_MODALITY, TOKEN_TYPE, type InstrumentSpec } from '../semconv.js';
import { VERSION } from '../version.js';
import { boundSinkFor, type EndedRequest, type RecordingSink } from './sink.js';

export interface Instruments {
  readonly duration: Histogram;
  readonly tokenUsage: Histogram;
  readonly timeToFirstChunk: Histogram;
  readonly timePerOutputChunk: Histogram;
  readonly requests: Counter;
  readonly activeRequests: UpDownCounter;
  readonly outputTokenRate: Histogram;
  readonly usageInputTokens: Counter;
  readonly usageOutputTokens: Counter;
  readonly usageCacheReadInputTokens: Counter;
  readonly usageCacheWriteInputTokens: Counter;
  readonly usageReasoningOutputTokens: Counter;
}

/** The API instrument type of each kind this library creates. */
export interface ByKind {
  histogram: Histogram;
  counter: Counter;
  updowncounter: UpDownCounter;
}

/**
 * Creates the instrument `spec` (from {@link INSTRUMENT} or another table of semconv.ts)
 * describes: kind, unit, value type and buckets.
 */
export function create<S extends InstrumentSpec & { kind: keyof ByKind }>(meter: Meter, spec: S): ByKind[S['kind']] {
  const options = {
    description: spec.description,
    unit: spec.unit,
    ...(spec.valueType === 'int' ? { valueType: ValueType.INT } : {}),
  };
  switch (spec.kind) {
    case 'histogram':
      return meter.createHistogram(spec.name, {
        ...options,
        ...(spec.buckets ? { advice: { explicitBucketBoundaries: [...spec.buckets] } } : {}),
      }) as ByKind[S['kind']];
    case 'counter':
      return meter.createCounter(spec.name, options) as ByKind[S['kind']];
    case 'updowncounter':
      return meter.createUpDownCounter(spec.name, options) as ByKind[S['kind']];
  }
  throw new Error(`unsupported instrument kind ${String(spec.kind)}`);
}

function createInstruments(provider: MeterProvider): Instruments {
  const meter = provider.getMeter(METER_NAME, VERSION);
  return {
    duration: create(meter, INSTRUMENT.operationDuration),
    tokenUsage: create(meter, INSTRUMENT.tokenUsage),
    timeToFirstChunk: create(meter, INSTRUMENT.timeToFirstChunk),
    timePerOutputChunk: create(meter, INSTRUMENT.timePerOutputChunk),
    requests: create(meter, INSTRUMENT.requests),
    activeRequests: create(meter, INSTRUMENT.activeRequests),
    outputTokenRate: create(meter, INSTRUMENT.outputTokenRate),
    usageInputTokens: create(meter, INSTRUMENT.usageInputTokens),
    usageOutputTokens: create(meter, INSTRUMENT.usageOutputTokens),
    usageCacheReadInputTokens: create(meter, INSTRUMENT.usageCacheReadInputTokens),
    usageCacheWriteInputTokens: create(meter, INSTRUMENT.usageCacheWriteInputTokens),
    usageReasoningOutputTokens: create(meter, INSTRUMENT.usageReasoningOutputTokens),
  };
}

const byProvider = new WeakMap<MeterProvider, Instruments>();
const sinks = new WeakMap<Instruments, InstrumentsSink>();

/**
 * The instruments of `provider`, or of the global MeterProvider as it is now. The OTel
 * metrics API has no proxy provider, so instruments taken before the app registers its
 * provider would stay no-ops forever: look the provider up per request instead.
 */
export function instrumentsFor(provider: MeterProvider | undefined): Instruments {
  const resolved = provider ?? metrics.getMeterProvider();
  let instruments = byProvider.get(resolved);
  if (instruments === undefined) {
    instruments = createInstruments(resolved);
    byProvider.set(resolved, instruments);
  }
  return instruments;
}

/** Whether this copy of the package has created API instruments on `provider`. */
export function hasInstruments(provider: MeterProvider): boolean {
  return byProvider.has(provider);
}

/**
 * The API-instrument sink: one `add` at the start, and at the end the calls the SDK
 * aggregates, with the attribute sets the recorder has always used.
 */
export class InstrumentsSink implements RecordingSink<undefined> {
  constructor(private readonly instruments: Instruments) {}

  begin(base: Attributes): undefined {
    this.instruments.activeRequests.add(1, base);
  }

  end(_handle: undefined, base: Attributes, request: EndedRequest): void {
    const { instruments } = this;
    instruments.activeRequests.add(-1, base);
    const attributes: Attributes = { ...base };
    if (request.responseModel !== undefined) attributes[ATTR.responseModel] = request.responseModel as string;
    if (request.errorType !== undefined) attributes[ATTR.errorType] = request.errorType;
    const withOutcome: Attributes = { ...attributes, [ATTR.outcome]: request.outcome };
    instruments.requests.add(1, withOutcome);
    if (request.duration !== undefined) instruments.duration.record(request.duration, withOutcome);
    if (request.timeToFirstChunk !== undefined) instruments.timeToFirstChunk.record(request.timeToFirstChunk, attributes);
    const { gaps, gapCount } = request;
    for (let i = 0; i < gapCount; i++) instruments.timePerOutputChunk.record(gaps[i]! / 1000, attributes);
    if (request.inputTokens !== undefined) {
      instruments.tokenUsage.record(request.inputTokens, { ...attributes, [ATTR.tokenType]: TOKEN_TYPE.input });
    }
    if (request.outputTokens !== undefined) {
      instruments.tokenUsage.record(request.outputTokens, { ...attributes, [ATTR.tokenType]: TOKEN_TYPE.output });
    }
    if (request.outputTokenRate !== undefined) instruments.outputTokenRate.record(request.outputTokenRate, attributes);
    const usage: Attributes = { ...base, [ATTR.tokenModality]: TOKEN_MODALITY.unknown };
    if (request.responseModel !== undefined) usage[ATTR.responseModel] = request.responseModel as string;
    instruments.usageInputTokens.add(request.inputTokens ?? 0, usage);
    instruments.usageCacheReadInputTokens.add(request.cacheReadInputTokens ?? 0, usage);
    instruments.usageCacheWriteInputTokens.add(request.cacheWriteInputTokens ?? 0, usage);
    if (producesOutput(base)) {
      instruments.usageOutputTokens.add(request.outputTokens ?? 0, usage);
      instruments.usageReasoningOutputTokens.add(request.reasoningOutputTokens ?? 0, usage);
    }
  }
}

/**
 * Whether an operation produces output tokens: every one but embeddings. The output and
 * reasoning usage counters are not recorded for embeddings (an embedding has no output tokens,
 * and a 0 for each call would only add series).
 */
export function producesOutput(base: Attributes): boolean {
  return base[ATTR.operationName] !== OPERATION.embeddings;
}

/**
 * Where a request for `provider` (or the global MeterProvider as it is now) records: the sink
 * bound to that provider (`otel-inference/register`'s aggregator), else its API instruments.
 */
export function sinkFor(provider: MeterProvider | undefined): RecordingSink {
  const resolved = provider ?? metrics.getMeterProvider();
  const fast = boundSinkFor(resolved);
  if (fast !== undefined) return fast;
  const instruments = instrumentsFor(resolved);
  let sink = sinks.get(instruments);
  if (sink === undefined) {
    sink = new InstrumentsSink(instruments);
    sinks.set(instruments, sink);
  }
  return sink;
}
