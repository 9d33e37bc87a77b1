/**
 * The aggregator against the SDK: the same recorded sequence goes through the API instruments
 * into one MeterProvider and through the aggregator into another, each with the same readers,
 * and every collection must give the same data: metrics, points, attributes, buckets, counts,
 * sums, min/max, temporality, start and end times (Date is a fake clock both sides share), and
 * the same bytes through the OTLP serializers and the Prometheus serializer register uses.
 */
import { DiagLogLevel, type Attributes } from '@opentelemetry/api';
import { JsonMetricsSerializer, ProtobufMetricsSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AggregationTemporality,
  AggregationType,
  DataPointType,
  InstrumentType,
  MeterProvider,
  MetricReader,
  type CollectionResult,
  type MetricProducer,
  type ResourceMetrics,
  type ViewOptions,
} from '@opentelemetry/sdk-metrics';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createInferenceAggregator, type InferenceAggregatorOptions } from '../../../packages/instrumentation/src/core/aggregator.js';
import { createInferenceMetrics, type InferenceRequest } from '../../../packages/instrumentation/src/core/metrics.js';
import { withBackend } from '../../../packages/instrumentation/src/gateway/backend.js';
import type { InferenceTracker } from '../../../packages/instrumentation/src/core/recorder.js';
import { sinkFor } from '../../../packages/instrumentation/src/core/instruments.js';
import type { EndedRequest, RecordingSink } from '../../../packages/instrumentation/src/core/sink.js';
import { ATTR, INSTRUMENT, METER_NAME, METRIC, OUTCOME, OVERFLOW_ATTRIBUTE, type Outcome } from '../../../packages/instrumentation/src/semconv.js';
import { VERSION } from '../../../packages/instrumentation/src/version.js';
import { captureDiag } from '../../helpers/metrics.js';
import { CollectorNamingSerializer } from '../../../packages/otel-inference/src/register/prometheus.js';

type Temporality = 'cumulative' | 'delta' | 'lowmemory';

/** sdk-metrics' OTLP exporter selectors for OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE. */
function temporalitySelector(temporality: Temporality): (type: InstrumentType) => AggregationTemporality {
  switch (temporality) {
    case 'cumulative':
      return () => AggregationTemporality.CUMULATIVE;
    case 'delta':
      return (type) => (type === InstrumentType.UP_DOWN_COUNTER ? AggregationTemporality.CUMULATIVE : AggregationTemporality.DELTA);
    case 'lowmemory':
      return (type) =>
        type === InstrumentType.COUNTER || type === InstrumentType.HISTOGRAM ? AggregationTemporality.DELTA : AggregationTemporality.CUMULATIVE;
  }
}

interface ReaderConfig {
  temporality: Temporality;
  /** Per instrument type, as a reader's cardinalitySelector. Default: the SDK's 2000. */
  cardinalityLimit?: number;
}

class PullReader extends MetricReader {
  constructor(config: ReaderConfig, metricProducers?: MetricProducer[]) {
    super({
      aggregationTemporalitySelector: temporalitySelector(config.temporality),
      ...(config.cardinalityLimit !== undefined ? { cardinalitySelector: () => config.cardinalityLimit! } : {}),
      ...(metricProducers !== undefined ? { metricProducers } : {}),
    });
  }
  protected override async onShutdown(): Promise<void> {}
  protected override async onForceFlush(): Promise<void> {}
}

const RESOURCE = resourceFromAttributes({ 'service.name': 'differential' });

/** Two MeterProviders with identical readers: `sdk` records through the API instruments, `fast` through the aggregator. */
function pair(readers: ReaderConfig[], options: { aggregator?: InferenceAggregatorOptions; views?: ViewOptions[] } = {}) {
  const sdkReaders = readers.map((config) => new PullReader(config));
  const sdkProvider = new MeterProvider({ resource: RESOURCE, readers: sdkReaders, ...(options.views ? { views: options.views } : {}) });
  const aggregator = createInferenceAggregator(options.aggregator);
  const fastReaders = readers.map((config) => {
    const producer = aggregator.createProducer();
    const reader = new PullReader(config, [producer]);
    producer.setReader(reader);
    return reader;
  });
  const fastProvider = new MeterProvider({ resource: RESOURCE, readers: fastReaders });
  expect(aggregator.bind(fastProvider)).toBe(true);
  const sinks: RecordingSink[] = [sinkFor(sdkProvider), sinkFor(fastProvider)];
  expect(sinks[1]).toBe(aggregator);
  return { sdkProvider, fastProvider, sdkReaders, fastReaders, sinks, shutdown: () => Promise.all([sdkProvider.shutdown(), fastProvider.shutdown()]) };
}

type Pair = ReturnType<typeof pair>;

/** Collects reader `index` of both providers and asserts the data and its serializations are identical. */
/**
 * Collects reader `index` of both providers and asserts the data and its serializations are
 * identical. The Prometheus serializer is slow on large data: `prometheus: false` leaves it out
 * (random sequences use it on each reader's last collection).
 */
async function collectBoth(p: Pair, index: number, { prometheus = true } = {}): Promise<ResourceMetrics> {
  const sdk = await p.sdkReaders[index]!.collect();
  const fast = await p.fastReaders[index]!.collect();
  expect(sdk.errors).toEqual([]);
  expect(fast.errors).toEqual([]);
  expect(fast.resourceMetrics.scopeMetrics).toStrictEqual(sdk.resourceMetrics.scopeMetrics);
  expect(fast.resourceMetrics.resource.attributes).toStrictEqual(sdk.resourceMetrics.resource.attributes);
  const protobuf = (r: ResourceMetrics) => Buffer.from(ProtobufMetricsSerializer.serializeRequest(r) ?? []);
  const json = (r: ResourceMetrics) => Buffer.from(JsonMetricsSerializer.serializeRequest(r) ?? []).toString();
  expect(protobuf(fast.resourceMetrics).equals(protobuf(sdk.resourceMetrics))).toBe(true);
  expect(json(fast.resourceMetrics)).toBe(json(sdk.resourceMetrics));
  if (prometheus) {
    const serializer = new CollectorNamingSerializer();
    expect(serializer.serialize(fast.resourceMetrics)).toBe(serializer.serialize(sdk.resourceMetrics));
  }
  return sdk.resourceMetrics;
}

/** One step of a recorded sequence, applied to both sinks alike. */
type Step =
  | { op: 'begin'; id: number; base: Attributes }
  | { op: 'end'; id: number; request: EndedRequest }
  | { op: 'tick'; ms: number }
  | { op: 'collect'; reader: number };

/** Replays `steps` into both sinks on the shared fake clock; returns every collection's data (the SDK's). */
async function replay(p: Pair, steps: readonly Step[]): Promise<ResourceMetrics[]> {
  const open = new Map<number, { base: Attributes; handles: unknown[] }>();
  const collected: ResourceMetrics[] = [];
  const lastCollect = new Map<number, Step>();
  for (const step of steps) if (step.op === 'collect') lastCollect.set(step.reader, step);
  for (const step of steps) {
    switch (step.op) {
      case 'begin':
        open.set(step.id, { base: step.base, handles: p.sinks.map((sink) => sink.begin(step.base)) });
        break;
      case 'end': {
        const { base, handles } = open.get(step.id)!;
        open.delete(step.id);
        p.sinks.forEach((sink, i) => sink.end(handles[i], base, step.request));
        break;
      }
      case 'tick':
        vi.setSystemTime(Date.now() + step.ms);
        break;
      case 'collect':
        collected.push(await collectBoth(p, step.reader, { prometheus: lastCollect.get(step.reader) === step }));
        break;
    }
  }
  return collected;
}

/** The base attributes InferenceMetrics builds (metrics.ts attributesOf), in its key order. */
function base(fields: { operation?: unknown; provider?: string; stream?: boolean; model?: string; address?: unknown; port?: unknown; backend?: unknown }): Attributes {
  const attributes: Attributes = {
    [ATTR.operationName]: (fields.operation ?? 'chat') as string,
    [ATTR.providerName]: fields.provider ?? 'openai',
    [ATTR.requestStream]: fields.stream ?? false,
  };
  if (fields.model !== undefined) attributes[ATTR.requestModel] = fields.model;
  if (fields.address !== undefined) attributes[ATTR.serverAddress] = fields.address as string;
  if (fields.port !== undefined) attributes[ATTR.serverPort] = fields.port as number;
  if (fields.backend !== undefined) attributes[ATTR.backend] = fields.backend as string;
  return attributes;
}

function ended(fields: Partial<EndedRequest>): EndedRequest {
  const gaps = fields.gaps ?? [];
  return {
    outcome: OUTCOME.success,
    errorType: undefined,
    responseModel: undefined,
    duration: undefined,
    timeToFirstChunk: undefined,
    inputTokens: undefined,
    outputTokens: undefined,
    outputTokenRate: undefined,
    cacheReadInputTokens: undefined,
    cacheWriteInputTokens: undefined,
    reasoningOutputTokens: undefined,
    ...fields,
    gaps,
    gapCount: fields.gapCount ?? gaps.length,
  };
}

/** A small seeded PRNG (mulberry32), so that a failing sequence can be replayed from its seed. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const pick = <T>(values: readonly T[]): T => values[Math.floor(next() * values.length)]!;
  return { next, pick, chance: (p: number) => next() < p };
}

/** Durations: random, on boundaries (0.01 is a bucket's upper bound, inclusive), 0, huge. */
function seconds(r: ReturnType<typeof prng>): number {
  return r.pick([() => r.next() * 3, () => r.next() * 0.05, () => r.pick([0, 0.01, 0.02, 0.64, 81.92, 81.920001, 500]), () => r.next() * 1e-6])();
}

/**
 * A random recorded sequence: requests begun and ended interleaved (several in flight), every
 * value a recorder can hand over, a few attribute sets per field, clock ticks, collections of
 * random readers.
 */
function randomSteps(seed: number, readers: number, length: number, models = ['m-a', 'm-b', 'other']): Step[] {
  const r = prng(seed);
  const steps: Step[] = [];
  const open: number[] = [];
  let id = 0;
  for (let i = 0; i < length; i++) {
    const roll = r.next();
    if (roll < 0.35 || (open.length === 0 && roll < 0.8)) {
      const stream = r.chance(0.5);
      steps.push({
        op: 'begin',
        id,
        base: base({
          operation: r.pick(['chat', 'chat', 'embeddings', 'text_completion']),
          provider: r.pick(['openai', 'vllm']),
          stream,
          ...(r.chance(0.9) ? { model: r.pick(models) } : {}),
          ...(r.chance(0.8) ? { address: r.pick(['127.0.0.1', 'api.openai.com']), port: r.pick([8000, 443]) } : {}),
          ...(r.chance(0.5) ? { backend: r.pick(['primary', 'secondary', 'other']) } : {}),
        }),
      });
      open.push(id++);
    } else if (roll < 0.8 && open.length > 0) {
      const [requestId] = open.splice(Math.floor(r.next() * open.length), 1);
      const outcome: Outcome = r.pick([OUTCOME.success, OUTCOME.success, OUTCOME.success, OUTCOME.error, OUTCOME.cancelled]);
      const chunks = r.chance(0.5) ? Math.floor(r.next() * 40) : 0;
      const gaps = Array.from({ length: Math.max(0, chunks - 1) }, () =>
        r.pick([() => r.next() * 30, () => r.pick([0, 10, 20, 40, 80, 10.000001]), () => r.next() * 3000])(),
      );
      steps.push({
        op: 'end',
        id: requestId!,
        request: ended({
          outcome,
          errorType: outcome === OUTCOME.error ? r.pick(['500', 'timeout', 'APIConnectionError']) : outcome === OUTCOME.cancelled && r.chance(0.3) ? 'shutdown' : undefined,
          responseModel: r.chance(0.7) ? r.pick(models) : undefined,
          duration: r.chance(0.95) ? seconds(r) : undefined,
          timeToFirstChunk: chunks > 0 && r.chance(0.95) ? seconds(r) : undefined,
          gaps,
          inputTokens: r.chance(0.6) ? r.pick([0, 1, 4, 5, 16, 1000, 67108864, 67108865, Math.floor(r.next() * 100000)]) : undefined,
          outputTokens: r.chance(0.6) ? r.pick([0, 1, 2, 300, Math.floor(r.next() * 5000)]) : undefined,
          outputTokenRate: r.chance(0.5) ? r.pick([() => r.next() * 200, () => r.pick([1, 8192, 8192.5, 1e6]), () => r.next() * 1e-3 + 1e-9])() : undefined,
          cacheReadInputTokens: r.chance(0.3) ? r.pick([0, 3, 1024, 67108865]) : undefined,
          cacheWriteInputTokens: r.chance(0.2) ? r.pick([0, 7, 2048]) : undefined,
          reasoningOutputTokens: r.chance(0.3) ? r.pick([0, 1, 250]) : undefined,
        }),
      });
    } else if (roll < 0.93) {
      steps.push({ op: 'tick', ms: r.pick([1, 1, 7, 250, 1000]) });
    } else {
      steps.push({ op: 'collect', reader: Math.floor(r.next() * readers) });
    }
  }
  for (const requestId of open) steps.push({ op: 'end', id: requestId, request: ended({ outcome: OUTCOME.cancelled, errorType: 'shutdown', duration: 1 }) });
  for (let reader = 0; reader < readers; reader++) steps.push({ op: 'tick', ms: 3 }, { op: 'collect', reader });
  return steps;
}

let p: Pair | undefined;

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(1_700_000_000_123);
});

afterEach(async () => {
  vi.useRealTimers();
  await p?.shutdown();
  p = undefined;
});

describe('random sequences give what the SDK gives', () => {
  const configs: Array<[string, ReaderConfig[]]> = [
    ['one cumulative reader', [{ temporality: 'cumulative' }]],
    ['one delta reader', [{ temporality: 'delta' }]],
    ['one low-memory reader', [{ temporality: 'lowmemory' }]],
    ['a cumulative and a delta reader, collected apart', [{ temporality: 'cumulative' }, { temporality: 'delta' }]],
    ['two delta readers, collected apart', [{ temporality: 'delta' }, { temporality: 'delta' }]],
    ['three readers with cardinality limits of 3, 5 and 8', [
      { temporality: 'cumulative', cardinalityLimit: 3 },
      { temporality: 'delta', cardinalityLimit: 5 },
      { temporality: 'lowmemory', cardinalityLimit: 8 },
    ]],
  ];
  it.each(configs.flatMap(([name, readers]) => [1, 2, 3, 4, 5].map((seed) => [name, seed, readers] as const)))(
    '%s (seed %i)',
    async (_name, seed, readers) => {
      p = pair(readers);
      const collected = await replay(p, randomSteps(seed, readers.length, 400, ['m-a', 'm-b', 'm-c', 'm-d', 'other']));
      // The sequences are not trivial: they reach the histograms with points in several buckets.
      expect(Math.max(...collected.map((c) => c.scopeMetrics[0]?.metrics.length ?? 0))).toBe(Object.keys(INSTRUMENT).length);
    },
  );
});

describe('edge cases give what the SDK gives', () => {
  const ONE: ReaderConfig[] = [{ temporality: 'cumulative' }];
  const BOTH: ReaderConfig[] = [{ temporality: 'cumulative' }, { temporality: 'delta' }];

  it('nothing recorded: no scope at all, on every temporality', async () => {
    p = pair([{ temporality: 'cumulative' }, { temporality: 'delta' }, { temporality: 'lowmemory' }]);
    const collected = await replay(p, [{ op: 'collect', reader: 0 }, { op: 'collect', reader: 1 }, { op: 'collect', reader: 2 }]);
    for (const c of collected) expect(c.scopeMetrics).toEqual([]);
  });

  it('a request that only began: the active gauge alone; no histogram reported empty', async () => {
    p = pair(BOTH);
    const collected = await replay(p, [
      { op: 'begin', id: 1, base: base({ model: 'm' }) },
      { op: 'collect', reader: 0 },
      { op: 'collect', reader: 1 },
    ]);
    for (const c of collected) expect(c.scopeMetrics[0]!.metrics.map((m) => m.descriptor.name)).toEqual([METRIC.activeRequests]);
  });

  it('delta: an interval with no records reports nothing; a series back later starts at its new first record, one reported last time at the last collection', async () => {
    p = pair([{ temporality: 'delta' }]);
    const a = base({ model: 'a' });
    const b = base({ model: 'b' });
    const request = ended({ duration: 0.5, inputTokens: 3 });
    const collected = await replay(p, [
      { op: 'begin', id: 1, base: a },
      { op: 'end', id: 1, request },
      { op: 'tick', ms: 1000 },
      { op: 'collect', reader: 0 }, // 1: a
      { op: 'tick', ms: 1000 },
      { op: 'collect', reader: 0 }, // 2: nothing but the cumulative gauge
      { op: 'tick', ms: 500 },
      { op: 'begin', id: 2, base: a },
      { op: 'end', id: 2, request },
      { op: 'begin', id: 3, base: b },
      { op: 'end', id: 3, request },
      { op: 'tick', ms: 1000 },
      { op: 'collect', reader: 0 }, // 3: a, b
      { op: 'tick', ms: 1000 },
      { op: 'begin', id: 4, base: b },
      { op: 'end', id: 4, request },
      { op: 'tick', ms: 1000 },
      { op: 'collect', reader: 0 }, // 4: b, restarted at collection 3
    ]);
    const durations = (c: ResourceMetrics) => c.scopeMetrics[0]!.metrics.find((m) => m.descriptor.name === METRIC.operationDuration);
    expect(durations(collected[1]!)).toBeUndefined();
    const third = durations(collected[2]!)!.dataPoints;
    // a was not in the last report: its start is its first record of the interval, not collection 2.
    expect(third.map((d) => d.startTime)).toEqual([
      [1_700_000_002, 623_000_000],
      [1_700_000_002, 623_000_000],
    ]);
    const fourth = durations(collected[3]!)!.dataPoints;
    expect(fourth).toHaveLength(1);
    expect(fourth[0]!.startTime).toEqual(third[0]!.endTime);
  });

  it('cumulative: start times stay at the first record; a series with nothing new is reported again', async () => {
    p = pair(ONE);
    const collected = await replay(p, [
      { op: 'begin', id: 1, base: base({ model: 'a' }) },
      { op: 'end', id: 1, request: ended({ duration: 0.02 }) },
      { op: 'tick', ms: 10 },
      { op: 'collect', reader: 0 },
      { op: 'tick', ms: 10 },
      { op: 'begin', id: 2, base: base({ model: 'b' }) },
      { op: 'end', id: 2, request: ended({ duration: 0.03 }) },
      { op: 'tick', ms: 10 },
      { op: 'collect', reader: 0 },
    ]);
    const points = collected[1]!.scopeMetrics[0]!.metrics.find((m) => m.descriptor.name === METRIC.operationDuration)!.dataPoints;
    expect(points.map((d) => d.startTime)).toEqual([
      [1_700_000_000, 123_000_000],
      [1_700_000_000, 143_000_000],
    ]);
  });

  it('the cardinality limit: overflow series per metric and reader, new series only while the interval has room', async () => {
    p = pair([
      { temporality: 'cumulative', cardinalityLimit: 4 },
      { temporality: 'delta', cardinalityLimit: 4 },
    ]);
    const steps: Step[] = [];
    for (let i = 0; i < 12; i++) {
      steps.push(
        { op: 'begin', id: i, base: base({ model: `m-${i % 7}`, stream: true }) },
        { op: 'end', id: i, request: ended({ duration: i / 10, timeToFirstChunk: 0.1, gaps: [1, 2, 3], outputTokens: i, outputTokenRate: 10 }) },
        { op: 'tick', ms: 1 },
      );
      if (i === 5) steps.push({ op: 'collect', reader: 1 });
      if (i === 8) steps.push({ op: 'collect', reader: 0 });
    }
    steps.push({ op: 'collect', reader: 0 }, { op: 'collect', reader: 1 });
    const collected = await replay(p, steps);
    // Every metric reaches its overflow series.
    const overflowing = new Set(
      collected.flatMap((c) =>
        c.scopeMetrics[0]!.metrics.filter((m) => (m.dataPoints as Array<{ attributes: Attributes }>).some((d) => d.attributes[OVERFLOW_ATTRIBUTE] === true)).map((m) => m.descriptor.name),
      ),
    );
    expect([...overflowing].sort()).toEqual(Object.values(METRIC).sort());
  });

  it('the default cardinality limit of 2000: the 2000th new series of an interval goes to the overflow series', async () => {
    p = pair(BOTH);
    const steps: Step[] = [];
    for (let i = 0; i < 2100; i++) {
      steps.push({ op: 'begin', id: i, base: base({ model: `model-${i}` }) }, { op: 'end', id: i, request: ended({ duration: 0.1, inputTokens: 1 }) });
    }
    steps.push({ op: 'collect', reader: 0 }, { op: 'collect', reader: 1 });
    const [cumulative] = await replay(p, steps);
    const requests = cumulative!.scopeMetrics[0]!.metrics.find((m) => m.descriptor.name === METRIC.requests)!;
    expect(requests.dataPoints).toHaveLength(2000);
    expect(requests.dataPoints.at(-1)!.attributes).toEqual({ [OVERFLOW_ATTRIBUTE]: true });
    expect(requests.dataPoints.at(-1)!.value).toBe(2100 - 1999);
  });

  it('every value on and around the bucket boundaries, and at both ends of the scale', async () => {
    p = pair(BOTH);
    const steps: Step[] = [];
    const durations = [0, 5e-324, 0.01, 0.010000000000000002, 0.02, 1.28, 81.92, 81.92000000000002, 1e6];
    const tokens = [0, 1, 2, 4, 5, 67108864, 67108865, Number.MAX_SAFE_INTEGER];
    durations.forEach((duration, i) => {
      steps.push(
        { op: 'begin', id: i, base: base({ stream: true }) },
        {
          op: 'end',
          id: i,
          request: ended({ duration, timeToFirstChunk: duration, gaps: [duration * 1000, 0, 10], inputTokens: tokens[i % tokens.length], outputTokens: tokens[(i + 3) % tokens.length], outputTokenRate: [1, 8192, 8192.000000000002, 1e-300, 1e300][i % 5] }),
        },
      );
    });
    steps.push({ op: 'collect', reader: 0 }, { op: 'collect', reader: 1 });
    await replay(p, steps);
  });

  it('every outcome and error.type, a response model or none, on one base', async () => {
    p = pair(BOTH);
    const steps: Step[] = [];
    let id = 0;
    for (const outcome of [OUTCOME.success, OUTCOME.error, OUTCOME.cancelled]) {
      for (const errorType of [undefined, '429', 'shutdown']) {
        for (const responseModel of [undefined, 'm', 'other']) {
          steps.push({ op: 'begin', id, base: base({ model: 'm' }) }, { op: 'end', id: id++, request: ended({ outcome, errorType, responseModel, duration: 0.1, outputTokens: 5 }) });
        }
      }
    }
    steps.push({ op: 'collect', reader: 0 }, { op: 'collect', reader: 1 });
    await replay(p, steps);
  });

  it('attribute values of other types: one series exactly when the SDK hash (JSON) says so', async () => {
    p = pair(ONE);
    const steps: Step[] = [];
    // operation, port, response model: none of these is JSON-equal to another.
    const odd: Array<[unknown, unknown, unknown]> = [
      ['1', 8000, undefined],
      [1, 8000, 7],
      [true, 1.5, '7'],
      ['chat', Number.NaN, null],
      ['chat', -0, Number.NaN],
      ['chat', '0', { a: 1 }],
      ['chat', 'a\u0000b', 'x'],
      ['chat\u0000', 'ab', 'x'],
      ['chat', 'a\u0000b', 'x'],
    ];
    odd.forEach(([operation, port, responseModel], i) => {
      steps.push(
        { op: 'begin', id: i, base: base({ operation, address: 'h', port }) },
        { op: 'end', id: i, request: ended({ duration: 0.1, responseModel }) },
      );
    });
    steps.push({ op: 'collect', reader: 0 });
    const [c] = await replay(p, steps);
    expect(c!.scopeMetrics[0]!.metrics.find((m) => m.descriptor.name === METRIC.requests)!.dataPoints).toHaveLength(8);
  });

  it('values the SDK hash does not tell apart (NaN, null, Infinity; 0 and -0) make one series in both', async () => {
    p = pair(ONE);
    const ports = [Number.NaN, null, Number.POSITIVE_INFINITY, Number.NaN, 0, -0];
    const steps: Step[] = ports.flatMap((port, i): Step[] => [
      { op: 'begin', id: i, base: base({ address: 'h', port }) },
      { op: 'end', id: i, request: ended({ duration: i }) },
    ]);
    await replay(p, steps.slice(0, 2)); // the first requests make the series: the same attributes in both
    const sdk = await p.sdkReaders[0]!.collect();
    const fast = await p.fastReaders[0]!.collect();
    expect(fast.resourceMetrics.scopeMetrics).toStrictEqual(sdk.resourceMetrics.scopeMetrics);
    await replay(p, steps.slice(2));
    const [s, f] = [await p.sdkReaders[0]!.collect(), await p.fastReaders[0]!.collect()];
    const summary = (r: CollectionResult) =>
      r.resourceMetrics.scopeMetrics[0]!.metrics.map((m) => [m.descriptor.name, m.dataPoints.map((d) => JSON.stringify(d.value))]);
    expect(summary(f)).toEqual(summary(s));
    expect(s.resourceMetrics.scopeMetrics[0]!.metrics.find((m) => m.descriptor.name === METRIC.requests)!.dataPoints).toHaveLength(2);
  });

  it('boundaries given to the aggregator are what a View gives the SDK', async () => {
    const boundaries = [0.004, 0.001, 0.002, Number.POSITIVE_INFINITY, 0.008, Number.NEGATIVE_INFINITY, 0.016];
    p = pair([{ temporality: 'cumulative' }], {
      aggregator: { boundaries: { timePerOutputChunk: boundaries, tokenUsage: [10, 100] } },
      views: [
        { instrumentName: METRIC.timePerOutputChunk, aggregation: { type: AggregationType.EXPLICIT_BUCKET_HISTOGRAM, options: { boundaries } } },
        { instrumentName: METRIC.tokenUsage, aggregation: { type: AggregationType.EXPLICIT_BUCKET_HISTOGRAM, options: { boundaries: [10, 100] } } },
      ],
    });
    await replay(p, randomSteps(7, 1, 300).filter((s) => s.op !== 'collect'));
    const [sdk, fast] = [await p.sdkReaders[0]!.collect(), await p.fastReaders[0]!.collect()];
    // The SDK reports a metric a View selects before the others; the data of each is the same.
    const byName = (r: CollectionResult) => [...r.resourceMetrics.scopeMetrics[0]!.metrics].sort((a, b) => a.descriptor.name.localeCompare(b.descriptor.name));
    expect(byName(fast)).toEqual(byName(sdk));
    const tpoc = byName(fast).find((m) => m.descriptor.name === METRIC.timePerOutputChunk)!;
    expect(tpoc.dataPointType).toBe(DataPointType.HISTOGRAM);
    expect((tpoc.dataPoints[0]!.value as { buckets: { boundaries: number[] } }).buckets.boundaries).toEqual([0.001, 0.002, 0.004, 0.008, 0.016]);
  });

  it('scope and descriptors are the meter and instruments otel-inference creates', async () => {
    p = pair(ONE);
    const [c] = await replay(p, [
      { op: 'begin', id: 1, base: base({ stream: true }) },
      { op: 'end', id: 1, request: ended({ duration: 1, timeToFirstChunk: 0.5, gaps: [5], inputTokens: 1, outputTokens: 2, outputTokenRate: 3 }) },
      { op: 'collect', reader: 0 },
    ]);
    expect(c!.scopeMetrics[0]!.scope).toEqual({ name: METER_NAME, version: VERSION });
    expect(c!.scopeMetrics[0]!.metrics).toHaveLength(Object.keys(INSTRUMENT).length);
  });
});

describe('through InferenceMetrics: the recorder feeds both sinks alike', () => {
  /**
   * Trackers started in pairs, one per provider, driven by the same calls at the same clock
   * readings (performance.now is a controlled clock): streams of 0 to 5000 output chunks,
   * interleaved, some with a chunk at a time that is not a number; every way to end.
   */
  it.each([1, 2, 3])('random trackers (seed %i)', async (seed) => {
    p = pair([{ temporality: 'cumulative' }, { temporality: 'delta' }]);
    const metrics = [p.sdkProvider, p.fastProvider].map((meterProvider) => createInferenceMetrics({ meterProvider, modelAllowlist: ['m-a', /^m-b/] }));
    const r = prng(seed);
    const clock = { now: 1000 };
    const spy = vi.spyOn(performance, 'now').mockImplementation(() => clock.now);
    try {
      const open: InferenceTracker[][] = [];
      const lengths = [0, 1, 2, 63, 64, 65, 300, 5000];
      for (let step = 0; step < 400; step++) {
        const roll = r.next();
        if (roll < 0.2 || open.length === 0) {
          const request: InferenceRequest = {
            provider: r.pick(['openai', 'vllm']),
            model: r.pick(['m-a', 'm-b1', 'm-c']),
            ...(r.chance(0.5) ? { serverUrl: r.pick(['http://127.0.0.1:8000/v1', 'https://api.openai.com/v1']) } : {}),
            ...(r.chance(0.2) ? { backend: r.pick(['explicit-a', 'explicit-b']) } : {}),
          };
          const stream = r.chance(0.7);
          // The backend also comes from the context, as a gateway's withBackend/withFallback gives it.
          const start = () => metrics.map((m) => m.startRequest(request, { stream }));
          const contextBackend = r.pick([undefined, 'ctx-a', 'ctx-b']);
          const pairOfTrackers = contextBackend === undefined ? start() : withBackend(contextBackend, start);
          const chunks = r.pick(lengths);
          (pairOfTrackers as InferenceTracker[] & { chunks?: number }).chunks = chunks;
          open.push(pairOfTrackers);
        } else if (roll < 0.85) {
          const trackers = r.pick(open) as InferenceTracker[] & { chunks?: number };
          const burst = Math.min(trackers.chunks ?? 0, 1 + Math.floor(r.next() * 200));
          trackers.chunks = (trackers.chunks ?? 0) - burst;
          for (let c = 0; c < burst; c++) {
            clock.now += r.pick([0, 0.5, 7, 20, 33.3, 1500]);
            const at = clock.now;
            if (r.chance(0.002)) clock.now = Number.NaN;
            for (const t of trackers) t.output();
            clock.now = at;
          }
          if (r.chance(0.3)) {
            const usage = { inputTokens: r.pick([0, 5, 70000]), outputTokens: r.pick([1, 2, 300]) };
            for (const t of trackers) t.setUsage(usage);
          }
          if (r.chance(0.2)) {
            const model = r.pick(['m-a', 'm-b2', 'm-z']);
            for (const t of trackers) t.setResponseModel(model);
          }
        } else {
          const index = Math.floor(r.next() * open.length);
          const trackers = open.splice(index, 1)[0]!;
          clock.now += r.pick([0, 1, 250]);
          const how = r.pick(['end', 'end', 'fail', 'cancel']);
          const error = Object.assign(new Error('x'), { status: r.pick([429, 500]) });
          for (const t of trackers) {
            if (how === 'end') t.end({ usage: { outputTokens: 12 } });
            else if (how === 'fail') t.fail(error);
            else t.cancel();
          }
        }
        if (r.chance(0.03)) {
          spy.mockRestore();
          vi.setSystemTime(Date.now() + 1000);
          await collectBoth(p, Math.floor(r.next() * 2), { prometheus: false });
          vi.spyOn(performance, 'now').mockImplementation(() => clock.now);
        }
      }
    } finally {
      spy.mockRestore();
    }
    vi.setSystemTime(Date.now() + 1000);
    const [cumulative] = [await collectBoth(p, 0), await collectBoth(p, 1)];
    const tpoc = cumulative.scopeMetrics[0]!.metrics.find((m) => m.descriptor.name === METRIC.timePerOutputChunk)!;
    expect((tpoc.dataPoints as Array<{ value: { count: number } }>).reduce((n, d) => n + d.value.count, 0)).toBeGreaterThan(1000);
    const requests = cumulative.scopeMetrics[0]!.metrics.find((m) => m.descriptor.name === METRIC.requests)!;
    const backends = new Set(requests.dataPoints.map((d) => d.attributes[ATTR.backend]));
    expect(backends).toEqual(new Set([undefined, 'ctx-a', 'ctx-b', 'explicit-a', 'explicit-b']));
  });
});

describe('binding a MeterProvider', () => {
  const request = { provider: 'p', model: 'm' };

  it('refuses a reader with an aggregation it does not compute: the provider keeps its API instruments', async () => {
    const diagnostics = captureDiag(DiagLogLevel.WARN);
    try {
      const aggregator = createInferenceAggregator();
      const producer = aggregator.createProducer();
      const reader = new (class extends PullReader {
        override selectAggregation(type: InstrumentType) {
          return type === InstrumentType.HISTOGRAM ? { type: AggregationType.EXPONENTIAL_HISTOGRAM } : { type: AggregationType.DEFAULT };
        }
      })({ temporality: 'cumulative' }, [producer]);
      producer.setReader(reader);
      const provider = new MeterProvider({ readers: [reader] });
      expect(aggregator.bind(provider)).toBe(false);
      expect(diagnostics.ours('warn')).toEqual(['otel-inference: a reader selects a non-default aggregation for HISTOGRAM: recording through the API instruments']);
      createInferenceMetrics({ meterProvider: provider }).startRequest(request).end({ usage: { inputTokens: 3 } });
      const { resourceMetrics } = await reader.collect();
      // One scope: the SDK's, with its exponential histograms; the producer has nothing.
      expect(resourceMetrics.scopeMetrics).toHaveLength(1);
      expect(resourceMetrics.scopeMetrics[0]!.metrics.find((m) => m.descriptor.name === METRIC.tokenUsage)!.dataPointType).toBe(DataPointType.EXPONENTIAL_HISTOGRAM);
      await provider.shutdown();
    } finally {
      diagnostics.stop();
    }
  });

  it('refuses a provider otel-inference has recorded into already, and a provider bound already', async () => {
    const diagnostics = captureDiag(DiagLogLevel.WARN);
    try {
      const reader = new PullReader({ temporality: 'cumulative' });
      const provider = new MeterProvider({ readers: [reader] });
      createInferenceMetrics({ meterProvider: provider }).startRequest(request).end();
      expect(createInferenceAggregator().bind(provider)).toBe(false);
      const other = new MeterProvider({ readers: [new PullReader({ temporality: 'cumulative' })] });
      expect(createInferenceAggregator().bind(other)).toBe(true);
      expect(createInferenceAggregator().bind(other)).toBe(false);
      expect(diagnostics.ours('warn')).toEqual([
        'otel-inference: the MeterProvider has otel-inference instruments already: it keeps them, with no aggregator',
        'otel-inference: this MeterProvider records into an aggregator already',
      ]);
      await Promise.all([provider.shutdown(), other.shutdown()]);
    } finally {
      diagnostics.stop();
    }
  });

  it('a producer with no reader set reports as a reader with the SDK defaults would: cumulative', async () => {
    const aggregator = createInferenceAggregator();
    const producer = aggregator.createProducer();
    const provider = new MeterProvider({ readers: [new PullReader({ temporality: 'delta' })] });
    expect(aggregator.bind(provider)).toBe(true);
    createInferenceMetrics({ meterProvider: provider }).startRequest(request).end({ usage: { outputTokens: 2 } });
    const { resourceMetrics, errors } = await producer.collect();
    expect(errors).toEqual([]);
    const metrics = resourceMetrics.scopeMetrics[0].metrics as Array<{ descriptor: { name: string }; aggregationTemporality: AggregationTemporality }>;
    expect(metrics.map((m) => m.aggregationTemporality)).toEqual(metrics.map(() => AggregationTemporality.CUMULATIVE));
    await provider.shutdown();
  });
});
