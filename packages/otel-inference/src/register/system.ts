/**
 * The system gauges register adds when it owns the MeterProvider:
 * - host and process CPU and memory, from @opentelemetry/instrumentation-host-metrics
 *   (OTEL_INFERENCE_HOST_METRICS). Default: on once the process serves an inference route
 *   (an inference server or gateway), off in a process that only calls models;
 * - NVIDIA GPUs, from nvidia-smi (OTEL_INFERENCE_GPU_METRICS, gpu.ts). Default: on wherever
 *   nvidia-smi answers, nothing at all elsewhere.
 * docs/configuration.md#system-and-gpu-metrics says the same to users.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { IncomingMessage } from 'node:http';
import { createRequire } from 'node:module';
import { diag, type MeterProvider } from '@opentelemetry/api';
import { DEFAULT_SERVER_ROUTES } from '@otel-inference/instrumentation';
import type { RegisterConfig } from './config.js';
import { GpuPoller } from './gpu.js';

declare const __filename: string | undefined;
const localRequire = createRequire(typeof __filename === 'string' ? __filename : import.meta.url);

/**
 * The metric groups of instrumentation-host-metrics register enables: CPU and memory. Not
 * `system.network`: the library reads it through systeminformation, which runs commands
 * synchronously on some platforms, inside the collect.
 */
export const HOST_METRIC_GROUPS = ['system.cpu', 'system.memory', 'process.cpu', 'process.memory'] as const;

/**
 * The paths that make a process an inference server for the host-metrics default: POST to the
 * routes the server-side instrumentation tracks (OTEL_INFERENCE_SERVER_ROUTES, parsed once in
 * config.ts, else the library's defaults; empty or `none`: none).
 */
function serverPaths(config: RegisterConfig): ReadonlySet<string> {
  return new Set((config.serverRoutes ?? DEFAULT_SERVER_ROUTES).map((route) => route.path));
}

/** Node's own channel: published for every request a node:http server receives, whatever the framework. */
const HTTP_SERVER_REQUEST_START = 'http.server.request.start';

/**
 * Calls `onServe` once, at the first POST a node:http server in this process receives on one of
 * `routes`, then stops listening. Returns the function that stops listening earlier.
 */
export function onFirstInferenceRequest(routes: ReadonlySet<string>, onServe: () => void): () => void {
  if (routes.size === 0) return () => {};
  let listening = true;
  const stop = (): void => {
    if (!listening) return;
    listening = false;
    unsubscribe(HTTP_SERVER_REQUEST_START, listener);
  };
  const listener = (message: unknown): void => {
    const request = (message as { request?: IncomingMessage } | undefined)?.request;
    if (request?.method !== 'POST' || request.url === undefined) return;
    const query = request.url.indexOf('?');
    if (!routes.has(query < 0 ? request.url : request.url.slice(0, query))) return;
    stop();
    onServe();
  };
  subscribe(HTTP_SERVER_REQUEST_START, listener);
  return stop;
}

/** Starts the host and process metrics of @opentelemetry/instrumentation-host-metrics on `meterProvider`. */
export function startHostMetrics(meterProvider: MeterProvider): void {
  try {
    const { HostMetricsInstrumentation } = localRequire(
      '@opentelemetry/instrumentation-host-metrics',
    ) as typeof import('@opentelemetry/instrumentation-host-metrics');
    const instrumentation = new HostMetricsInstrumentation({ enabled: false, metricGroups: [...HOST_METRIC_GROUPS] });
    instrumentation.setMeterProvider(meterProvider);
    instrumentation.enable();
  } catch (error) {
    diag.warn(`host metrics unavailable: ${error instanceof Error ? error.message : String(error)}`);
  }
}

export interface SystemMetrics {
  /** Stops polling nvidia-smi, and waiting for a first inference request. */
  stop(): void;
}

export function startSystemMetrics(config: RegisterConfig, meterProvider: MeterProvider): SystemMetrics {
  const gpu =
    config.gpuMetrics === false
      ? undefined
      : new GpuPoller(meterProvider, { intervalMillis: config.exportIntervalMillis, explicit: config.gpuMetrics === true });
  gpu?.start();

  let stopWaiting = (): void => {};
  if (config.hostMetrics === true) {
    startHostMetrics(meterProvider);
  } else if (config.hostMetrics === undefined) {
    let stopped = false;
    const stopListening = onFirstInferenceRequest(serverPaths(config), () => {
      // Not inside the request's own dispatch: loading the library takes a few ms, once.
      setImmediate(() => {
        if (!stopped) startHostMetrics(meterProvider);
      });
    });
    stopWaiting = () => {
      stopped = true;
      stopListening();
    };
  }
  return {
    stop() {
      stopWaiting();
      gpu?.stop();
    },
  };
}
