import { diag, DiagLogLevel, type Attributes } from '@opentelemetry/api';
import {
  AggregationTemporality,
  DataPointType,
  MeterProvider,
  MetricReader,
  type DataPoint,
  type Histogram,
  type MetricData,
} from '@opentelemetry/sdk-metrics';
import { expect } from 'vitest';
import { createInferenceMetrics, type InferenceMetrics, type InferenceMetricsOptions } from '../../packages/instrumentation/src/index.js';

/** A pull reader: the test decides when to collect. */
class TestReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected override async onShutdown(): Promise<void> {}
  protected override async onForceFlush(): Promise<void> {}
}

export interface HistogramPoint {
  attributes: Attributes;
  count: number;
  sum: number;
  min: number | undefined;
  max: number | undefined;
  boundaries: number[];
  counts: number[];
}

export interface SumPoint {
  attributes: Attributes;
  value: number;
}

export class Collected {
  constructor(readonly metrics: MetricData[]) {}

  names(): string[] {
    return this.metrics.map((m) => m.descriptor.name).sort();
  }

  metric(name: string): MetricData | undefined {
    return this.metrics.find((m) => m.descriptor.name === name);
  }

  /** Histogram points of `name` whose attributes include every entry of `match`. */
  histograms(name: string, match: Attributes = {}): HistogramPoint[] {
    const metric = this.metric(name);
    if (metric === undefined) return [];
    expect(metric.dataPointType).toBe(DataPointType.HISTOGRAM);
    return (metric.dataPoints as DataPoint<Histogram>[])
      .filter((p) => matches(p.attributes, match))
      .map((p) => ({
        attributes: p.attributes,
        count: p.value.count,
        sum: p.value.sum ?? 0,
        min: p.value.min,
        max: p.value.max,
        boundaries: p.value.buckets.boundaries,
        counts: p.value.buckets.counts,
      }));
  }

  /** The single histogram point of `name` matching `match`; fails if there is not exactly one. */
  histogram(name: string, match: Attributes = {}): HistogramPoint {
    const points = this.histograms(name, match);
    expect(points, `${name} ${JSON.stringify(match)}`).toHaveLength(1);
    return points[0]!;
  }

  sums(name: string, match: Attributes = {}): SumPoint[] {
    const metric = this.metric(name);
    if (metric === undefined) return [];
    expect(metric.dataPointType).toBe(DataPointType.SUM);
    return (metric.dataPoints as DataPoint<number>[])
      .filter((p) => matches(p.attributes, match))
      .map((p) => ({ attributes: p.attributes, value: p.value }));
  }

  /** Gauge points (observable or synchronous gauges) of `name` whose attributes include every entry of `match`. */
  gauges(name: string, match: Attributes = {}): SumPoint[] {
    const metric = this.metric(name);
    if (metric === undefined) return [];
    expect(metric.dataPointType).toBe(DataPointType.GAUGE);
    return (metric.dataPoints as DataPoint<number>[])
      .filter((p) => matches(p.attributes, match))
      .map((p) => ({ attributes: p.attributes, value: p.value }));
  }

  /** Total of the sum points of `name` matching `match` (0 when none). */
  total(name: string, match: Attributes = {}): number {
    return this.sums(name, match).reduce((acc, p) => acc + p.value, 0);
  }
}

function matches(attributes: Attributes, match: Attributes): boolean {
  return Object.entries(match).every(([key, value]) =>
    value === undefined ? !(key in attributes) : attributes[key] === value,
  );
}

export interface TestMetrics {
  provider: MeterProvider;
  metrics: InferenceMetrics;
  /** Collects through the reader and asserts the SDK reported no errors. */
  collect(): Promise<Collected>;
  shutdown(): Promise<void>;
}

export function createTestMetrics(options: Omit<InferenceMetricsOptions, 'meterProvider'> = {}): TestMetrics {
  const reader = new TestReader();
  const provider = new MeterProvider({ readers: [reader] });
  return {
    provider,
    metrics: createInferenceMetrics({ ...options, meterProvider: provider }),
    async collect() {
      const { resourceMetrics, errors } = await reader.collect();
      expect(errors).toEqual([]);
      return new Collected(resourceMetrics.scopeMetrics.flatMap((s) => s.metrics));
    },
    shutdown: () => provider.shutdown(),
  };
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** An async generator yielding `chunks`, waiting `delays[i]` ms before chunk i (or `delayMs`). */
export async function* timedChunks<T>(chunks: readonly T[], delayMs: number | readonly number[] = 0): AsyncGenerator<T> {
  for (let i = 0; i < chunks.length; i++) {
    const delay = typeof delayMs === 'number' ? delayMs : (delayMs[i] ?? 0);
    if (delay > 0) await sleep(delay);
    yield chunks[i]!;
  }
}

/** OpenAI chat.completion.chunk builders. */
export const chatChunk = {
  role: (model = 'm-resp') => ({ model, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] }),
  content: (text: string, model = 'm-resp') => ({ model, choices: [{ index: 0, delta: { content: text }, finish_reason: null }] }),
  finish: (model = 'm-resp') => ({ model, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }),
  usage: (input: number, output: number, model = 'm-resp') => ({
    model,
    choices: [],
    usage: { prompt_tokens: input, completion_tokens: output, total_tokens: input + output },
  }),
};

/** Consumes an async iterable to the end, returning its chunks. */
export async function drain<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const chunk of iterable) out.push(chunk);
  return out;
}

/** Forces garbage collection (the tests run with --expose-gc) and lets finalizers run. */
export async function collectGarbage(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run the tests with --expose-gc');
  for (let i = 0; i < 5; i++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
    await sleep(5);
  }
}

/** A chunk and the consumer's clock around the `next()` call that produced it. */
export interface TimedChunk<T> {
  chunk: T;
  /** performance.now() just before the consumer called next(). */
  requestedAt: number;
  /** performance.now() just after next() resolved with this chunk. */
  receivedAt: number;
}

/**
 * Consumes an async iterable to the end, as a `for await` loop would, timing each `next()`.
 * Whatever the instrumentation stamps while producing chunk i lies in
 * [chunks[i].requestedAt, chunks[i].receivedAt]: a control measured in the same run, however
 * loaded the machine is.
 */
export async function drainTimed<T>(iterable: AsyncIterable<T>): Promise<TimedChunk<T>[]> {
  const iterator = iterable[Symbol.asyncIterator]();
  const out: TimedChunk<T>[] = [];
  for (;;) {
    const requestedAt = performance.now();
    const result = await iterator.next();
    const receivedAt = performance.now();
    if (result.done === true) return out;
    out.push({ chunk: result.value, requestedAt, receivedAt });
  }
}

/**
 * Captures every OTel diag line at `level` and above (the SDK's own warnings included) until
 * `stop()`. `ours()` gives this package's lines (`otel-inference: …`) of one level.
 */
export function captureDiag(level: DiagLogLevel = DiagLogLevel.DEBUG) {
  const lines = { error: [] as string[], warn: [] as string[], info: [] as string[], debug: [] as string[] };
  diag.setLogger(
    {
      error: (m: string) => lines.error.push(m),
      warn: (m: string) => lines.warn.push(m),
      info: (m: string) => lines.info.push(m),
      debug: (m: string) => lines.debug.push(m),
      verbose() {},
    },
    { logLevel: level, suppressOverrideMessage: true },
  );
  return {
    lines,
    ours: (of: keyof typeof lines) => lines[of].filter((m) => m.startsWith('otel-inference')),
    stop: () => diag.disable(),
  };
}
