/**
 * `otel-inference/register`: preload it to get inference metrics with no code change.
 *
 *     OTEL_SERVICE_NAME=chat-api node --import otel-inference/register app.js     # ESM or CJS app
 *     OTEL_SERVICE_NAME=chat-api node --require otel-inference/register app.js    # CJS app
 *
 * It starts a MeterProvider configured from the OTEL_* environment variables, instruments
 * `openai` (CJS and ESM copies) and HTTP, and flushes on exit. See the README.
 */
import type { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { boot, getState } from './register/boot.js';
import { hookAcknowledged } from './register/ready.js';

boot();

/** True in the ESM build (the entry waited for the ESM loader hook), false in the CJS build. */
export const esmLoaderHookAwaited: boolean = hookAcknowledged;

/**
 * The in-process pull reader, when OTEL_INFERENCE_IN_PROCESS_READER=true: `await
 * reader.collect()` returns the SDK's current (cumulative) data, histograms with their
 * bucket counts. Undefined when the switch is off or register did not start.
 */
export function getRegisteredMetricReader(): MetricReader | undefined {
  return getState()?.metricReader;
}

/** The MeterProvider started by register (also the global one), or undefined. */
export function getRegisteredMeterProvider(): MeterProvider | undefined {
  return getState()?.meterProvider;
}

/** Exports what has been recorded so far; bounded by OTEL_METRIC_EXPORT_TIMEOUT, never rejects. */
export function forceFlush(): Promise<void> {
  return getState()?.forceFlush() ?? Promise.resolve();
}

/**
 * Flushes and stops the exporters; bounded by OTEL_METRIC_EXPORT_TIMEOUT, never rejects. Call
 * it before an explicit `process.exit()` (which cannot wait for the automatic flush).
 */
export function shutdown(): Promise<void> {
  return getState()?.shutdown() ?? Promise.resolve();
}
