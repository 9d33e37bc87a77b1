/**
 * The embedded Prometheus endpoint, with the metric names the OpenTelemetry Collector's
 * `prometheus` exporter writes, so that one dashboard serves both paths.
 *
 * @opentelemetry/exporter-prometheus has no option to append unit suffixes
 * (`gen_ai.client.operation.duration` in `s` becomes `gen_ai_client_operation_duration`,
 * where the collector writes `gen_ai_client_operation_duration_seconds`). Its serializer
 * is kept whole; only the metric names handed to it are translated first, by
 * `prometheusName` from @otel-inference/instrumentation: the collector's translation
 * (prometheus/otlptranslator, "UnderscoreEscapingWithSuffixes"), the same function the
 * library's table of Prometheus names (and so the dashboard and the rules tests) uses.
 */
import { PrometheusExporter, PrometheusSerializer, type ExporterConfig } from '@opentelemetry/exporter-prometheus';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { diag } from '@opentelemetry/api';
import { DataPointType, type MetricData, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { prometheusName, type InstrumentKind, type StatsSource } from '@otel-inference/instrumentation';
import { serveStats } from '../stats.js';

/** Where the endpoint serves the JSON snapshot (docs/stats.md), beside `/metrics`. */
export const STATS_PATH = '/v1/stats';

/** The path of a request's URL; undefined when it does not parse (the exporter answers 400 then). */
function pathOf(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  try {
    return new URL(url, 'http://localhost').pathname;
  } catch {
    return undefined;
  }
}

/** The instrument kind the collector's translation sees in a data point type. */
function kindOf(m: MetricData): InstrumentKind {
  switch (m.dataPointType) {
    case DataPointType.SUM:
      return m.isMonotonic ? 'counter' : 'updowncounter';
    case DataPointType.GAUGE:
      return 'gauge';
    default:
      return 'histogram';
  }
}

/** A PrometheusSerializer that names metrics as the collector's prometheus exporter does. */
export class CollectorNamingSerializer extends PrometheusSerializer {
  override serialize(resourceMetrics: ResourceMetrics): string {
    const renamed: ResourceMetrics = {
      resource: resourceMetrics.resource,
      scopeMetrics: resourceMetrics.scopeMetrics.map((sm) => ({
        ...sm,
        metrics: sm.metrics.map((m) => {
          const name = prometheusName(m.descriptor.name, m.descriptor.unit, kindOf(m));
          return name === m.descriptor.name ? m : ({ ...m, descriptor: { ...m.descriptor, name } } as typeof m);
        }),
      })),
    };
    return super.serialize(renamed as Parameters<PrometheusSerializer['serialize']>[0]);
  }
}

/**
 * The OTel JS Prometheus exporter (its HTTP server, host/port handling), with the collector's
 * naming, port 0 for any free port, and scrape connections that never keep the process alive
 * (the exporter unrefs its server, not the keep-alive sockets it accepts).
 */
export class CollectorNamingPrometheusExporter extends PrometheusExporter {
  /** The port the endpoint listens on, once it does (the one chosen, for port 0). */
  boundPort: number | undefined;
  private stats: StatsSource | undefined;

  /** Serves `GET /v1/stats` from `source` beside `/metrics`. */
  serveStats(source: StatsSource): void {
    this.stats = source;
  }

  /** `listenAfter`: the endpoint starts listening when it resolves (the resource has settled). */
  constructor(config: ExporterConfig = {}, onListening: (port: number) => void = () => {}, listenAfter: Promise<void> = Promise.resolve()) {
    super({ ...config, preventServerStart: true });
    const self = this as unknown as { _serializer?: unknown; _server?: Server; _port?: number };
    if (self._serializer instanceof PrometheusSerializer) {
      self._serializer = new CollectorNamingSerializer(
        config.prefix,
        config.appendTimestamp ?? false,
        config.withResourceConstantLabels,
        config.withoutTargetInfo,
        config.withoutScopeInfo,
      );
    } else {
      diag.warn('@opentelemetry/exporter-prometheus changed its internals: metric names keep no unit suffix');
    }
    // The exporter reads `port || 9464`: 0 must reach listen() as 0.
    if (config.port === 0) self._port = 0;
    self._server?.on('connection', (socket: Socket) => socket.unref());
    // The exporter's handler answers its endpoint and 404 for any other path: /v1/stats goes first.
    const original = (this as unknown as { _requestHandler?: (req: IncomingMessage, res: ServerResponse) => void })._requestHandler;
    if (self._server !== undefined && typeof original === 'function' && self._server.listeners('request').includes(original)) {
      self._server.removeListener('request', original);
      self._server.on('request', (req: IncomingMessage, res: ServerResponse) => {
        if (this.stats !== undefined && pathOf(req.url) === STATS_PATH) serveStats(this.stats, req, res);
        else original(req, res);
      });
    } else {
      diag.warn('@opentelemetry/exporter-prometheus changed its internals: the endpoint serves no /v1/stats');
    }
    if (config.preventServerStart === true) return;
    listenAfter.then(() => this.startServer()).then(
      () => {
        const address = self._server?.address();
        this.boundPort = typeof address === 'object' && address !== null ? address.port : config.port;
        if (this.boundPort !== undefined) onListening(this.boundPort);
      },
      (error: unknown) => diag.error(`the Prometheus endpoint could not listen: ${error instanceof Error ? error.message : String(error)}`),
    );
  }
}
