/**
 * Sends one small OTLP/HTTP metrics payload with the 7 otel-inference instruments (and an
 * instrumentation-http style histogram) to a collector, so the Prometheus names the
 * collector produces can be checked by hand or by an end-to-end test:
 *
 *   npx tsx test/pipeline/emit-sample.ts [http://127.0.0.1:4318]
 *   curl -s http://127.0.0.1:8889/metrics | grep -E '^(gen_ai|inference|http)_'
 *
 * It deliberately does not import src/ (owned elsewhere): names, units and buckets below
 * mirror the decided metric table in README.md.
 */
import { metrics } from '@opentelemetry/api';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AggregationType,
  MeterProvider,
  PeriodicExportingMetricReader,
  type ViewOptions,
} from '@opentelemetry/sdk-metrics';

const DURATION_BUCKETS = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92];
const TOKEN_BUCKETS = Array.from({ length: 14 }, (_, i) => 4 ** i); // 1 .. 67108864
const TPS_BUCKETS = Array.from({ length: 14 }, (_, i) => 2 ** i); // 1 .. 8192

export async function emitSample(endpoint: string, serviceName = 'emit-sample'): Promise<void> {
  const reader = new PeriodicExportingMetricReader({
    exporter: new OTLPMetricExporter({ url: `${endpoint.replace(/\/$/, '')}/v1/metrics` }),
    exportIntervalMillis: 60_000,
  });
  const histogram = (name: string, boundaries: number[]): ViewOptions => ({
    instrumentName: name,
    aggregation: { type: AggregationType.EXPLICIT_BUCKET_HISTOGRAM as const, options: { boundaries } },
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
    views: [
      histogram('gen_ai.client.operation.duration', DURATION_BUCKETS),
      histogram('gen_ai.client.operation.time_to_first_chunk', DURATION_BUCKETS),
      histogram('gen_ai.client.operation.time_per_output_chunk', DURATION_BUCKETS),
      histogram('gen_ai.client.token.usage', TOKEN_BUCKETS),
      histogram('inference.output_token_rate', TPS_BUCKETS),
    ],
  });
  const meter = provider.getMeter('otel-inference-sample', '0.1.0');
  const base = {
    'gen_ai.operation.name': 'chat',
    'gen_ai.provider.name': 'openai',
    'gen_ai.request.model': 'gpt-sample',
    'gen_ai.response.model': 'gpt-sample-2026',
    'gen_ai.request.stream': 'true',
    'server.address': '127.0.0.1',
    'server.port': 8000,
  };
  meter
    .createHistogram('gen_ai.client.operation.duration', { unit: 's' })
    .record(0.9, { ...base, 'inference.outcome': 'success' });
  meter
    .createHistogram('gen_ai.client.operation.duration', { unit: 's' })
    .record(0.2, { ...base, 'inference.outcome': 'error', 'error.type': '429' });
  const tokens = meter.createHistogram('gen_ai.client.token.usage', { unit: '{token}' });
  tokens.record(12, { ...base, 'gen_ai.token.type': 'input' });
  tokens.record(40, { ...base, 'gen_ai.token.type': 'output' });
  meter.createHistogram('gen_ai.client.operation.time_to_first_chunk', { unit: 's' }).record(0.3, base);
  meter.createHistogram('gen_ai.client.operation.time_per_output_chunk', { unit: 's' }).record(0.015, base);
  const requests = meter.createCounter('inference.requests', { unit: '{request}' });
  requests.add(1, { ...base, 'inference.outcome': 'success' });
  requests.add(1, { ...base, 'inference.outcome': 'error', 'error.type': '429' });
  const active = meter.createUpDownCounter('inference.requests.active', { unit: '{request}' });
  active.add(2, base);
  active.add(-1, base);
  meter.createHistogram('inference.output_token_rate', { unit: '{token}/s' }).record(66, base);
  meter.createHistogram('http.server.request.duration', { unit: 's' }).record(0.05, {
    'http.request.method': 'POST',
    'http.response.status_code': 200,
    'http.route': '/v1/chat/completions',
    'url.scheme': 'http',
  });
  meter.createHistogram('http.client.request.duration', { unit: 's' }).record(0.06, {
    'http.request.method': 'POST',
    'http.response.status_code': 200,
    'server.address': '127.0.0.1',
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
