/**
 * `otel-inference/register`: preload it to get inference metrics with no code change.
 *
 *     OTEL_SERVICE_NAME=chat-api node --import otel-inference/register app.js     # ESM or CJS app
 *     OTEL_SERVICE_NAME=chat-api node --require otel-inference/register app.js    # CJS app
 *
 * It starts a MeterProvider configured from the OTEL_* environment variables (or records into
 * the app's, when one is registered already), enables the instrumentations of
 * docs/configuration.md (openai, HTTP), and flushes on exit. See docs/configuration.md.
 */
import type { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { boot, getState, type RegisterState } from './register/boot.js';
import type { EsmHookKind } from './register/esm-hook.js';
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

export interface RegisterStatus {
  /** Why nothing was started, when nothing was. */
  readonly skipped?: RegisterState['skipped'];
  /** True when register started its own MeterProvider and exporters; false when it records into the app's. */
  readonly ownsMeterProvider: boolean;
  /** The names of the instrumentations enabled (see OTEL_NODE_ENABLED_INSTRUMENTATIONS). */
  readonly instrumentations: readonly string[];
  /** How ESM imports are hooked: in-thread (`sync`, module.registerHooks), on a loader thread (`async`), or not. */
  readonly esmHook: EsmHookKind;
  /**
   * The port the embedded Prometheus endpoint listens on (OTEL_METRICS_EXPORTER=prometheus),
   * once it does: the one chosen when OTEL_EXPORTER_PROMETHEUS_PORT=0.
   */
  readonly prometheusPort?: number;
}

/** What register did in this process. */
export function getRegisterStatus(): RegisterStatus {
  const state = getState();
  return {
    ...(state?.skipped !== undefined ? { skipped: state.skipped } : {}),
    ownsMeterProvider: state?.meterProvider !== undefined,
    instrumentations: state?.instrumentations ?? [],
    esmHook: state?.esmHook ?? 'none',
    ...(state?.prometheus?.boundPort !== undefined ? { prometheusPort: state.prometheus.boundPort } : {}),
  };
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
