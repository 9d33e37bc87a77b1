/**
 * The fast sink: aggregates requests in this package and hands the result to the OpenTelemetry
 * SDK's readers through a MetricProducer per reader, instead of making 12 + (output chunks)
 * `record`/`add` calls that each hash the attribute set again.
 *
 * - A request's series are resolved once: its base attributes by seven map lookups of their values
 *   in `begin()` (no key is built or hashed per request), its end attributes (response model,
 *   error.type) by a two-level lookup in `end()`; outcome and token type are fixed slots. Each
 *   series caches, per reader, the accumulation of that reader's current collection interval.
 * - Values are added into pre-sized bucket arrays (count, sum, min, max, counts[]), in the order
 *   the API instruments would record them, so that every sum is the same double.
 * - Every reader gets what the SDK would give it for the same records with no View (the SDK then
 *   keeps one storage per reader, `MeterSharedState._registerMetricStorage`): its own interval
 *   accumulation and cardinality limit (`DeltaMetricProcessor`: 2000 by default, the reader's
 *   `selectCardinalityLimit`, an `otel.metric.overflow` series once reached), its temporality per
 *   instrument type, chosen at its first collection (`TemporalMetricProcessor`: cumulative merges
 *   into the last report, delta restarts a series reported last time at that collection), start
 *   times, descriptors, scope, point and metric order.
 *
 * It depends on no SDK package: the SDK's enum values below are its stable public API.
 */
import { diag, ValueType, type Attributes, type HrTime, type MeterProvider } from '@opentelemetry/api';
import {
  ATTR,
  INSTRUMENT,
  METER_NAME,
  OUTCOME,
  OVERFLOW_ATTRIBUTE,
  TOKEN_MODALITY,
  TOKEN_TYPE,
  type InstrumentKey,
  type InstrumentSpec,
  type Outcome,
} from '../semconv.js';
import { VERSION } from '../version.js';
import { hasInstruments, producesOutput } from './instruments.js';
import { reportInternalError } from './internal-errors.js';
import { bindSink, hasBoundSink, type EndedRequest, type RecordingSink } from './sink.js';

/** sdk-metrics' AggregationTemporality.CUMULATIVE (DELTA is 0). */
const CUMULATIVE = 1;
/** sdk-metrics' DataPointType. */
const HISTOGRAM_POINTS = 0;
const SUM_POINTS = 3;
/** sdk-metrics' AggregationType.DEFAULT: the only aggregation the aggregator computes. */
const DEFAULT_AGGREGATION = 0;
/** sdk-metrics' default cardinality limit per metric stream and reader. */
const DEFAULT_CARDINALITY_LIMIT = 2000;

/** sdk-metrics' InstrumentType of each kind this package creates. */
const INSTRUMENT_TYPE = {
  histogram: 'HISTOGRAM',
  counter: 'COUNTER',
  updowncounter: 'UP_DOWN_COUNTER',
} as const;

/**
 * The metrics in the order the API instruments are created (`instruments.ts`), which is the
 * order the SDK reports them in.
 */
const ORDER = [
  'operationDuration',
  'tokenUsage',
  'timeToFirstChunk',
  'timePerOutputChunk',
  'requests',
  'activeRequests',
  'outputTokenRate',
  'usageInputTokens',
  'usageOutputTokens',
  'usageCacheReadInputTokens',
  'usageCacheWriteInputTokens',
  'usageReasoningOutputTokens',
] as const satisfies readonly InstrumentKey[];
const M_DURATION = 0;
const M_TOKENS = 1;
const M_TTFC = 2;
const M_TPOC = 3;
const M_REQUESTS = 4;
const M_ACTIVE = 5;
const M_RATE = 6;
const M_USAGE_INPUT = 7;
const M_USAGE_OUTPUT = 8;
const M_USAGE_CACHE_READ = 9;
const M_USAGE_CACHE_WRITE = 10;
const M_USAGE_REASONING = 11;

type HistogramKey = { [K in InstrumentKey]: (typeof INSTRUMENT)[K]['kind'] extends 'histogram' ? K : never }[InstrumentKey];

export interface InferenceAggregatorOptions {
  /**
   * Bucket boundaries per histogram, in place of the semconv ones: what a View with an explicit
   * bucket histogram aggregation does on the API path (a MeterProvider's Views do not apply to
   * the aggregator). Sorted, and ±Infinity dropped, as the SDK does.
   */
  boundaries?: Partial<Record<HistogramKey, readonly number[]>>;
}

/** What the aggregator needs of a MetricReader (sdk-metrics' `MetricReader` has all three). */
export interface ReaderSelectors {
  selectAggregationTemporality(instrumentType: never): unknown;
  selectCardinalityLimit?(instrumentType: never): number;
  selectAggregation?(instrumentType: never): unknown;
}

/**
 * A MetricProducer for one MetricReader: give it in the reader's `metricProducers`, then call
 * {@link InferenceMetricProducer.setReader} with that reader. Typed loosely so that this package
 * needs no SDK: it is an sdk-metrics `MetricProducer`.
 */
export interface InferenceMetricProducer {
  /** The SDK's MetricProducer method: this reader's data of the otel-inference meter. */
  collect(options?: { timeoutMillis?: number }): Promise<{
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- sdk-metrics' ResourceMetrics, without depending on it
    resourceMetrics: { resource: any; scopeMetrics: any[] };
    errors: unknown[];
  }>;
  /**
   * The reader this producer was given to: its aggregation temporality and cardinality limit
   * per instrument type apply. Without it, the producer reports as a reader with the SDK's
   * defaults would (cumulative, 2000 series).
   */
  setReader(reader: ReaderSelectors): void;
}

// ---------------------------------------------------------------------------------------------
// Accumulations: the SDK's HistogramAccumulation and SumAccumulation, field for field.

class HistogramAcc {
  count = 0;
  sum = 0;
  min = Infinity;
  max = -Infinity;
  hasMinMax = false;
  readonly counts: number[];

  constructor(
    public startTime: HrTime,
    readonly attributes: Attributes,
    readonly boundaries: readonly number[],
  ) {
    const counts: number[] = [];
    for (let i = 0; i <= boundaries.length; i++) counts.push(0);
    this.counts = counts;
  }

  record(value: number): void {
    this.count += 1;
    this.sum += value;
    this.min = Math.min(value, this.min);
    this.max = Math.max(value, this.max);
    this.hasMinMax = true;
    this.counts[bucketOf(this.boundaries, value)]! += 1;
  }
}

class SumAcc {
  value = 0;
  constructor(
    public startTime: HrTime,
    readonly attributes: Attributes,
  ) {}
}

type Acc = HistogramAcc | SumAcc;

/** The index of the first boundary ≥ value (the SDK's `binarySearchUB`): boundaries are upper bounds, inclusive. */
function bucketOf(boundaries: readonly number[], value: number): number {
  const n = boundaries.length;
  let i = 0;
  while (i < n && boundaries[i]! < value) i++;
  return i;
}

/** @opentelemetry/core's millisToHrTime. */
function millisToHrTime(epochMillis: number): HrTime {
  return [Math.trunc(epochMillis / 1e3), Math.round((epochMillis % 1e3) * 1e6)];
}

/** The SDK's HistogramAggregator.merge: the earlier start time and attributes, everything else added. */
function mergeHistograms(previous: HistogramAcc, delta: HistogramAcc): HistogramAcc {
  const merged = new HistogramAcc(previous.startTime, previous.attributes, previous.boundaries);
  const counts = merged.counts;
  for (let i = 0; i < counts.length; i++) counts[i] = previous.counts[i]! + delta.counts[i]!;
  if (previous.hasMinMax && delta.hasMinMax) {
    merged.min = Math.min(previous.min, delta.min);
    merged.max = Math.max(previous.max, delta.max);
  } else if (previous.hasMinMax) {
    merged.min = previous.min;
    merged.max = previous.max;
  } else if (delta.hasMinMax) {
    merged.min = delta.min;
    merged.max = delta.max;
  }
  merged.count = previous.count + delta.count;
  merged.sum = previous.sum + delta.sum;
  merged.hasMinMax = previous.hasMinMax || delta.hasMinMax;
  return merged;
}

function mergeSums(previous: SumAcc, delta: SumAcc): SumAcc {
  const merged = new SumAcc(previous.startTime, previous.attributes);
  merged.value = previous.value + delta.value;
  return merged;
}

// ---------------------------------------------------------------------------------------------
// One metric as one reader sees it.

interface Metric {
  readonly spec: InstrumentSpec;
  readonly instrumentType: (typeof INSTRUMENT_TYPE)[keyof typeof INSTRUMENT_TYPE];
  readonly descriptor: object;
  /** Histograms: the boundaries the aggregation uses. */
  readonly boundaries: readonly number[] | undefined;
  readonly monotonic: boolean;
}

interface Report {
  readonly accumulations: Map<string, Acc>;
  readonly collectionTime: HrTime;
  readonly temporality: number;
}

class ReaderStream {
  /** The series recorded since this reader's last collection (the SDK's `_activeCollectionStorage`). */
  active = new Map<string, Acc>();
  /** What was reported last (the SDK's `_reportHistory`). */
  last: Report | undefined;
  /** The cardinality limit less one (the SDK compares the interval's size with it). */
  private limitLessOne: number | undefined;

  constructor(
    readonly metric: Metric,
    private readonly slot: ReaderSlot,
  ) {}

  get cardinalityLessOne(): number {
    this.limitLessOne ??= this.slot.cardinalityLimit(this.metric.instrumentType) - 1;
    return this.limitLessOne;
  }
}

const OVERFLOW_KEY = '\u0001overflow';

/** One reader's state: an epoch per collection, a stream per metric. */
class ReaderSlot {
  epoch = 0;
  reader: ReaderSelectors | undefined;
  readonly streams: ReaderStream[];

  constructor(metrics: readonly Metric[]) {
    this.streams = metrics.map((metric) => new ReaderStream(metric, this));
  }

  cardinalityLimit(instrumentType: string): number {
    const selected = this.reader?.selectCardinalityLimit?.(instrumentType as never);
    return selected ?? DEFAULT_CARDINALITY_LIMIT;
  }

  temporality(instrumentType: string): number {
    return this.reader === undefined ? CUMULATIVE : Number(this.reader.selectAggregationTemporality(instrumentType as never));
  }
}

/** One attribute set of one metric: the accumulation of each reader's current interval, cached. */
class Series {
  readonly epochs: number[] = [];
  readonly accs: Acc[] = [];
  constructor(
    readonly metric: number,
    readonly key: string,
    readonly attributes: Attributes,
  ) {}
}

// ---------------------------------------------------------------------------------------------
// Series keys. Two attribute sets are one series for the SDK when their JSON (sorted keys) is
// equal; a key here is equal exactly then. Each value's part is self-delimiting: a string is
// its length and itself, a finite number `#n;`, a boolean `T`/`F`, an absent value `-`, and
// anything else its JSON (which conflates NaN, ±Infinity and null, as the SDK's hash does).

function part(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return `${value.length}:${value}`;
    case 'undefined':
      return '-';
    case 'boolean':
      return value ? 'T' : 'F';
    case 'number':
      if (Number.isFinite(value)) return `#${value};`;
  }
  return `?${JSON.stringify(value) ?? 'null'}\u0000`;
}

/** The base attributes a request begins with, in the order the recorder builds them (metrics.ts). */
const BASE_KEYS = [
  ATTR.operationName,
  ATTR.providerName,
  ATTR.requestStream,
  ATTR.requestModel,
  ATTR.serverAddress,
  ATTR.serverPort,
  ATTR.backend,
] as const;

const [K_OPERATION, K_PROVIDER, K_STREAM, K_REQUEST_MODEL, K_ADDRESS, K_PORT, K_BACKEND] = BASE_KEYS;

function baseKeyOf(base: Attributes): string {
  return (
    part(base[K_OPERATION]) +
    part(base[K_PROVIDER]) +
    part(base[K_STREAM]) +
    part(base[K_REQUEST_MODEL]) +
    part(base[K_ADDRESS]) +
    part(base[K_PORT]) +
    part(base[K_BACKEND])
  );
}

/**
 * One value as a Map key that is the same key exactly when the SDK's hash sees the same value:
 * strings, booleans, finite numbers (0 and -0 alike, as for JSON) and undefined as they are; any
 * other value as one token object per JSON text (NaN, ±Infinity and null are all `null`).
 */
const tokens = new Map<string, object>();
function lookupKey(value: unknown): unknown {
  switch (typeof value) {
    case 'string':
    case 'boolean':
    case 'undefined':
      return value;
    case 'number':
      if (Number.isFinite(value)) return value;
  }
  const json = JSON.stringify(value) ?? 'null';
  let token = tokens.get(json);
  if (token === undefined) {
    if (tokens.size >= MAX_CACHED_BASES) tokens.clear();
    token = {};
    tokens.set(json, token);
  }
  return token;
}

type Trie = Map<unknown, unknown>;

/** `level`'s child for `key`, created if need be. */
function child(level: Trie, key: unknown): Trie {
  let next = level.get(key) as Trie | undefined;
  if (next === undefined) {
    next = new Map();
    level.set(key, next);
  }
  return next;
}

const OUTCOME_SLOT: Readonly<Record<Outcome, number>> = {
  [OUTCOME.success]: 0,
  [OUTCOME.error]: 1,
  [OUTCOME.cancelled]: 2,
};

/** A request's base attributes, resolved once per request in begin(). */
class BaseEntry {
  /** By response model, then error.type: the common case, string or absent values. */
  readonly ends = new Map<string | undefined, Map<string | undefined, EndEntry>>();
  /** Any other value types, by their key parts. */
  odd: Map<string, EndEntry> | undefined;
  /** The usage counters' series, by response model (their attributes carry no error.type or outcome). */
  readonly usage = new Map<unknown, UsageEntry>();
  readonly active: Series;
  readonly producesOutput: boolean;

  constructor(
    readonly key: string,
    readonly base: Attributes,
  ) {
    this.active = new Series(M_ACTIVE, key, base);
    this.producesOutput = producesOutput(base);
  }
}

/** The `gen_ai.client.inference.usage.*` series of one base and response model: the API sink's attributes, key for key. */
class UsageEntry {
  readonly input: Series;
  readonly output: Series;
  readonly cacheRead: Series;
  readonly cacheWrite: Series;
  readonly reasoning: Series;

  constructor(key: string, base: Attributes, responseModel: unknown) {
    const attributes: Attributes = { ...base, [ATTR.tokenModality]: TOKEN_MODALITY.unknown };
    if (responseModel !== undefined) attributes[ATTR.responseModel] = responseModel as string;
    const seriesKey = key + part(responseModel) + part(TOKEN_MODALITY.unknown);
    this.input = new Series(M_USAGE_INPUT, seriesKey, attributes);
    this.output = new Series(M_USAGE_OUTPUT, seriesKey, attributes);
    this.cacheRead = new Series(M_USAGE_CACHE_READ, seriesKey, attributes);
    this.cacheWrite = new Series(M_USAGE_CACHE_WRITE, seriesKey, attributes);
    this.reasoning = new Series(M_USAGE_REASONING, seriesKey, attributes);
  }
}

/** The attributes a request ended with (its base, response model, error.type) and their series. */
class EndEntry {
  readonly attributes: Attributes;
  readonly requests: (Series | undefined)[] = [undefined, undefined, undefined];
  readonly durations: (Series | undefined)[] = [undefined, undefined, undefined];
  private timeToFirstChunk: Series | undefined;
  private timePerOutputChunk: Series | undefined;
  private rate: Series | undefined;
  private input: Series | undefined;
  private output: Series | undefined;

  constructor(
    readonly key: string,
    base: Attributes,
    responseModel: unknown,
    errorType: unknown,
  ) {
    // The same attribute objects, key for key, as the API sink builds.
    const attributes: Attributes = { ...base };
    if (responseModel !== undefined) attributes[ATTR.responseModel] = responseModel as string;
    if (errorType !== undefined) attributes[ATTR.errorType] = errorType as string;
    this.attributes = attributes;
  }

  outcomeSeries(outcome: Outcome): number {
    const slot = OUTCOME_SLOT[outcome];
    if (this.requests[slot] === undefined) {
      const withOutcome: Attributes = { ...this.attributes, [ATTR.outcome]: outcome };
      const key = `${this.key}|${outcome}`;
      this.requests[slot] = new Series(M_REQUESTS, key, withOutcome);
      this.durations[slot] = new Series(M_DURATION, key, withOutcome);
    }
    return slot;
  }

  get ttfc(): Series {
    return (this.timeToFirstChunk ??= new Series(M_TTFC, this.key, this.attributes));
  }

  get tpoc(): Series {
    return (this.timePerOutputChunk ??= new Series(M_TPOC, this.key, this.attributes));
  }

  get outputTokenRate(): Series {
    return (this.rate ??= new Series(M_RATE, this.key, this.attributes));
  }

  get inputTokens(): Series {
    return (this.input ??= new Series(M_TOKENS, `${this.key}|i`, { ...this.attributes, [ATTR.tokenType]: TOKEN_TYPE.input }));
  }

  get outputTokens(): Series {
    return (this.output ??= new Series(M_TOKENS, `${this.key}|o`, { ...this.attributes, [ATTR.tokenType]: TOKEN_TYPE.output }));
  }
}

/** Past this many base attribute sets, the cache of resolved series starts over (the readers' state stays). */
const MAX_CACHED_BASES = 1024;
/** …and past this many end attribute sets. */
const MAX_CACHED_ENDS = 8192;

function sortedBoundaries(boundaries: readonly number[]): number[] {
  // As ExplicitBucketHistogramAggregation: sorted, nothing at or below -Infinity, nothing from Infinity on.
  const sorted = [...boundaries].sort((a, b) => a - b);
  const from = sorted.lastIndexOf(-Infinity) + 1;
  let to = sorted.indexOf(Infinity);
  if (to === -1) to = sorted.length;
  return sorted.slice(from, to);
}

function metricsOf(options: InferenceAggregatorOptions): Metric[] {
  return ORDER.map((key): Metric => {
    const spec: InstrumentSpec = INSTRUMENT[key];
    const instrumentType = INSTRUMENT_TYPE[spec.kind as keyof typeof INSTRUMENT_TYPE];
    const override = spec.kind === 'histogram' ? options.boundaries?.[key as HistogramKey] : undefined;
    return {
      spec,
      instrumentType,
      // createInstrumentDescriptor(name, type, options), field for field.
      descriptor: {
        name: spec.name,
        type: instrumentType,
        description: spec.description,
        unit: spec.unit,
        valueType: spec.valueType === 'int' ? ValueType.INT : ValueType.DOUBLE,
        advice: spec.buckets !== undefined ? { explicitBucketBoundaries: [...spec.buckets] } : {},
      },
      boundaries: spec.buckets !== undefined ? sortedBoundaries(override ?? spec.buckets) : undefined,
      monotonic: spec.kind === 'counter',
    };
  });
}

/**
 * Aggregates requests for the MeterProviders it is bound to, and reports them to each reader
 * through that reader's {@link InferenceMetricProducer}.
 */
export class InferenceAggregator implements RecordingSink<BaseEntry> {
  private readonly metrics: readonly Metric[];
  private readonly slots: ReaderSlot[] = [];
  private readonly scope = { name: METER_NAME, version: VERSION, schemaUrl: undefined };
  /** Base entries by operation, provider, stream, request model, server address, port, then backend. */
  private bases: Trie = new Map();
  private cachedBases = 0;
  private cachedEnds = 0;

  constructor(options: InferenceAggregatorOptions = {}) {
    this.metrics = metricsOf(options);
  }

  /** A producer for one more reader. Create every producer before the first request. */
  createProducer(): InferenceMetricProducer {
    const slot = new ReaderSlot(this.metrics);
    this.slots.push(slot);
    return {
      collect: () => this.collect(slot),
      setReader: (reader: ReaderSelectors) => {
        slot.reader = reader;
      },
    };
  }

  /**
   * Records every request for `meterProvider` here from now on, instead of through its API
   * instruments. False, with a warning, when this cannot be exact: a reader that selects an
   * aggregation other than the default one, or a provider that otel-inference has recorded into
   * through its instruments already (their metrics would be reported twice).
   */
  bind(meterProvider: MeterProvider): boolean {
    if (hasBoundSink(meterProvider)) {
      diag.warn('otel-inference: this MeterProvider records into an aggregator already');
      return false;
    }
    if (hasInstruments(meterProvider)) {
      diag.warn('otel-inference: the MeterProvider has otel-inference instruments already: it keeps them, with no aggregator');
      return false;
    }
    for (const slot of this.slots) {
      for (const metric of this.metrics) {
        const aggregation = slot.reader?.selectAggregation?.(metric.instrumentType as never) as { type?: unknown } | undefined;
        if (aggregation !== undefined && aggregation.type !== DEFAULT_AGGREGATION) {
          diag.warn(
            `otel-inference: a reader selects a non-default aggregation for ${metric.instrumentType}: recording through the API instruments`,
          );
          return false;
        }
      }
    }
    return bindSink(meterProvider, this);
  }

  begin(base: Attributes): BaseEntry {
    // Seven lookups of values the caller keeps (the model, the host, the backend): their hashes
    // are cached in the strings, where a key built per request would be hashed again each time.
    const level = child(
      child(
        child(child(child(child(this.bases, lookupKey(base[K_OPERATION])), lookupKey(base[K_PROVIDER])), lookupKey(base[K_STREAM])), lookupKey(base[K_REQUEST_MODEL])),
        lookupKey(base[K_ADDRESS]),
      ),
      lookupKey(base[K_PORT]),
    );
    const backend = lookupKey(base[K_BACKEND]);
    let entry = level.get(backend) as BaseEntry | undefined;
    if (entry === undefined) {
      if (this.cachedBases >= MAX_CACHED_BASES || this.cachedEnds >= MAX_CACHED_ENDS) {
        // The cache only saves lookups: the readers' state is keyed by the series' keys.
        this.bases = new Map();
        this.cachedBases = 0;
        this.cachedEnds = 0;
        return this.begin(base);
      }
      entry = new BaseEntry(baseKeyOf(base), base);
      level.set(backend, entry);
      this.cachedBases++;
    }
    this.addSum(entry.active, 1);
    return entry;
  }

  end(handle: BaseEntry, base: Attributes, request: EndedRequest): void {
    this.addSum(handle.active, -1);
    const entry = this.endEntry(handle, base, request.responseModel, request.errorType);
    const slot = entry.outcomeSeries(request.outcome);
    this.addSum(entry.requests[slot]!, 1);
    if (request.duration !== undefined) this.recordOne(entry.durations[slot]!, request.duration);
    if (request.timeToFirstChunk !== undefined) this.recordOne(entry.ttfc, request.timeToFirstChunk);
    if (request.gapCount > 0) this.recordGaps(entry.tpoc, request.gaps, request.gapCount);
    if (request.inputTokens !== undefined) this.recordOne(entry.inputTokens, request.inputTokens);
    if (request.outputTokens !== undefined) this.recordOne(entry.outputTokens, request.outputTokens);
    if (request.outputTokenRate !== undefined) this.recordOne(entry.outputTokenRate, request.outputTokenRate);
    // In the API sink's order: input, cache read, cache write, then output and reasoning.
    const usage = this.usageEntry(handle, base, request.responseModel);
    this.addSum(usage.input, request.inputTokens ?? 0);
    this.addSum(usage.cacheRead, request.cacheReadInputTokens ?? 0);
    this.addSum(usage.cacheWrite, request.cacheWriteInputTokens ?? 0);
    if (handle.producesOutput) {
      this.addSum(usage.output, request.outputTokens ?? 0);
      this.addSum(usage.reasoning, request.reasoningOutputTokens ?? 0);
    }
  }

  private usageEntry(handle: BaseEntry, base: Attributes, responseModel: unknown): UsageEntry {
    const key = lookupKey(responseModel);
    let entry = handle.usage.get(key);
    if (entry === undefined) {
      entry = new UsageEntry(handle.key, base, responseModel);
      handle.usage.set(key, entry);
      this.cachedEnds++;
    }
    return entry;
  }

  /**
   * The end attributes' entry. A new one is built from this request's own base attributes, as the
   * SDK keeps the first attribute object it sees of a series (values its hash does not tell apart,
   * NaN and null, 0 and -0, are then reported as the first request that created the entry had them).
   */
  private endEntry(handle: BaseEntry, base: Attributes, responseModel: unknown, errorType: unknown): EndEntry {
    if ((responseModel === undefined || typeof responseModel === 'string') && (errorType === undefined || typeof errorType === 'string')) {
      let byError = handle.ends.get(responseModel);
      if (byError === undefined) {
        byError = new Map();
        handle.ends.set(responseModel, byError);
      }
      let entry = byError.get(errorType);
      if (entry === undefined) {
        entry = new EndEntry(handle.key + part(responseModel) + part(errorType), base, responseModel, errorType);
        byError.set(errorType, entry);
        this.cachedEnds++;
      }
      return entry;
    }
    const key = part(responseModel) + part(errorType);
    handle.odd ??= new Map();
    let entry = handle.odd.get(key);
    if (entry === undefined) {
      entry = new EndEntry(handle.key + key, base, responseModel, errorType);
      handle.odd.set(key, entry);
      this.cachedEnds++;
    }
    return entry;
  }

  /** The accumulation of `series` in `slot`'s current interval, created (or the overflow's) on first use. */
  private accOf(series: Series, slot: ReaderSlot, index: number): Acc {
    if (series.epochs[index] === slot.epoch) return series.accs[index]!;
    const stream = slot.streams[series.metric]!;
    let acc = stream.active.get(series.key);
    if (acc === undefined) {
      if (stream.active.size >= stream.cardinalityLessOne) {
        acc = stream.active.get(OVERFLOW_KEY);
        if (acc === undefined) {
          acc = this.createAcc(stream.metric, { [OVERFLOW_ATTRIBUTE]: true });
          stream.active.set(OVERFLOW_KEY, acc);
        }
      } else {
        acc = this.createAcc(stream.metric, series.attributes);
        stream.active.set(series.key, acc);
      }
    }
    series.epochs[index] = slot.epoch;
    series.accs[index] = acc;
    return acc;
  }

  private createAcc(metric: Metric, attributes: Attributes): Acc {
    const startTime = millisToHrTime(Date.now());
    return metric.boundaries !== undefined ? new HistogramAcc(startTime, attributes, metric.boundaries) : new SumAcc(startTime, attributes);
  }

  private addSum(series: Series, value: number): void {
    const slots = this.slots;
    for (let i = 0; i < slots.length; i++) (this.accOf(series, slots[i]!, i) as SumAcc).value += value;
  }

  private recordOne(series: Series, value: number): void {
    const slots = this.slots;
    for (let i = 0; i < slots.length; i++) (this.accOf(series, slots[i]!, i) as HistogramAcc).record(value);
  }

  /** The chunk gaps, in ms, recorded in seconds, one after another as the API instruments would. */
  private recordGaps(series: Series, gaps: ArrayLike<number>, gapCount: number): void {
    const slots = this.slots;
    for (let s = 0; s < slots.length; s++) {
      const acc = this.accOf(series, slots[s]!, s) as HistogramAcc;
      const { boundaries, counts } = acc;
      const n = boundaries.length;
      let { sum, min, max } = acc;
      for (let i = 0; i < gapCount; i++) {
        const value = gaps[i]! / 1000;
        sum += value;
        min = Math.min(value, min);
        max = Math.max(value, max);
        let b = 0;
        while (b < n && boundaries[b]! < value) b++;
        counts[b]! += 1;
      }
      acc.count += gapCount;
      acc.sum = sum;
      acc.min = min;
      acc.max = max;
      acc.hasMinMax = true;
    }
  }

  /** One reader's collection: what the SDK's SyncMetricStorage.collect gives, metric by metric. */
  private collect(slot: ReaderSlot): Promise<Awaited<ReturnType<InferenceMetricProducer['collect']>>> {
    try {
      const collectionTime = millisToHrTime(Date.now());
      slot.epoch++;
      const metrics: object[] = [];
      for (const stream of slot.streams) {
        const data = this.report(slot, stream, collectionTime);
        if (data !== undefined) metrics.push(data);
      }
      return Promise.resolve({
        resourceMetrics: { resource: EMPTY_RESOURCE, scopeMetrics: metrics.length > 0 ? [{ scope: this.scope, metrics }] : [] },
        errors: [],
      });
    } catch (error) {
      reportInternalError('collect', error);
      return Promise.resolve({ resourceMetrics: { resource: EMPTY_RESOURCE, scopeMetrics: [] }, errors: [error] });
    }
  }

  /** TemporalMetricProcessor.buildMetrics for one reader, then the aggregator's toMetricData. */
  private report(slot: ReaderSlot, stream: ReaderStream, collectionTime: HrTime): object | undefined {
    const current = stream.active;
    stream.active = new Map();
    const last = stream.last;
    let result = current;
    let temporality: number;
    if (last !== undefined) {
      temporality = last.temporality;
      if (temporality === CUMULATIVE) {
        result = last.accumulations;
        for (const [key, acc] of current) {
          const previous = result.get(key);
          result.set(key, previous === undefined ? acc : merge(previous, acc));
        }
      } else {
        for (const key of last.accumulations.keys()) {
          const acc = current.get(key);
          if (acc !== undefined) acc.startTime = last.collectionTime;
        }
      }
    } else {
      temporality = slot.temporality(stream.metric.instrumentType);
    }
    stream.last = { accumulations: result, collectionTime, temporality };
    if (result.size === 0) return undefined;

    const { metric } = stream;
    if (metric.boundaries !== undefined) {
      const dataPoints = [];
      for (const acc of result.values()) {
        const h = acc as HistogramAcc;
        dataPoints.push({
          attributes: h.attributes,
          startTime: h.startTime,
          endTime: collectionTime,
          value: {
            min: h.hasMinMax ? h.min : undefined,
            max: h.hasMinMax ? h.max : undefined,
            sum: h.sum,
            buckets: { boundaries: h.boundaries, counts: h.counts },
            count: h.count,
          },
        });
      }
      return { descriptor: metric.descriptor, aggregationTemporality: temporality, dataPointType: HISTOGRAM_POINTS, dataPoints };
    }
    const dataPoints = [];
    for (const acc of result.values()) {
      const s = acc as SumAcc;
      dataPoints.push({ attributes: s.attributes, startTime: s.startTime, endTime: collectionTime, value: s.value });
    }
    return {
      descriptor: metric.descriptor,
      aggregationTemporality: temporality,
      dataPointType: SUM_POINTS,
      dataPoints,
      isMonotonic: metric.monotonic,
    };
  }
}

function merge(previous: Acc, delta: Acc): Acc {
  return previous instanceof HistogramAcc ? mergeHistograms(previous, delta as HistogramAcc) : mergeSums(previous, delta as SumAcc);
}

/**
 * The resource of a producer's result: a MetricReader reports its MeterProvider's resource and
 * ignores this one.
 */
const EMPTY_RESOURCE = { attributes: {} };

/** Creates an {@link InferenceAggregator}. */
export function createInferenceAggregator(options?: InferenceAggregatorOptions): InferenceAggregator {
  return new InferenceAggregator(options);
}
