import {
  metrics,
  ValueType,
  type Counter,
  type Histogram,
  type Meter,
  type MeterProvider,
  type UpDownCounter,
} from '@opentelemetry/api';
import { INSTRUMENT, METER_NAME, type InstrumentSpec } from '../semconv.js';
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

/** The API instrument type of each kind this library creates. */
interface ByKind {
  histogram: Histogram;
  counter: Counter;
  updowncounter: UpDownCounter;
}

/** Creates the instrument `spec` (from {@link INSTRUMENT}) describes: kind, unit, value type and buckets. */
function create<S extends InstrumentSpec & { kind: keyof ByKind }>(meter: Meter, spec: S): ByKind[S['kind']] {
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
