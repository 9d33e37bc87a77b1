import { metrics, type MeterProvider } from '@opentelemetry/api';
import { create, type ByKind } from '../core/instruments.js';
import { METER_NAME, SERVER_INSTRUMENT, type ServerInstrumentKey } from '../semconv.js';
import { VERSION } from '../version.js';

/** The serving-side API instruments of one MeterProvider, keyed like {@link SERVER_INSTRUMENT}. */
export type ServerInstruments = {
  readonly [K in ServerInstrumentKey]: ByKind[(typeof SERVER_INSTRUMENT)[K]['kind']];
};

function createServerInstruments(provider: MeterProvider): ServerInstruments {
  const meter = provider.getMeter(METER_NAME, VERSION);
  return {
    requestDuration: create(meter, SERVER_INSTRUMENT.requestDuration),
    timeToFirstToken: create(meter, SERVER_INSTRUMENT.timeToFirstToken),
    timePerOutputToken: create(meter, SERVER_INSTRUMENT.timePerOutputToken),
    requests: create(meter, SERVER_INSTRUMENT.requests),
    activeRequests: create(meter, SERVER_INSTRUMENT.activeRequests),
    waitingRequests: create(meter, SERVER_INSTRUMENT.waitingRequests),
    queueDuration: create(meter, SERVER_INSTRUMENT.queueDuration),
    phaseDuration: create(meter, SERVER_INSTRUMENT.phaseDuration),
    tokens: create(meter, SERVER_INSTRUMENT.tokens),
    outputTokenRate: create(meter, SERVER_INSTRUMENT.outputTokenRate),
  };
}

/**
 * Kept apart from the client-side instruments (core/instruments.ts): the aggregator binds only to
 * a provider with no client-side instruments, and the served requests always record through
 * these API instruments, beside it, under the same meter.
 */
const byProvider = new WeakMap<MeterProvider, ServerInstruments>();

/**
 * The serving-side instruments of `provider`, or of the global MeterProvider as it is now: looked
 * up per request, since instruments taken before the app registers its provider would stay no-ops.
 */
export function serverInstrumentsFor(provider: MeterProvider | undefined): ServerInstruments {
  const resolved = provider ?? metrics.getMeterProvider();
  let instruments = byProvider.get(resolved);
  if (instruments === undefined) {
    instruments = createServerInstruments(resolved);
    byProvider.set(resolved, instruments);
  }
  return instruments;
}
