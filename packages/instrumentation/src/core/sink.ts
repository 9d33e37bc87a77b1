/**
 * The one seam between a request's recorder and the metrics pipeline. A {@link RequestRecorder}
 * hands every value of a request to a sink twice: +1 active when it begins, everything else
 * once, when it ends. Two sinks exist:
 *
 * - the API instruments (`instruments.ts`): `record`/`add` calls through
 *   `@opentelemetry/api`, for any MeterProvider (the app's own, the NodeSDK);
 * - the aggregator (`aggregator.ts`): series resolved once per request, values added into
 *   pre-sized bucket arrays, handed to the SDK's readers by a MetricProducer. Used only for a
 *   MeterProvider it has been bound to (`otel-inference/register`'s own, or an app's opt-in).
 *
 * Both receive values the recorder has validated already.
 */
import { metrics, type Attributes, type MeterProvider } from '@opentelemetry/api';
import type { Outcome } from '../semconv.js';

/** Everything a request recorded, validated, handed to a sink once when the request ends. */
export interface EndedRequest {
  readonly outcome: Outcome;
  /** `error.type`, when there is one. */
  readonly errorType: string | undefined;
  /** `gen_ai.response.model` (after the model allowlist), when known. */
  readonly responseModel: unknown;
  /** Seconds; undefined when not a finite non-negative time. */
  readonly duration: number | undefined;
  /** Seconds, streams with output only. */
  readonly timeToFirstChunk: number | undefined;
  /**
   * Milliseconds between consecutive output chunks, the first `gapCount` entries; each is a
   * finite non-negative time (the sink records `gap / 1000`, in seconds). Valid only during
   * `end()`: the recorder uses the buffer again afterwards.
   */
  readonly gaps: ArrayLike<number>;
  readonly gapCount: number;
  readonly inputTokens: number | undefined;
  readonly outputTokens: number | undefined;
  /** Output tokens per second, when there is a finite positive rate. */
  readonly outputTokenRate: number | undefined;
  /** The parts of `inputTokens` read from and written to the provider's prompt cache, when reported. */
  readonly cacheReadInputTokens: number | undefined;
  readonly cacheWriteInputTokens: number | undefined;
  /** The part of `outputTokens` spent on reasoning, when reported. */
  readonly reasoningOutputTokens: number | undefined;
}

/** Where a request's values go. `begin` returns what `end` is given back. */
export interface RecordingSink<Handle = unknown> {
  /** A request began with these attributes: +1 `inference.requests.active`. */
  begin(base: Attributes): Handle;
  /** The request ended: −1 active and every other instrument, in one call. */
  end(handle: Handle, base: Attributes, request: EndedRequest): void;
}

/**
 * Sinks bound to a MeterProvider, shared by every copy of this package in the process (the
 * ESM and CJS builds side by side): a copy that records into a bound provider must use the
 * same sink, or the provider would export the same metrics twice.
 */
interface BoundSinks {
  /** The shape of {@link RecordingSink} and {@link EndedRequest}; a copy with another one ignores the map. */
  readonly protocol: number;
  readonly byProvider: WeakMap<MeterProvider, RecordingSink>;
}

const SINK_PROTOCOL = 2;
const SINKS_KEY = Symbol.for('otel-inference.bound-sinks');
const bound: BoundSinks = ((globalThis as { [SINKS_KEY]?: BoundSinks })[SINKS_KEY] ??= {
  protocol: SINK_PROTOCOL,
  byProvider: new WeakMap(),
});

/** The sink bound to `provider` (or to the global MeterProvider as it is now), if any. */
export function boundSinkFor(provider: MeterProvider | undefined): RecordingSink | undefined {
  if (bound.protocol !== SINK_PROTOCOL) return undefined;
  return bound.byProvider.get(provider ?? metrics.getMeterProvider());
}

/** Records every request made for `provider` into `sink` from now on. */
export function bindSink(provider: MeterProvider, sink: RecordingSink): boolean {
  if (bound.protocol !== SINK_PROTOCOL) return false;
  bound.byProvider.set(provider, sink);
  return true;
}

/** Whether `provider` has a sink bound. */
export function hasBoundSink(provider: MeterProvider): boolean {
  return bound.protocol === SINK_PROTOCOL && bound.byProvider.has(provider);
}
