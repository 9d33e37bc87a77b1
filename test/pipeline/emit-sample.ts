/**
 * Sends one small OTLP/HTTP metrics payload with every otel-inference instrument (and the two
 * instrumentation-http histograms the dashboard shows) to a collector, so the Prometheus names
 * the collector produces can be checked by hand or by a test against the names table
 * (grafana/names.ts):
 *
 *   npx tsx test/pipeline/emit-sample.ts [http://127.0.0.1:4318]
 *   curl -s http://127.0.0.1:8889/metrics | grep -E '^(gen_ai|inference|http)_'
 *
 * The instruments are the library's own (instrumentsFor: names, kinds, units and buckets from
 * the INSTRUMENT table in semconv.ts), recorded directly with fixed values.
 */
import { metrics } from '@opentelemetry/api';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';

import { HTTP_ATTR, HTTP_METRIC } from '../../grafana/names.js';
import { instrumentsFor } from '../../packages/instrumentation/src/core/instruments.js';
import { ATTR, OPERATION, OUTCOME, TOKEN_MODALITY, TOKEN_TYPE } from '../../packages/instrumentation/src/semconv.js';

export async function emitSample(endpoint: string, serviceName = 'emit-sample'): Promise<void> {
  const reader = new PeriodicExportingMetricReader({
    exporter: new OTLPMetricExporter({ url: `${endpoint.replace(/\/$/, '')}/v1/metrics` }),
    exportIntervalMillis: 60_000,
  });
  const provider = new MeterProvider({
    resource: resourceFromAttributes({
      'service.name': serviceName,
      'service.instance.id': `${serviceName}-${process.pid}`,
      'service.version': '0.1.0',
      'deployment.environment.name': 'test',
      'host.name': 'sample-host',
    }),
    readers: [reader],
  });
  const i = instrumentsFor(provider);
  const base = {
    [ATTR.operationName]: OPERATION.chat,
    [ATTR.providerName]: 'openai',
    [ATTR.requestModel]: 'gpt-sample',
    [ATTR.responseModel]: 'gpt-sample-2026',
    [ATTR.requestStream]: 'true',
    [ATTR.serverAddress]: '127.0.0.1',
    [ATTR.serverPort]: 8000,
  };
  const success = { ...base, [ATTR.outcome]: OUTCOME.success };
  const error = { ...base, [ATTR.outcome]: OUTCOME.error, [ATTR.errorType]: '429' };
  i.duration.record(0.9, success);
  i.duration.record(0.2, error);
  i.tokenUsage.record(12, { ...base, [ATTR.tokenType]: TOKEN_TYPE.input });
  i.tokenUsage.record(40, { ...base, [ATTR.tokenType]: TOKEN_TYPE.output });
  i.timeToFirstChunk.record(0.3, base);
  i.timePerOutputChunk.record(0.015, base);
  i.requests.add(1, success);
  i.requests.add(1, error);
  i.activeRequests.add(2, base);
  i.activeRequests.add(-1, base);
  i.outputTokenRate.record(66, base);
  const usage = { ...base, [ATTR.tokenModality]: TOKEN_MODALITY.unknown };
  i.usageInputTokens.add(12, usage);
  i.usageOutputTokens.add(40, usage);
  i.usageCacheReadInputTokens.add(8, usage);
  i.usageCacheWriteInputTokens.add(0, usage);
  i.usageReasoningOutputTokens.add(16, usage);
  const meter = provider.getMeter('otel-inference-sample', '0.1.0');
  const http = (m: (typeof HTTP_METRIC)[keyof typeof HTTP_METRIC]) => meter.createHistogram(m.otelName, { unit: m.unit });
  http(HTTP_METRIC.serverDuration).record(0.05, {
    'http.request.method': 'POST',
    [HTTP_ATTR.statusCode]: 200,
    [HTTP_ATTR.route]: '/v1/chat/completions',
    'url.scheme': 'http',
  });
  http(HTTP_METRIC.clientDuration).record(0.06, {
    'http.request.method': 'POST',
    [HTTP_ATTR.statusCode]: 200,
    [HTTP_ATTR.serverAddress]: '127.0.0.1',
    'server.port': 8000,
    'url.scheme': 'http',
  });
  await reader.forceFlush();
  await provider.shutdown();
  metrics.disable();
}

const isMain = process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/^.*\//, ''));
if (isMain) {
  const endpoint = process.argv[2] ?? process.env.OTEL_EXPORTER_OTLP_ENDPOINT ?? 'http://127.0.0.1:4318';
  emitSample(endpoint).then(
    () => console.log(`sent sample metrics to ${endpoint}`),
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
