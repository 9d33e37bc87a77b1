/**
 * Fallbacks across backends: `withFallback` tries backends in order and counts each move from one
 * to the next in `inference.fallbacks` {from, to, reason}; `recordFallback` counts one for apps
 * that route on their own.
 */
import { diag, metrics, ValueType, type Counter, type MeterProvider } from '@opentelemetry/api';
import { errorTypeOf, isAbortError } from '../core/error-type.js';
import { reportInternalError } from '../core/internal-errors.js';
import { LabelBound } from '../core/labels.js';
import { ATTR, ERROR_TYPE, GATEWAY_INSTRUMENT, METER_NAME } from '../semconv.js';
import { VERSION } from '../version.js';
import { backendLabel, withBackend } from './backend.js';

/** A backend: its name, or any object with a `name` (a client, a base URL, weights...). */
export type FallbackBackend = string | { readonly name: string };

export interface FallbackOptions {
  /**
   * Whether a failure moves on to the next backend. Default: every error except the caller's own
   * abort (an `AbortError`, openai's `APIUserAbortError`, `code` `ABORT_ERR`). When it returns
   * false (or throws), `withFallback` rejects with that error at once.
   */
  shouldFallback?: (error: unknown, backend: string, attempt: number) => boolean;
  /** The caller's abort signal: once aborted, no further backend is tried. */
  signal?: AbortSignal;
  /** Where `inference.fallbacks` is recorded. Default: the global MeterProvider, looked up at each fallback. */
  meterProvider?: MeterProvider;
}

export interface RecordFallbackOptions {
  /** Where `inference.fallbacks` is recorded. Default: the global MeterProvider, looked up at each fallback. */
  meterProvider?: MeterProvider;
}

const counters = new WeakMap<MeterProvider, Counter>();

function fallbacksCounter(provider: MeterProvider | undefined): Counter {
  const resolved = provider ?? metrics.getMeterProvider();
  let counter = counters.get(resolved);
  if (counter === undefined) {
    const spec = GATEWAY_INSTRUMENT.fallbacks;
    counter = resolved.getMeter(METER_NAME, VERSION).createCounter(spec.name, {
      description: spec.description,
      unit: spec.unit,
      valueType: ValueType.INT,
    });
    counters.set(resolved, counter);
  }
  return counter;
}

/** Reasons an app gives to `recordFallback`; those of `withFallback` are `error.type` values, bounded already. */
const MAX_REASONS = 32;
const reasons = new LabelBound(ATTR.fallbackReason, MAX_REASONS, ERROR_TYPE.other);

function nameOf(backend: FallbackBackend): string {
  return typeof backend === 'string' ? backend : backend.name;
}

function count(from: string, to: string, reason: string, provider: MeterProvider | undefined): void {
  try {
    fallbacksCounter(provider).add(1, {
      [ATTR.fallbackFrom]: backendLabel(from),
      [ATTR.fallbackTo]: backendLabel(to),
      [ATTR.fallbackReason]: reason,
    });
  } catch (error) {
    reportInternalError('fallback', error);
  }
}

/**
 * Counts one fallback in `inference.fallbacks`, for an app that routes on its own: a request left
 * backend `from` for backend `to` because of `reason` (an `error.type` value such as `429`,
 * `timeout` or an error class name; bounded like backend names, `_OTHER` past the bound). Never
 * throws.
 */
export function recordFallback(from: string, to: string, reason: string, options: RecordFallbackOptions = {}): void {
  count(from, to, reasons.bound(reason), options.meterProvider);
}

/**
 * Tries `backends` in order: `call(backend, attempt)` runs inside `withBackend(name)`, so every
 * inference request it makes carries `inference.backend`. Resolves with the first success exactly
 * as `call` produced it (the same object). A failure (a throw or a rejection) that
 * `options.shouldFallback` accepts is counted in `inference.fallbacks` {from, to, reason =
 * `error.type` of the failure} and the next backend is tried; the last backend's failure, or one
 * that must not fall back (by default the caller's abort), rejects with that same error object,
 * unchanged. Only the calls are retried: a stream that fails after `call` resolved with it is the
 * caller's (`call` should resolve once the backend has answered, e.g. with openai's stream).
 *
 * `attempt` counts from 0. An empty `backends` rejects with a TypeError.
 */
export async function withFallback<B extends FallbackBackend, R>(
  backends: readonly B[],
  call: (backend: B, attempt: number) => R,
  options: FallbackOptions = {},
): Promise<Awaited<R>> {
  if (backends.length === 0) throw new TypeError('withFallback: no backends to try');
  for (let attempt = 0; ; attempt++) {
    const backend = backends[attempt]!;
    const name = nameOf(backend);
    try {
      return await withBackend(name, () => call(backend, attempt));
    } catch (error) {
      const next = backends[attempt + 1];
      if (next === undefined || options.signal?.aborted === true || !fallsBack(options, error, name, attempt)) throw error;
      count(name, nameOf(next), reasonOf(error), options.meterProvider);
    }
  }
}

let warnedShouldFallback = false;

function fallsBack(options: FallbackOptions, error: unknown, backend: string, attempt: number): boolean {
  if (options.shouldFallback === undefined) return !isAbortError(error);
  try {
    return options.shouldFallback(error, backend, attempt) === true;
  } catch {
    // The app's own predicate failed: the caller gets the call's error, as if it said no.
    if (!warnedShouldFallback) {
      warnedShouldFallback = true;
      diag.warn('otel-inference: withFallback: shouldFallback threw; not falling back');
    }
    return false;
  }
}

function reasonOf(error: unknown): string {
  try {
    return errorTypeOf(error);
  } catch (classifyError) {
    reportInternalError('error.type', classifyError);
    return ERROR_TYPE.other;
  }
}
