import {
  metrics,
  ValueType,
  type Counter,
  type Histogram,
  type MeterProvider,
  type UpDownCounter,
} from '@opentelemetry/api';
import {
  DESCRIPTION,
  DURATION_BUCKETS,
  METER_NAME,
  METRIC,
  TOKEN_BUCKETS,
  TOKENS_PER_SECOND_BUCKETS,
  UNIT,
} from '../semconv.js';
import { VERSION } from '../version.js';

export interface Instruments {
  readonly duration: Histogram;
  readonly tokenUsage: Histogram;
  readonly timeToFirstChunk: Histogram;
  readonly timePerOutputChunk: Histogram;
  readonly requests: Counter;
  readonly activeRequests: UpDownCounter;
  readonly outputTokenRate: Histogram;
}

function createInstruments(provider: MeterProvider): Instruments {
  const meter = provider.getMeter(METER_NAME, VERSION);
  const seconds = (name: string, description: string) =>
    meter.createHistogram(name, {
      description,
      unit: UNIT.seconds,
      advice: { explicitBucketBoundaries: [...DURATION_BUCKETS] },
    });
  return {
    duration: seconds(METRIC.operationDuration, DESCRIPTION.operationDuration),
    timeToFirstChunk: seconds(METRIC.timeToFirstChunk, DESCRIPTION.timeToFirstChunk),
    timePerOutputChunk: seconds(METRIC.timePerOutputChunk, DESCRIPTION.timePerOutputChunk),
    tokenUsage: meter.createHistogram(METRIC.tokenUsage, {
      description: DESCRIPTION.tokenUsage,
      unit: UNIT.tokens,
      valueType: ValueType.INT,
      advice: { explicitBucketBoundaries: [...TOKEN_BUCKETS] },
    }),
    outputTokenRate: meter.createHistogram(METRIC.outputTokenRate, {
      description: DESCRIPTION.outputTokenRate,
      unit: UNIT.tokensPerSecond,
      advice: { explicitBucketBoundaries: [...TOKENS_PER_SECOND_BUCKETS] },
    }),
    requests: meter.createCounter(METRIC.requests, {
      description: DESCRIPTION.requests,
      unit: UNIT.requests,
      valueType: ValueType.INT,
    }),
    activeRequests: meter.createUpDownCounter(METRIC.activeRequests, {
      description: DESCRIPTION.activeRequests,
      unit: UNIT.requests,
      valueType: ValueType.INT,
    }),
  };
}

const byProvider = new WeakMap<MeterProvider, Instruments>();

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
