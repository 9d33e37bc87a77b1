/**
 * The /v1/stats document computed from a real MeterProvider's collections: known values recorded
 * through the API under the semconv names (client, server, backends, fallbacks), the recorder's
 * own series through both sinks, the window over a ring of snapshots (a controlled clock), and the
 * odd inputs (no model, other scopes, a delta reader, a collection that reports errors).
 */
import type { Attributes } from '@opentelemetry/api';
import { AggregationTemporality, MeterProvider, MetricReader, type CollectionResult, type MetricProducer } from '@opentelemetry/sdk-metrics';
import { Collected, type HistogramPoint } from '../../helpers/metrics.js';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ATTR,
  GATEWAY_INSTRUMENT,
  INSTRUMENT,
  METER_NAME,
  OUTCOME,
  SERVER_INSTRUMENT,
  TOKEN_TYPE,
  type InstrumentSpec,
} from '../../../packages/instrumentation/src/semconv.js';
import {
  buildStats,
  createInferenceAggregator,
  createInferenceMetrics,
  createStatsSource,
  histogramQuantile,
  readStatsSnapshot,
  startServerRequest,
  StatsCollectionError,
  statsToJson,
  type InferenceStats,
  type QuantileStats,
} from '../../../packages/instrumentation/src/index.js';

class PullReader extends MetricReader {
  constructor(temporality = AggregationTemporality.CUMULATIVE, metricProducers?: MetricProducer[]) {
    super({ aggregationTemporalitySelector: () => temporality, ...(metricProducers ? { metricProducers } : {}) });
  }
  protected override async onShutdown(): Promise<void> {}
  protected override async onForceFlush(): Promise<void> {}
}

const providers: MeterProvider[] = [];
afterEach(async () => {
  await Promise.all(providers.splice(0).map((p) => p.shutdown()));
});

function setup(temporality = AggregationTemporality.CUMULATIVE) {
  const reader = new PullReader(temporality);
  const provider = new MeterProvider({ readers: [reader] });
  providers.push(provider);
  const meter = provider.getMeter(METER_NAME);
  const histograms = new Map<string, ReturnType<typeof meter.createHistogram>>();
  const counters = new Map<string, ReturnType<typeof meter.createCounter>>();
  const updowns = new Map<string, ReturnType<typeof meter.createUpDownCounter>>();
  /** Records through an instrument created from its semconv spec (name, unit, buckets). */
  const record = (spec: InstrumentSpec, value: number, attributes: Attributes) => {
    if (spec.kind === 'histogram') {
      let h = histograms.get(spec.name);
      if (!h) histograms.set(spec.name, (h = meter.createHistogram(spec.name, { unit: spec.unit, advice: { explicitBucketBoundaries: [...spec.buckets!] } })));
      h.record(value, attributes);
    } else if (spec.kind === 'counter') {
      let c = counters.get(spec.name);
      if (!c) counters.set(spec.name, (c = meter.createCounter(spec.name, { unit: spec.unit })));
      c.add(value, attributes);
    } else {
      let u = updowns.get(spec.name);
      if (!u) updowns.set(spec.name, (u = meter.createUpDownCounter(spec.name, { unit: spec.unit })));
      u.add(value, attributes);
    }
  };
  return { reader, provider, meter, record, collect: () => reader.collect() };
}

function q(stats: QuantileStats, boundaries: readonly number[], counts: number[]) {
  return {
    p50: histogramQuantile(0.5, boundaries, counts),
    p95: histogramQuantile(0.95, boundaries, counts),
    p99: histogramQuantile(0.99, boundaries, counts),
    actual: { p50: stats.p50, p95: stats.p95, p99: stats.p99 },
  };
}

/** Per-bucket counts of `values` over `boundaries` (upper bounds inclusive, as the SDK). */
function countsOf(boundaries: readonly number[], values: number[]): number[] {
  const counts = new Array<number>(boundaries.length + 1).fill(0);
  for (const v of values) {
    let i = 0;
    while (i < boundaries.length && boundaries[i]! < v) i++;
    counts[i]!++;
  }
  return counts;
}

function expectQuantiles(stats: QuantileStats, boundaries: readonly number[], values: number[]) {
  const c = countsOf(boundaries, values);
  const r = q(stats, boundaries, c);
  expect(stats.count).toBe(values.length);
  expect(stats.sum).toBeCloseTo(values.reduce((a, b) => a + b, 0), 12);
  expect(r.actual).toEqual({ p50: r.p50, p95: r.p95, p99: r.p99 });
}

function model(stats: InferenceStats, name: string | null) {
  const m = stats.models.find((x) => x.model === name);
  expect(m, `model ${name}`).toBeDefined();
  return m!;
}

const A = { [ATTR.requestModel]: 'model-a', [ATTR.operationName]: 'chat' };
const B = { [ATTR.requestModel]: 'model-b', [ATTR.operationName]: 'chat' };

describe('the stats document from known values', () => {
  it('client side: requests by outcome, error rate, successful durations, TTFT, per chunk, tokens, rate', async () => {
    const { record, collect } = setup();
    const ok = { ...A, [ATTR.outcome]: OUTCOME.success };
    const durations = [0.05, 0.3, 0.31, 0.7, 1.5];
    for (const d of durations) record(INSTRUMENT.operationDuration, d, ok);
    // Failed and cancelled calls are in the counts, not in the duration quantiles.
    record(INSTRUMENT.operationDuration, 0.001, { ...A, [ATTR.outcome]: OUTCOME.error, [ATTR.errorType]: '500' });
    record(INSTRUMENT.operationDuration, 9, { ...A, [ATTR.outcome]: OUTCOME.cancelled });
    record(INSTRUMENT.requests, 5, ok);
    record(INSTRUMENT.requests, 1, { ...A, [ATTR.outcome]: OUTCOME.error, [ATTR.errorType]: '500' });
    record(INSTRUMENT.requests, 2, { ...A, [ATTR.outcome]: OUTCOME.cancelled });
    // A series per response model: the model of the stats is the request model.
    const ttft = [0.12, 0.2, 0.25];
    for (const [i, v] of ttft.entries()) record(INSTRUMENT.timeToFirstChunk, v, { ...A, [ATTR.responseModel]: `resp-${i % 2}` });
    const gaps = [0.01, 0.02, 0.02, 0.03, 0.05];
    for (const v of gaps) record(INSTRUMENT.timePerOutputChunk, v, A);
    record(INSTRUMENT.tokenUsage, 100, { ...A, [ATTR.tokenType]: TOKEN_TYPE.input });
    record(INSTRUMENT.tokenUsage, 30, { ...A, [ATTR.tokenType]: TOKEN_TYPE.input });
    record(INSTRUMENT.tokenUsage, 400, { ...A, [ATTR.tokenType]: TOKEN_TYPE.output });
    record(INSTRUMENT.outputTokenRate, 50, A);
    record(INSTRUMENT.outputTokenRate, 70, A);
    record(INSTRUMENT.activeRequests, 3, A);
    record(INSTRUMENT.activeRequests, -1, A);
    record(INSTRUMENT.requests, 4, { ...B, [ATTR.outcome]: OUTCOME.success });

    const collected = await collect();
    expect(collected.errors).toEqual([]);
    const stats = buildStats(readStatsSnapshot(collected, 1000), { base: undefined, uptimeSeconds: 10, windowSeconds: 60, time: 0 });

    expect(stats.schema_version).toBe(1);
    expect(stats.time).toBe('1970-01-01T00:00:00.000Z');
    expect(stats.uptime_s).toBe(10);
    expect(stats.models.map((m) => m.model)).toEqual(['model-a', 'model-b']);
    const a = model(stats, 'model-a').client!;
    expect(a.active).toBe(2);
    const life = a.lifetime;
    expect(life.requests).toEqual({ total: 8, success: 5, error: 1, cancelled: 2 });
    expect(life.error_rate).toBe(1 / 8);
    expect(life.requests_per_s).toBe(0.8);
    expectQuantiles(life.duration_s, INSTRUMENT.operationDuration.buckets, durations);
    // 5 successful durations in (0.04, 0.08], (0.16, 0.32] ×2, (0.64, 1.28], (1.28, 2.56]: p50 = rank 2.5 → 0.16 + 0.16 × 1.5/2
    expect(life.duration_s.p50).toBeCloseTo(0.28, 12);
    expectQuantiles(life.ttft_s, INSTRUMENT.timeToFirstChunk.buckets, ttft);
    expectQuantiles(life.time_per_output_chunk_s, INSTRUMENT.timePerOutputChunk.buckets, gaps);
    expect(life.tokens).toEqual({ input: 130, output: 400 });
    expect(life.output_tokens_per_s).toBe(40);
    expectQuantiles(life.output_token_rate, INSTRUMENT.outputTokenRate.buckets, [50, 70]);
    // No earlier snapshot: the window is empty, and says so.
    expect(stats.window).toEqual({ target_s: 60, seconds: 0, complete: false });
    expect(a.window.requests).toEqual({ total: 0, success: 0, error: 0, cancelled: 0 });
    expect(a.window.duration_s).toEqual({ count: 0, sum: 0, p50: null, p95: null, p99: null });
    expect(a.window.error_rate).toBeNull();
    expect(a.window.requests_per_s).toBeNull();

    const b = model(stats, 'model-b');
    expect(b.client!.lifetime.requests.total).toBe(4);
    expect(b.client!.lifetime.error_rate).toBe(0);
    expect(b.client!.lifetime.duration_s).toEqual({ count: 0, sum: 0, p50: null, p95: null, p99: null });
    expect(b.server).toBeUndefined();
    expect(b.backends).toBeUndefined();
    // Plain JSON: no NaN, no Infinity, no undefined.
    expect(JSON.parse(JSON.stringify(stats))).toEqual(stats);
  });

  it('server side: the gen_ai.server.* and inference.server.* series, with their own buckets', async () => {
    const { record, collect } = setup();
    const ok = { ...A, [ATTR.outcome]: OUTCOME.success };
    const durations = [0.4, 0.5, 2];
    for (const d of durations) record(SERVER_INSTRUMENT.requestDuration, d, ok);
    record(SERVER_INSTRUMENT.requestDuration, 0.01, { ...A, [ATTR.outcome]: OUTCOME.error, [ATTR.errorType]: 'Error' });
    record(SERVER_INSTRUMENT.requests, 3, ok);
    record(SERVER_INSTRUMENT.requests, 1, { ...A, [ATTR.outcome]: OUTCOME.error, [ATTR.errorType]: 'Error' });
    const ttft = [0.003, 0.03, 0.07, 0.3];
    for (const v of ttft) record(SERVER_INSTRUMENT.timeToFirstToken, v, A);
    const tpot = [0.02, 0.04];
    for (const v of tpot) record(SERVER_INSTRUMENT.timePerOutputToken, v, A);
    const queue = [0.001, 0.5];
    for (const v of queue) record(SERVER_INSTRUMENT.queueDuration, v, A);
    record(SERVER_INSTRUMENT.tokens, 12, { ...A, [ATTR.tokenType]: TOKEN_TYPE.input });
    record(SERVER_INSTRUMENT.tokens, 90, { ...A, [ATTR.tokenType]: TOKEN_TYPE.output });
    record(SERVER_INSTRUMENT.outputTokenRate, 33, A);
    record(SERVER_INSTRUMENT.activeRequests, 2, A);
    record(SERVER_INSTRUMENT.waitingRequests, 1, A);
    // A phase histogram is not part of the document; it must not disturb it.
    record(SERVER_INSTRUMENT.phaseDuration, 0.2, { ...A, [ATTR.phase]: 'prefill' });

    const stats = buildStats(readStatsSnapshot(await collect(), 0), { base: undefined, uptimeSeconds: 3, windowSeconds: 60 });
    const m = model(stats, 'model-a');
    expect(m.client).toBeUndefined();
    const s = m.server!;
    expect(s.active).toBe(2);
    expect(s.waiting).toBe(1);
    expect(s.lifetime.requests).toEqual({ total: 4, success: 3, error: 1, cancelled: 0 });
    expect(s.lifetime.error_rate).toBe(0.25);
    expectQuantiles(s.lifetime.duration_s, SERVER_INSTRUMENT.requestDuration.buckets, durations);
    expectQuantiles(s.lifetime.ttft_s, SERVER_INSTRUMENT.timeToFirstToken.buckets, ttft);
    expectQuantiles(s.lifetime.time_per_output_token_s, SERVER_INSTRUMENT.timePerOutputToken.buckets, tpot);
    expectQuantiles(s.lifetime.queue_s, SERVER_INSTRUMENT.queueDuration.buckets, queue);
    expectQuantiles(s.lifetime.output_token_rate, SERVER_INSTRUMENT.outputTokenRate.buckets, [33]);
    expect(s.lifetime.tokens).toEqual({ input: 12, output: 90 });
    expect(s.lifetime.output_tokens_per_s).toBe(30);
    expect(JSON.parse(JSON.stringify(stats))).toEqual(stats);
  });

  it('a gateway: both sides of a model, the client side split by backend, fallbacks by from, to and reason', async () => {
    const { record, collect } = setup();
    const viaA = { ...A, [ATTR.backend]: 'backend-a', [ATTR.outcome]: OUTCOME.success };
    const viaB = { ...A, [ATTR.backend]: 'backend-b', [ATTR.outcome]: OUTCOME.error, [ATTR.errorType]: '503' };
    record(INSTRUMENT.requests, 6, viaA);
    record(INSTRUMENT.requests, 2, viaB);
    record(INSTRUMENT.requests, 1, { ...A, [ATTR.outcome]: OUTCOME.success }); // no backend named
    record(INSTRUMENT.timeToFirstChunk, 0.5, viaA);
    record(INSTRUMENT.timeToFirstChunk, 0.05, { ...A, [ATTR.backend]: 'backend-b' });
    record(SERVER_INSTRUMENT.requests, 7, { ...A, [ATTR.outcome]: OUTCOME.success });
    record(SERVER_INSTRUMENT.timeToFirstToken, 0.6, A);
    const fb = (from: string, to: string, reason: string, n: number) =>
      record(GATEWAY_INSTRUMENT.fallbacks, n, { [ATTR.fallbackFrom]: from, [ATTR.fallbackTo]: to, [ATTR.fallbackReason]: reason, [ATTR.requestModel]: 'model-a' });
    fb('backend-b', 'backend-a', '503', 2);
    fb('backend-b', 'backend-a', 'timeout', 1);
    record(GATEWAY_INSTRUMENT.fallbacks, 1, { [ATTR.fallbackFrom]: 'backend-b', [ATTR.fallbackTo]: 'backend-a', [ATTR.fallbackReason]: '503', [ATTR.requestModel]: 'model-b' });

    const stats = buildStats(readStatsSnapshot(await collect(), 0), { base: undefined, uptimeSeconds: 1, windowSeconds: 60 });
    const m = model(stats, 'model-a');
    expect(m.client!.lifetime.requests).toEqual({ total: 9, success: 7, error: 2, cancelled: 0 });
    expect(m.client!.lifetime.ttft_s.count).toBe(2);
    expect(m.server!.lifetime.requests.total).toBe(7);
    expect(m.server!.lifetime.ttft_s.count).toBe(1);
    expect(m.backends!.map((b) => b.backend)).toEqual(['backend-a', 'backend-b']);
    const [a, b] = m.backends!;
    expect(a!.lifetime.requests).toEqual({ total: 6, success: 6, error: 0, cancelled: 0 });
    expect(a!.lifetime.ttft_s.count).toBe(1);
    expect(b!.lifetime.requests).toEqual({ total: 2, success: 0, error: 2, cancelled: 0 });
    expect(b!.lifetime.error_rate).toBe(1);
    expect(b!.lifetime.ttft_s.p50).toBeCloseTo(histogramQuantile(0.5, INSTRUMENT.timeToFirstChunk.buckets, countsOf(INSTRUMENT.timeToFirstChunk.buckets, [0.05])), 12);
    // Summed over models; no model of their own (the counter has no model entry in the document).
    expect(stats.fallbacks.lifetime).toEqual([
      { from: 'backend-b', to: 'backend-a', reason: '503', count: 3 },
      { from: 'backend-b', to: 'backend-a', reason: 'timeout', count: 1 },
    ]);
    expect(stats.fallbacks.window).toEqual([]);
    expect(stats.models.map((x) => x.model)).toEqual(['model-a']);
  });

  it('series without a model (and the overflow series) are under model null, last; other scopes are left out', async () => {
    const { record, collect, provider } = setup();
    record(INSTRUMENT.requests, 2, { [ATTR.operationName]: 'chat', [ATTR.outcome]: OUTCOME.success });
    record(INSTRUMENT.requests, 1, { 'otel.metric.overflow': true });
    record(INSTRUMENT.requests, 1, { ...A, [ATTR.outcome]: OUTCOME.success });
    // Only the response model: grouped under it.
    record(INSTRUMENT.requests, 5, { [ATTR.responseModel]: 'resp-only', [ATTR.outcome]: OUTCOME.success });
    // Same names from another meter: not ours.
    provider.getMeter('someone-else').createCounter(INSTRUMENT.requests.name).add(100, { ...A, [ATTR.outcome]: OUTCOME.success });
    const stats = buildStats(readStatsSnapshot(await collect(), 0), { base: undefined, uptimeSeconds: 1, windowSeconds: 60 });
    expect(stats.models.map((m) => m.model)).toEqual(['model-a', 'resp-only', null]);
    expect(model(stats, 'model-a').client!.lifetime.requests.total).toBe(1);
    // The overflow point has no outcome and no error.type: counted as a success, as /metrics shows it under no outcome label.
    expect(model(stats, null).client!.lifetime.requests).toEqual({ total: 3, success: 3, error: 0, cancelled: 0 });
  });
});

describe('the recorder\'s own series', () => {
  for (const sink of ['API instruments', 'aggregator'] as const) {
    it(`${sink}: counts, sums and quantiles equal the collected data`, async () => {
      let reader: PullReader;
      let provider: MeterProvider;
      if (sink === 'aggregator') {
        const aggregator = createInferenceAggregator();
        const producer = aggregator.createProducer();
        reader = new PullReader(AggregationTemporality.CUMULATIVE, [producer]);
        producer.setReader(reader);
        provider = new MeterProvider({ readers: [reader] });
        expect(aggregator.bind(provider)).toBe(true);
      } else {
        reader = new PullReader();
        provider = new MeterProvider({ readers: [reader] });
      }
      providers.push(provider);
      const metrics = createInferenceMetrics({ meterProvider: provider });
      for (let i = 0; i < 12; i++) {
        const t = metrics.startRequest({ provider: 'vllm', model: i % 3 === 0 ? 'model-b' : 'model-a', serverAddress: '127.0.0.1', serverPort: 8000 }, { stream: true });
        for (let c = 0; c < 1 + (i % 4); c++) {
          await new Promise((r) => setTimeout(r, 1 + (c % 3)));
          t.output();
        }
        if (i % 5 === 4) t.fail(Object.assign(new Error('boom'), { status: 500 }));
        else if (i % 7 === 6) t.cancel();
        else t.end({ usage: { inputTokens: 10 + i, outputTokens: 1 + (i % 4) }, responseModel: `resp-${i % 2}` });
      }
      const collected = await reader.collect();
      expect(collected.errors).toEqual([]);
      const stats = buildStats(readStatsSnapshot(collected, 0), { base: undefined, uptimeSeconds: 1, windowSeconds: 60 });
      const c = new Collected(collected.resourceMetrics.scopeMetrics.flatMap((sm) => sm.metrics));
      for (const name of ['model-a', 'model-b']) {
        const m = { [ATTR.requestModel]: name };
        const client = model(stats, name).client!;
        expect(client.active).toBe(0);
        const life = client.lifetime;
        expect(life.requests).toEqual({
          total: c.total(INSTRUMENT.requests.name, m),
          success: c.total(INSTRUMENT.requests.name, { ...m, [ATTR.outcome]: OUTCOME.success }),
          error: c.total(INSTRUMENT.requests.name, { ...m, [ATTR.outcome]: OUTCOME.error }),
          cancelled: c.total(INSTRUMENT.requests.name, { ...m, [ATTR.outcome]: OUTCOME.cancelled }),
        });
        expect(life.requests.total).toBeGreaterThan(0);
        const same = (stats: QuantileStats, points: HistogramPoint[]) => {
          const counts = points.reduce((acc, p) => acc.map((x, i) => x + p.counts[i]!), new Array<number>(points[0]!.counts.length).fill(0));
          expect(stats.count).toBe(points.reduce((a, p) => a + p.count, 0));
          // Added in the same order as the collection lists them: the same double.
          expect(stats.sum).toBe(points.reduce((a, p) => a + p.sum, 0));
          expect(stats.p50).toBe(histogramQuantile(0.5, points[0]!.boundaries, counts));
          expect(stats.p95).toBe(histogramQuantile(0.95, points[0]!.boundaries, counts));
          expect(stats.p99).toBe(histogramQuantile(0.99, points[0]!.boundaries, counts));
        };
        same(life.duration_s, c.histograms(INSTRUMENT.operationDuration.name, { ...m, [ATTR.outcome]: OUTCOME.success }));
        same(life.ttft_s, c.histograms(INSTRUMENT.timeToFirstChunk.name, m));
        same(life.time_per_output_chunk_s, c.histograms(INSTRUMENT.timePerOutputChunk.name, m));
        same(life.output_token_rate, c.histograms(INSTRUMENT.outputTokenRate.name, m));
        const tokens = (type: string) => c.histograms(INSTRUMENT.tokenUsage.name, { ...m, [ATTR.tokenType]: type }).reduce((a, p) => a + p.sum, 0);
        expect(life.tokens).toEqual({ input: tokens(TOKEN_TYPE.input), output: tokens(TOKEN_TYPE.output) });
      }
    });
  }
});

describe('the server API\'s own series (startServerRequest)', () => {
  it('counts, sums and quantiles of the served side equal the collected data; the gauges are back to 0', async () => {
    const reader = new PullReader();
    const provider = new MeterProvider({ readers: [reader] });
    providers.push(provider);
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    for (let i = 0; i < 9; i++) {
      const req = startServerRequest({ meterProvider: provider, requestModel: i % 3 === 0 ? 'model-b' : 'model-a', stream: true, queued: true });
      await sleep(1 + (i % 3));
      req.admitted();
      {
        using _prefill = req.phase('prefill');
        await sleep(1);
      }
      req.firstToken();
      for (let t = 0; t < 3 + i; t++) req.tokens(1);
      req.tokens(12, 'input');
      if (i === 4) req.failWith(500);
      else if (i === 7) req.cancel();
      else req.end({ usage: { inputTokens: 12, outputTokens: 3 + i } });
    }
    const collected = await reader.collect();
    expect(collected.errors).toEqual([]);
    const stats = buildStats(readStatsSnapshot(collected, 0), { base: undefined, uptimeSeconds: 1, windowSeconds: 60 });
    const c = new Collected(collected.resourceMetrics.scopeMetrics.flatMap((sm) => sm.metrics));
    for (const name of ['model-a', 'model-b']) {
      const m = { [ATTR.requestModel]: name };
      const server = model(stats, name).server!;
      expect(model(stats, name).client).toBeUndefined();
      expect(server.active).toBe(0);
      expect(server.waiting).toBe(0);
      const life = server.lifetime;
      const requests = SERVER_INSTRUMENT.requests.name;
      expect(life.requests).toEqual({
        total: c.total(requests, m),
        success: c.total(requests, { ...m, [ATTR.outcome]: OUTCOME.success }),
        error: c.total(requests, { ...m, [ATTR.outcome]: OUTCOME.error }),
        cancelled: c.total(requests, { ...m, [ATTR.outcome]: OUTCOME.cancelled }),
      });
      const same = (q: QuantileStats, points: HistogramPoint[]) => {
        expect(points.length).toBeGreaterThan(0);
        const counts = points.reduce((acc, p) => acc.map((x, i) => x + p.counts[i]!), new Array<number>(points[0]!.counts.length).fill(0));
        expect(q.count).toBe(points.reduce((a, p) => a + p.count, 0));
        expect(q.sum).toBe(points.reduce((a, p) => a + p.sum, 0));
        expect([q.p50, q.p95, q.p99]).toEqual([0.5, 0.95, 0.99].map((x) => histogramQuantile(x, points[0]!.boundaries, counts)));
      };
      same(life.duration_s, c.histograms(SERVER_INSTRUMENT.requestDuration.name, { ...m, [ATTR.outcome]: OUTCOME.success }));
      same(life.ttft_s, c.histograms(SERVER_INSTRUMENT.timeToFirstToken.name, m));
      same(life.time_per_output_token_s, c.histograms(SERVER_INSTRUMENT.timePerOutputToken.name, m));
      same(life.queue_s, c.histograms(SERVER_INSTRUMENT.queueDuration.name, m));
      same(life.output_token_rate, c.histograms(SERVER_INSTRUMENT.outputTokenRate.name, m));
      const tokens = SERVER_INSTRUMENT.tokens.name;
      expect(life.tokens).toEqual({ input: c.total(tokens, { ...m, [ATTR.tokenType]: TOKEN_TYPE.input }), output: c.total(tokens, { ...m, [ATTR.tokenType]: TOKEN_TYPE.output }) });
    }
    // model-a: requests 1, 2, 4, 5, 7, 8 (4 failed, 7 cancelled); model-b: 0, 3, 6.
    expect(model(stats, 'model-a').server!.lifetime.requests).toEqual({ total: 6, success: 4, error: 1, cancelled: 1 });
    expect(model(stats, 'model-b').server!.lifetime.requests).toEqual({ total: 3, success: 3, error: 0, cancelled: 0 });
  });
});

describe('the window: a ring of snapshots, a controlled clock', () => {
  it('starts empty with the process, then covers the newest snapshot at least a window old', async () => {
    const { record, collect } = setup();
    let now = 0;
    const source = createStatsSource({ collect, windowSeconds: 60, startedEmpty: true, now: () => now, uptime: () => now / 1000 });
    const ok = { ...A, [ATTR.outcome]: OUTCOME.success };
    const read = async (at: number) => {
      now = at;
      return source.read();
    };

    record(INSTRUMENT.requests, 3, ok);
    // Before a full window: since the empty start, complete: false.
    let stats = await read(20_000);
    expect(stats.window).toEqual({ target_s: 60, seconds: 20, complete: false });
    expect(model(stats, 'model-a').client!.window.requests.total).toBe(3);
    expect(model(stats, 'model-a').client!.window.requests_per_s).toBe(3 / 20);
    expect(stats.uptime_s).toBe(20);

    record(INSTRUMENT.requests, 2, ok);
    stats = await read(50_000);
    expect(stats.window).toEqual({ target_s: 60, seconds: 50, complete: false });
    expect(model(stats, 'model-a').client!.window.requests.total).toBe(5);

    record(INSTRUMENT.requests, 4, ok);
    // 70 s: the empty start is the newest snapshot ≥ 60 s old.
    stats = await read(70_000);
    expect(stats.window).toEqual({ target_s: 60, seconds: 70, complete: true });
    expect(model(stats, 'model-a').client!.window.requests.total).toBe(9);

    record(INSTRUMENT.requests, 1, ok);
    // 85 s: the snapshot of 20 s (3 requests then) is the base; 10 since.
    stats = await read(85_000);
    expect(stats.window).toEqual({ target_s: 60, seconds: 65, complete: true });
    expect(model(stats, 'model-a').client!.window.requests.total).toBe(7);
    expect(model(stats, 'model-a').client!.lifetime.requests.total).toBe(10);
    expect(model(stats, 'model-a').client!.lifetime.requests_per_s).toBe(10 / 85);

    // 87 s: closer than a step (5 s) to the last kept one; used, not kept. Base: 20 s still.
    stats = await read(87_000);
    expect(stats.window.seconds).toBe(67);
    // 111 s: base 50 s (5 then); the 87 s read was not kept, so 85 s is the newest.
    record(INSTRUMENT.requests, 1, ok);
    stats = await read(111_000);
    expect(stats.window).toEqual({ target_s: 60, seconds: 61, complete: true });
    expect(model(stats, 'model-a').client!.window.requests.total).toBe(6);
    // Polling far apart: the window is the time since the last snapshot kept, and says so.
    stats = await read(1_000_000);
    expect(stats.window).toEqual({ target_s: 60, seconds: 889, complete: true });
    expect(model(stats, 'model-a').client!.window.requests.total).toBe(0);
  });

  it('without startedEmpty, the first read has an empty window; quantiles over the window come from the bucket differences', async () => {
    const { record, collect } = setup();
    let now = 1_000;
    const source = createStatsSource({ collect, windowSeconds: 10, now: () => now });
    const ok = { ...A, [ATTR.outcome]: OUTCOME.success };
    for (const d of [5, 5, 5]) record(INSTRUMENT.operationDuration, d, ok);
    let stats = await source.read();
    expect(stats.window).toEqual({ target_s: 10, seconds: 0, complete: false });
    expect(model(stats, 'model-a').client!.window.duration_s.count).toBe(0);
    expect(model(stats, 'model-a').client!.lifetime.duration_s.count).toBe(3);

    const recent = [0.1, 0.12, 0.3];
    for (const d of recent) record(INSTRUMENT.operationDuration, d, ok);
    now = 12_000;
    stats = await source.read();
    expect(stats.window).toEqual({ target_s: 10, seconds: 11, complete: true });
    const w = model(stats, 'model-a').client!.window.duration_s;
    expectQuantiles(w, INSTRUMENT.operationDuration.buckets, recent);
    expectQuantiles(model(stats, 'model-a').client!.lifetime.duration_s, INSTRUMENT.operationDuration.buckets, [5, 5, 5, ...recent]);
    // The window's p99 is not the lifetime's: the old slow ones are out of it.
    expect(w.p99!).toBeLessThan(0.33);
  });

  it('a model that appears within the window counts whole; fallbacks in the window are the increase', async () => {
    const { record, collect } = setup();
    let now = 0;
    const source = createStatsSource({ collect, windowSeconds: 1, startedEmpty: true, now: () => now });
    const fb = { [ATTR.fallbackFrom]: 'x', [ATTR.fallbackTo]: 'y', [ATTR.fallbackReason]: '500' };
    record(GATEWAY_INSTRUMENT.fallbacks, 2, fb);
    now = 2_000;
    await source.read();
    record(GATEWAY_INSTRUMENT.fallbacks, 1, fb);
    record(INSTRUMENT.requests, 1, { ...B, [ATTR.outcome]: OUTCOME.error, [ATTR.errorType]: '500' });
    now = 3_500;
    const stats = await source.read();
    expect(stats.fallbacks).toEqual({
      lifetime: [{ from: 'x', to: 'y', reason: '500', count: 3 }],
      window: [{ from: 'x', to: 'y', reason: '500', count: 1 }],
    });
    expect(model(stats, 'model-b').client!.window.requests).toEqual({ total: 1, success: 0, error: 1, cancelled: 0 });
    expect(model(stats, 'model-b').client!.window.error_rate).toBe(1);
  });
});

describe('what a source refuses', () => {
  it('a delta reader: its collections are not cumulative', async () => {
    const { record, collect } = setup(AggregationTemporality.DELTA);
    record(INSTRUMENT.requests, 1, { ...A, [ATTR.outcome]: OUTCOME.success });
    await expect(createStatsSource({ collect }).read()).rejects.toThrow(/cumulative reader/);
  });

  it('a collection that reports errors rejects with StatsCollectionError', async () => {
    const collect = async (): Promise<CollectionResult> => ({ resourceMetrics: { resource: {} as never, scopeMetrics: [] }, errors: [new Error('producer failed')] });
    const error = await createStatsSource({ collect }).read().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StatsCollectionError);
    expect((error as StatsCollectionError).errors).toHaveLength(1);
  });

  it('a window that is not a positive number falls back to 60 s', () => {
    const collect = async () => ({ resourceMetrics: [], errors: [] });
    expect(createStatsSource({ collect, windowSeconds: 0 }).windowSeconds).toBe(60);
    expect(createStatsSource({ collect, windowSeconds: NaN }).windowSeconds).toBe(60);
    expect(createStatsSource({ collect, windowSeconds: 5 }).windowSeconds).toBe(5);
  });
});

describe('statsToJson', () => {
  it('writes exactly what JSON.stringify writes: every part, odd names, nulls, empty documents', async () => {
    const { record, collect } = setup();
    const names = ['model-a', 'with "quotes" and \\ backslash', 'line\nbreak\u2028sep', 'ünïcødé 模型', '__proto__', ''];
    for (const [i, name] of names.entries()) {
      const m = { [ATTR.requestModel]: name };
      record(INSTRUMENT.requests, i + 1, { ...m, [ATTR.outcome]: OUTCOME.success, [ATTR.backend]: `b"${i}` });
      record(INSTRUMENT.operationDuration, 0.1 * (i + 1), { ...m, [ATTR.outcome]: OUTCOME.success });
      record(INSTRUMENT.timeToFirstChunk, 1 / 3, { ...m, [ATTR.backend]: `b"${i}` });
      record(SERVER_INSTRUMENT.timeToFirstToken, 0.123456789, m);
      record(SERVER_INSTRUMENT.requests, 2, { ...m, [ATTR.outcome]: OUTCOME.error, [ATTR.errorType]: '500' });
    }
    record(INSTRUMENT.requests, 1, { [ATTR.outcome]: OUTCOME.cancelled });
    record(GATEWAY_INSTRUMENT.fallbacks, 4, { [ATTR.fallbackFrom]: 'x"', [ATTR.fallbackTo]: 'y\n' });
    let now = 0;
    const source = createStatsSource({ collect, windowSeconds: 1, now: () => now });
    const docs: InferenceStats[] = [await source.read()];
    now = 1500;
    record(INSTRUMENT.requests, 1, { [ATTR.requestModel]: 'model-a', [ATTR.outcome]: OUTCOME.success });
    docs.push(await source.read());
    docs.push(buildStats(readStatsSnapshot({ resourceMetrics: [] }, 0), { base: undefined, uptimeSeconds: 0, windowSeconds: 60 }));
    for (const doc of docs) expect(statsToJson(doc)).toBe(JSON.stringify(doc));
    expect(docs[1]!.models.find((m) => m.model === '__proto__')!.client!.lifetime.requests.total).toBe(5);
    // Not a document of this version: JSON.stringify's text.
    const other = { ...docs[0]!, schema_version: 2, extra: true } as unknown as InferenceStats;
    expect(statsToJson(other)).toBe(JSON.stringify(other));
  });
});
