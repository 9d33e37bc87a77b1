/**
 * `GET /v1/stats`: the JSON snapshot of docs/stats.md, as a node:http request handler. The
 * embedded Prometheus endpoint serves it beside `/metrics`; `statsHandler()` mounts it in an
 * app's own server. It never throws and never rejects: whatever fails becomes a JSON error.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { diag } from '@opentelemetry/api';
import { createStatsSource, statsToJson, type CollectionLike, type StatsSource } from '@otel-inference/instrumentation';
import { STATE_KEY } from './register/state-key.js';

/** What the register state holds for stats (register/boot.ts), read through the global key. */
interface RegisterStatsState {
  readonly skipped?: string;
  readonly meterProvider?: unknown;
  readonly stats?: StatsSource;
}

export interface StatsHandlerOptions {
  /**
   * A cumulative MetricReader to read (any object with sdk-metrics' `collect()`), for an app on
   * its own MeterProvider. Default: the reader of `otel-inference/register` (its Prometheus
   * exporter, else its in-process reader).
   */
  reader?: { collect(): Promise<CollectionLike> };
  /**
   * With `reader`: the recent window, in seconds. Default 60. Register's own window is
   * OTEL_INFERENCE_STATS_WINDOW.
   */
  windowSeconds?: number;
}

/** A node:http request handler; Express takes it as a route handler as it is. */
export type StatsRequestHandler = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * A handler that answers `GET` (and `HEAD`) with the `/v1/stats` document of docs/stats.md; other
 * methods get 405. It reads register's reader unless given `options.reader`.
 *
 *     http.createServer((req, res) => req.url === '/v1/stats' ? stats(req, res) : app(req, res));
 *     app.get('/v1/stats', statsHandler());                                         // Express
 *     fastify.get('/v1/stats', (req, reply) => { reply.hijack(); stats(req.raw, reply.raw); });   // Fastify
 *
 * Answers 503 (JSON, with the reason) when there is nothing to read: register not loaded, or
 * recording into the app's own MeterProvider, or started with no pull reader (OTLP alone: set
 * OTEL_INFERENCE_IN_PROCESS_READER=true). A failed collection answers 500.
 */
export function statsHandler(options: StatsHandlerOptions = {}): StatsRequestHandler {
  const reader = options.reader;
  const own =
    reader !== undefined
      ? createStatsSource({ collect: () => reader.collect(), ...(options.windowSeconds !== undefined ? { windowSeconds: options.windowSeconds } : {}) })
      : undefined;
  return (req, res) => serveStats(own ?? registeredSource(), req, res);
}

/** Register's stats source, or why there is none. */
function registeredSource(): StatsSource | string {
  const state = (globalThis as { [STATE_KEY]?: RegisterStatsState })[STATE_KEY];
  if (state === undefined) return 'otel-inference/register is not loaded: preload it, or pass statsHandler({ reader }) a cumulative MetricReader';
  if (state.stats !== undefined) return state.stats;
  if (state.skipped !== undefined) return `otel-inference/register started nothing (${state.skipped})`;
  if (state.meterProvider === undefined) {
    return 'otel-inference/register records into the app\'s MeterProvider: pass statsHandler({ reader }) a cumulative MetricReader of it';
  }
  return 'no pull reader to read: set OTEL_INFERENCE_IN_PROCESS_READER=true or OTEL_METRICS_EXPORTER=prometheus';
}

let reportedFailure = false;

/** Answers one request from `source` (or with 503 and the reason when it is a string). Never throws. */
export function serveStats(source: StatsSource | string, req: IncomingMessage, res: ServerResponse): void {
  try {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(req, res, 405, { error: 'method not allowed: GET or HEAD' }, { allow: 'GET, HEAD' });
      return;
    }
    if (typeof source === 'string') {
      send(req, res, 503, { error: source });
      return;
    }
    source.read().then(
      (stats) => send(req, res, 200, stats, {}, statsToJson),
      (error: unknown) => {
        if (!reportedFailure) {
          reportedFailure = true;
          diag.error(`otel-inference: /v1/stats could not collect the metrics (${error instanceof Error ? `${error.name}: ${error.message}` : typeof error})`);
        }
        send(req, res, 500, { error: 'the metrics collection failed' });
      },
    );
  } catch {
    send(req, res, 500, { error: 'the metrics collection failed' });
  }
}

function send<T extends object>(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  body: T,
  headers: Record<string, string> = {},
  toJson: (body: T) => string = JSON.stringify,
): void {
  try {
    if (res.headersSent || res.writableEnded || res.destroyed) return;
    const text = toJson(body);
    res.statusCode = status;
    res.setHeader('content-type', 'application/json; charset=utf-8');
    res.setHeader('cache-control', 'no-store');
    res.setHeader('content-length', Buffer.byteLength(text));
    for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
    res.end(req.method === 'HEAD' ? undefined : text);
  } catch {
    // The response cannot be written (the socket is gone): nothing to tell anyone.
  }
}
