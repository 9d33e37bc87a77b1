/**
 * The MeterProvider started by the register entry: resource from the OpenTelemetry
 * resource detectors, readers for OTEL_METRICS_EXPORTER, exporters configured by their
 * own OTEL_EXPORTER_OTLP_* handling.
 */
import { createRequire } from 'node:module';
import { setGlobalErrorHandler } from '@opentelemetry/core';
import {
  defaultResource,
  detectResources,
  envDetector,
  hostDetector,
  osDetector,
  processDetector,
  serviceInstanceIdDetector,
  type Resource,
  type ResourceDetector,
} from '@opentelemetry/resources';
import {
  ConsoleMetricExporter,
  MeterProvider,
  MetricReader,
  PeriodicExportingMetricReader,
  type PushMetricExporter,
} from '@opentelemetry/sdk-metrics';
import { diag } from '@opentelemetry/api';
import { createInferenceAggregator, createStatsSource, type InferenceMetricProducer, type StatsSource } from '@otel-inference/instrumentation';
import type { RegisterConfig } from './config.js';
import type { RegisterDiagLogger } from './diag.js';
import { GuardedExporter, unrefAgent } from './export-guard.js';
import { CollectorNamingPrometheusExporter } from './prometheus.js';

declare const __filename: string | undefined;
/** Loads CommonJS packages lazily (the grpc exporter pulls in @grpc/grpc-js only when asked for). */
const localRequire = createRequire(typeof __filename === 'string' ? __filename : import.meta.url);

/** A pull reader for in-process code (the demo's live summary): `collect()` returns the SDK's data. */
export class InProcessMetricReader extends MetricReader {
  protected override async onShutdown(): Promise<void> {}
  protected override async onForceFlush(): Promise<void> {}
}

/**
 * The time one OTLP export may take, its one request included: OTEL_EXPORTER_OTLP_[METRICS_]TIMEOUT
 * (read and validated by the exporters' own env handling), never more than the reader's export
 * timeout, which is never more than the interval. A send thus ends before the next one is due.
 */
function otlpTimeoutMillis(config: RegisterConfig): number {
  const { getSharedConfigurationFromEnvironment } = localRequire(
    '@opentelemetry/otlp-exporter-base/node-http',
  ) as typeof import('@opentelemetry/otlp-exporter-base/node-http');
  const fromEnv = getSharedConfigurationFromEnvironment('METRICS').timeoutMillis ?? DEFAULT_OTLP_TIMEOUT_MILLIS;
  return Math.min(fromEnv, config.exportTimeoutMillis);
}

const DEFAULT_OTLP_TIMEOUT_MILLIS = 10_000;

function otlpExporter(config: RegisterConfig): PushMetricExporter {
  // Each exporter reads OTEL_EXPORTER_OTLP_[METRICS_]ENDPOINT, _HEADERS, _COMPRESSION and
  // OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE itself. Given here: the timeout (capped),
  // sockets that do not keep the process alive, and the endpoint when a variable is invalid.
  const options = {
    timeoutMillis: otlpTimeoutMillis(config),
    ...(config.otlpEndpointOverride !== undefined ? { url: config.otlpEndpointOverride } : {}),
  };
  const create = (): PushMetricExporter => {
    switch (config.otlpProtocol) {
      case 'http/json':
        return new (localRequire('@opentelemetry/exporter-metrics-otlp-http') as typeof import('@opentelemetry/exporter-metrics-otlp-http')).OTLPMetricExporter({ ...options, httpAgentOptions: unrefAgent });
      case 'grpc':
        return new (localRequire('@opentelemetry/exporter-metrics-otlp-grpc') as typeof import('@opentelemetry/exporter-metrics-otlp-grpc')).OTLPMetricExporter(options);
      default:
        return new (localRequire('@opentelemetry/exporter-metrics-otlp-proto') as typeof import('@opentelemetry/exporter-metrics-otlp-proto')).OTLPMetricExporter({ ...options, httpAgentOptions: unrefAgent });
    }
  };
  return withoutVariables(config.otlpInvalidEndpointVariables, create);
}

/**
 * Runs `create` with `names` absent from process.env, then puts them back. An exporter parses
 * the endpoint variables when it is built, even when given its URL in code, and would warn a
 * second time, in its own words, about a variable we already named.
 */
function withoutVariables<T>(names: readonly string[], create: () => T): T {
  const saved = names.map((name) => [name, process.env[name]] as const);
  for (const name of names) delete process.env[name];
  try {
    return create();
  } finally {
    for (const [name, value] of saved) if (value !== undefined) process.env[name] = value;
  }
}

/**
 * The process detector without the command line: its arguments can carry secrets (an API key
 * given as a flag), and a resource attribute reaches every backend, `target_info` included.
 */
const processDetectorWithoutArgs: ResourceDetector = {
  detect(config) {
    const { attributes = {} } = processDetector.detect(config);
    const { 'process.command_args': _args, 'process.command_line': _line, ...rest } = attributes;
    return { attributes: rest };
  },
};

export function buildResource(): Resource {
  // Later detectors win: OTEL_RESOURCE_ATTRIBUTES / OTEL_SERVICE_NAME (envDetector) override the
  // random service.instance.id, so a user-set service.instance.id is kept.
  const detected = detectResources({
    detectors: [serviceInstanceIdDetector, hostDetector, osDetector, processDetectorWithoutArgs, envDetector],
  });
  return defaultResource().merge(detected);
}

/** Resolves when the resource's asynchronous detectors (host.id) have settled; never rejects. */
function settled(resource: Resource): Promise<void> {
  return (resource.waitForAsyncAttributes?.() ?? Promise.resolve()).catch(() => {});
}

export interface StartedSdk {
  meterProvider: MeterProvider;
  inProcessReader: InProcessMetricReader | undefined;
  prometheus: CollectorNamingPrometheusExporter | undefined;
  stats: StatsSource | undefined;
}

export function startSdk(
  config: RegisterConfig,
  logger: RegisterDiagLogger,
  onPrometheusListening: (port: number) => void = () => {},
): StartedSdk {
  // The periodic reader reports failed exports to the global error handler: one line per streak.
  setGlobalErrorHandler((error) => {
    // The periodic reader wraps the exporter's error in its own; the exporter's says it all.
    const message = (error instanceof Error ? error.message : String(error)).replace(
      /^PeriodicExportingMetricReader: metrics export failed \(error (?:Error: )?([^]*)\)$/,
      '$1',
    );
    if (/export/i.test(message)) logger.exportFailed(message);
    else diag.error(message);
  });

  const resource = buildResource();
  // The inference metrics are aggregated by the library and handed to each reader by a
  // MetricProducer of its own (docs/architecture.md); everything else goes through the SDK.
  const aggregator = createInferenceAggregator();
  const withProducer = <R extends MetricReader>(create: (metricProducers: InferenceMetricProducer[]) => R): R => {
    const producer = aggregator.createProducer();
    const reader = create([producer]);
    producer.setReader(reader);
    return reader;
  };
  const readers: MetricReader[] = [];
  let prometheus: CollectorNamingPrometheusExporter | undefined;
  for (const name of config.exporters) {
    try {
      if (name === 'prometheus') {
        // Listens once the resource has settled: a scrape that came first would read the
        // attributes before the asynchronous detectors are done (the SDK logs an error then).
        prometheus = withProducer(
          (metricProducers) =>
            new CollectorNamingPrometheusExporter(
              { host: config.prometheusHost, port: config.prometheusPort, metricProducers },
              (port) => {
                if (config.prometheusPort === 0) diag.info(`the Prometheus endpoint listens on http://${config.prometheusHost}:${port}/metrics`);
                onPrometheusListening(port);
              },
              settled(resource),
            ),
        );
        readers.push(prometheus);
        continue;
      }
      const exporter =
        name === 'console'
          ? new ConsoleMetricExporter()
          : new GuardedExporter(otlpExporter(config), {
              succeeded: () => logger.exportSucceeded(),
              failed: (message) => logger.exportFailed(message),
            });
      readers.push(
        withProducer(
          (metricProducers) =>
            new PeriodicExportingMetricReader({
              exporter,
              exportIntervalMillis: config.exportIntervalMillis,
              exportTimeoutMillis: config.exportTimeoutMillis,
              metricProducers,
            }),
        ),
      );
    } catch (error) {
      diag.error(`could not start the ${name} metrics exporter: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  const inProcessReader = config.inProcessReader
    ? withProducer((metricProducers) => new InProcessMetricReader({ metricProducers }))
    : undefined;
  if (inProcessReader) readers.push(inProcessReader);

  const meterProvider = new MeterProvider({ resource, readers });
  // Unless it cannot be exact for these readers (it warns then): the API instruments, as on an app's own provider.
  aggregator.bind(meterProvider);

  // /v1/stats reads a cumulative pull reader that is there anyway: the Prometheus exporter, else
  // the in-process reader. Another reader only for stats would cost every request (each reader
  // keeps its own accumulation), so with OTLP alone there is none unless asked for.
  const statsReader: MetricReader | undefined = prometheus ?? inProcessReader;
  const resourceSettled = settled(resource);
  const stats = statsReader
    ? createStatsSource({
        // A collection before the resource has settled makes the SDK log an error.
        collect: () => resourceSettled.then(() => statsReader.collect()),
        windowSeconds: config.statsWindowSeconds,
        // Nothing is recorded before register starts: the window starts from an empty reader.
        startedEmpty: true,
      })
    : undefined;
  if (stats) prometheus?.serveStats(stats);
  return { meterProvider, inProcessReader, prometheus, stats };
}
