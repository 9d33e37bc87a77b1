/**
 * Gauges a model server reports about itself (batch size, KV-cache use, padding), read from a
 * callback at each collection: an OpenTelemetry observable gauge, with the app's callback
 * contained so that it can never break a collection or the app.
 */
import {
  diag,
  metrics,
  ValueType,
  type Attributes,
  type MeterProvider,
  type ObservableGauge,
  type ObservableResult,
} from '@opentelemetry/api';
import { METER_NAME, SERVER_GAUGE } from '../semconv.js';
import { VERSION } from '../version.js';

/** What a gauge callback returns: one value, one value per attribute set, or nothing this time. */
export type ServerGaugeObservation = number | readonly { readonly value: number; readonly attributes?: Attributes }[] | undefined | null;

export type ServerGaugeCallback = () => ServerGaugeObservation | PromiseLike<ServerGaugeObservation>;

/** A gauge: its name, and optionally unit, description and value type (a {@link SERVER_GAUGE} entry fits). */
export interface ServerGaugeSpec {
  readonly name: string;
  readonly unit?: string;
  readonly description?: string;
  readonly valueType?: 'int' | 'double';
}

export interface ServerGaugeOptions {
  /** UCUM unit; `1` for a ratio (values from 0 to 1). Default: the well-known gauge's, else none. */
  unit?: string;
  /** Default: the well-known gauge's, else none. */
  description?: string;
  /** Attributes of a plain number the callback returns. Default none. */
  attributes?: Attributes;
  /**
   * Where to register the gauge. Default: the global MeterProvider *at the time of the call*, so
   * call it once the SDK is registered (the preload registers it before the app's code runs).
   */
  meterProvider?: MeterProvider;
}

/** What {@link observeServerGauge} returns. */
export interface ServerGaugeHandle extends Disposable {
  /** Stops reading the callback. Idempotent. */
  remove(): void;
}

const WELL_KNOWN: ReadonlyMap<string, ServerGaugeSpec> = new Map(Object.values(SERVER_GAUGE).map((spec) => [spec.name, spec]));

/** One observable gauge per name and MeterProvider; each observeServerGauge call adds a callback to it. */
const byProvider = new WeakMap<MeterProvider, Map<string, ObservableGauge>>();

function gaugeOf(provider: MeterProvider, spec: ServerGaugeSpec): ObservableGauge {
  let gauges = byProvider.get(provider);
  if (gauges === undefined) {
    gauges = new Map();
    byProvider.set(provider, gauges);
  }
  let gauge = gauges.get(spec.name);
  if (gauge === undefined) {
    gauge = provider.getMeter(METER_NAME, VERSION).createObservableGauge(spec.name, {
      ...(spec.unit !== undefined ? { unit: spec.unit } : {}),
      ...(spec.description !== undefined ? { description: spec.description } : {}),
      ...(spec.valueType === 'int' ? { valueType: ValueType.INT } : {}),
    });
    gauges.set(spec.name, gauge);
  }
  return gauge;
}

const NOOP_HANDLE: ServerGaugeHandle = { remove() {}, [Symbol.dispose]() {} };

/**
 * Reports a gauge of the server, read from `callback` at each collection (each export, each
 * scrape): e.g. `observeServerGauge(SERVER_GAUGE.batchSize, () => batch.length)`. The callback
 * returns a number, a list of `{ value, attributes }`, or nothing (no point this time); it may be
 * async. A callback that throws or rejects gives no point that time, with one warning per gauge;
 * a value that is not a finite number, or a ratio (unit `1`) outside 0..1, is left out the same way.
 * The first registration of a name on a MeterProvider sets its unit and description.
 */
export function observeServerGauge(
  gauge: string | ServerGaugeSpec,
  callback: ServerGaugeCallback,
  options: ServerGaugeOptions = {},
): ServerGaugeHandle {
  try {
    const given: ServerGaugeSpec = typeof gauge === 'string' ? { name: gauge } : gauge;
    if (typeof given?.name !== 'string' || typeof callback !== 'function') {
      diag.warn('otel-inference: observeServerGauge() needs a gauge name and a callback: nothing is observed');
      return NOOP_HANDLE;
    }
    const known = WELL_KNOWN.get(given.name);
    const spec: ServerGaugeSpec = {
      name: given.name,
      unit: options.unit ?? given.unit ?? known?.unit,
      description: options.description ?? given.description ?? known?.description,
      valueType: given.valueType ?? known?.valueType,
    };
    const ratio = spec.unit === '1';
    const constant = options.attributes;
    let warned = false;
    const warnOnce = (why: string) => {
      if (warned) return;
      warned = true;
      diag.warn(`otel-inference: gauge ${spec.name}: ${why}; no point for it this time`);
    };
    const observe = (result: ObservableResult, value: unknown, attributes: Attributes | undefined) => {
      if (typeof value !== 'number' || !Number.isFinite(value)) return warnOnce(`a value that is not a finite number (${typeof value})`);
      if (ratio && (value < 0 || value > 1)) return warnOnce(`the ratio ${value} is outside 0..1`);
      result.observe(value, attributes);
    };
    const report = (result: ObservableResult, observation: ServerGaugeObservation) => {
      if (observation === undefined || observation === null) return;
      if (Array.isArray(observation)) {
        for (const point of observation as readonly unknown[]) {
          if (typeof point !== 'object' || point === null) {
            warnOnce('a list entry that is not { value, attributes }');
            continue;
          }
          const { value, attributes } = point as { value?: unknown; attributes?: Attributes };
          observe(result, value, attributes);
        }
        return;
      }
      observe(result, observation, constant);
    };
    const failed = (error: unknown) =>
      warnOnce(`the callback failed (${error instanceof Error ? `${error.name}: ${error.message}` : typeof error})`);
    const observable = async (result: ObservableResult): Promise<void> => {
      try {
        report(result, await callback());
      } catch (error) {
        failed(error);
      }
    };
    const provider = options.meterProvider ?? metrics.getMeterProvider();
    const instrument = gaugeOf(provider, spec);
    instrument.addCallback(observable);
    let removed = false;
    const remove = () => {
      if (removed) return;
      removed = true;
      try {
        instrument.removeCallback(observable);
      } catch {
        // A provider that throws here has nothing left to remove.
      }
    };
    return { remove, [Symbol.dispose]: remove };
  } catch (error) {
    diag.warn(`otel-inference: observeServerGauge() failed: nothing is observed (${error instanceof Error ? error.name : typeof error})`);
    return NOOP_HANDLE;
  }
}
