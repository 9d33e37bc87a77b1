/**
 * The embedded Prometheus endpoint (collector-compatible names), the in-process reader for
 * the demo, and worker threads.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nameWithUnit, prometheusName } from '../../../packages/instrumentation/src/prometheus-names.js';
import { HTTP_METRIC, PROMETHEUS_LABEL as L, PROMETHEUS_METRIC as P } from '../../../grafana/names.js';
import { diagLines, freePort, run, start, startFakeOpenAI } from '../../helpers/apps.js';

/**
 * The metric families the OpenTelemetry Collector's prometheus exporter writes for the same
 * data: the names table (the pipeline tests check it against the real collector), the HTTP
 * client metric of the fake server's calls, and target_info.
 */
const COLLECTOR_NAMES = [...Object.values(P).map((m) => m.name), HTTP_METRIC.clientDuration.name, 'target_info'].sort();

let sim: { url: string; close(): Promise<void> };
beforeAll(async () => {
  sim = await startFakeOpenAI();
});
afterAll(async () => {
  await sim.close();
});

describe('Prometheus endpoint', () => {
  it('exposes the same metric names as the collector path, on OTEL_EXPORTER_PROMETHEUS_HOST:PORT', async () => {
    const port = await freePort();
    const app = start({
      app: 'openai-wait.mjs',
      env: {
        SIM_URL: sim.url,
        OTEL_METRICS_EXPORTER: 'prometheus',
        OTEL_EXPORTER_PROMETHEUS_HOST: '127.0.0.1',
        OTEL_EXPORTER_PROMETHEUS_PORT: String(port),
      },
    });
    try {
      await app.waitForOutput('ready');
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      const families = [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => m[1]!).sort();
      expect(families).toEqual(COLLECTOR_NAMES);
      // Sample names as the collector writes them, with values (one plain and one streamed call).
      const sample = (name: string, labels: string[], value: number): RegExp =>
        new RegExp(`^${name}\\{${labels.map((l) => `(?=[^}]*${l})`).join('')}[^}]*\\} ${value}$`, 'm');
      for (const stream of ['true', 'false']) {
        const s = `${L.requestStream}="${stream}"`;
        expect(text).toMatch(sample(`${P.operationDuration.name}_count`, [s, `${L.requestModel}="fixture-model"`], 1));
        expect(text).toMatch(sample(P.requests.name, [s, `${L.outcome}="success"`], 1));
        expect(text).toMatch(sample(`${P.tokenUsage.name}_sum`, [s, `${L.tokenType}="input"`], 7));
        expect(text).toMatch(sample(`${P.outputTokenRate.name}_bucket`, [s, 'le="\\+Inf"'], 1));
      }
      expect(text).toMatch(sample(`${P.tokenUsage.name}_sum`, [`${L.requestStream}="false"`, `${L.tokenType}="output"`], 5));
      expect(text).toMatch(sample(`${P.tokenUsage.name}_sum`, [`${L.requestStream}="true"`, `${L.tokenType}="output"`], 3));
      expect(text).toMatch(sample(`${P.timePerOutputChunk.name}_count`, [], 2));
      expect(text).toMatch(new RegExp(`^${P.activeRequests.name}\\{[^}]*\\} 0$`, 'm'));
      // Scrapes are not counted as HTTP server requests.
      expect(text).not.toContain('http_server_request_duration');
    } finally {
      app.child.kill('SIGTERM');
      const res = await app.done;
      expect(res.signal).toBe('SIGTERM');
      expect(diagLines(res.stderr)).toEqual([]);
    }
  });

  it.each([
    ['gen_ai.client.operation.duration', 's', false, 'gen_ai_client_operation_duration_seconds'],
    ['gen_ai.client.token.usage', '{token}', false, 'gen_ai.client.token.usage'],
    ['inference.output_token_rate', '{token}/s', false, 'inference_output_token_rate_per_second'],
    // As the collector: "per_second" is two tokens, so the suffix is added again.
    ['inference.output_tokens_per_second', '{token}/s', false, 'inference_output_tokens_per_second_per_second'],
    ['inference.requests', '{request}', false, 'inference.requests'],
    ['process.memory', 'By', true, 'process_memory_bytes'],
    ['queue.rate', 'By/s', false, 'queue_rate_bytes_per_second'],
    ['cpu.utilization', '1', true, 'cpu_utilization_ratio'],
    ['request.duration_seconds', 's', false, 'request.duration_seconds'], // suffix already there: unchanged
  ] as const)('nameWithUnit(%s, %s)', (name, unit, gauge, expected) => {
    expect(nameWithUnit(name, unit, gauge)).toBe(expected);
  });

  // The collector's translation (prometheus/otlptranslator, UnderscoreEscapingWithSuffixes).
  it.each([
    ['gen_ai.client.operation.duration', 's', 'histogram', 'gen_ai_client_operation_duration_seconds'],
    ['gen_ai.client.token.usage', '{token}', 'histogram', 'gen_ai_client_token_usage'],
    ['inference.output_token_rate', '{token}/s', 'histogram', 'inference_output_token_rate_per_second'],
    ['inference.requests', '{request}', 'counter', 'inference_requests_total'],
    ['inference.requests.active', '{request}', 'updowncounter', 'inference_requests_active'],
    ['http.server.request.duration', 's', 'histogram', 'http_server_request_duration_seconds'],
    ['requests.total', '', 'counter', 'requests_total'], // no _total_total
    ['total.requests', '1', 'counter', 'requests_total'], // a `total` token moves to the end
    ['cpu.utilization', '1', 'gauge', 'cpu_utilization_ratio'],
    ['ratio.cpu', '1', 'gauge', 'cpu_ratio'],
    ['pool.usage', '1', 'updowncounter', 'pool_usage'], // _ratio for gauges only, not up-down counters
    ['queue.size', 'k{item}', 'gauge', 'queue_size'], // a unit with {…} adds nothing
    ['transfer', 'By/s', 'counter', 'transfer_bytes_per_second_total'],
    ['request.duration_seconds', 's', 'histogram', 'request_duration_seconds'],
  ] as const)('prometheusName(%s, %s, %s)', (name, unit, kind, expected) => {
    expect(prometheusName(name, unit, kind)).toBe(expected);
  });
});

describe.concurrent('in-process reader and worker threads', () => {
  it('OTEL_INFERENCE_IN_PROCESS_READER=true: getRegisteredMetricReader() collects the SDK histogram', async () => {
    const res = await run({ app: 'in-process.mjs', env: { OTEL_METRICS_EXPORTER: 'none', OTEL_INFERENCE_IN_PROCESS_READER: 'true' } });
    expect(res.stdout).toBe('reader: count=4 buckets=1,2,1,0\n');
  });

  it('off by default', async () => {
    const res = await run({ app: 'in-process.mjs', env: { OTEL_METRICS_EXPORTER: 'none' } });
    expect(res.stdout).toBe('reader: none\n');
  });

  it.each([
    { value: undefined, loader: 'import', expected: 'worker thread' },
    { value: undefined, loader: 'node-options', expected: 'worker thread' },
    { value: 'true', loader: 'import', expected: 'started' },
  ] as const)('worker threads ($loader) with OTEL_INFERENCE_WORKER_THREADS=$value: $expected', async ({ value, loader, expected }) => {
    const res = await run({
      app: 'record.mjs',
      loader,
      env: { OTEL_METRICS_EXPORTER: 'none', FIXTURE_MODE: 'worker', OTEL_INFERENCE_WORKER_THREADS: value },
    });
    expect(res.stdout).toBe(`worker register: ${expected}\n`);
  });
});
