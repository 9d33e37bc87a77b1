/**
 * The embedded Prometheus endpoint (collector-compatible names), the in-process reader for
 * the demo, and worker threads.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nameWithUnit } from '../../../packages/otel-inference/src/register/prometheus.js';
import { diagLines, freePort, run, start, startFakeOpenAI } from './run.js';

/**
 * The metric families the OpenTelemetry Collector's prometheus exporter writes for the same
 * data (verified separately against the real collector by the pipeline tests).
 */
const COLLECTOR_NAMES = [
  'gen_ai_client_operation_duration_seconds',
  'gen_ai_client_operation_time_to_first_chunk_seconds',
  'gen_ai_client_operation_time_per_output_chunk_seconds',
  'gen_ai_client_token_usage',
  'http_client_request_duration_seconds',
  'inference_output_token_rate_per_second',
  'inference_requests_active',
  'inference_requests_total',
  'target_info',
].sort();

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
        const s = `gen_ai_request_stream="${stream}"`;
        expect(text).toMatch(sample('gen_ai_client_operation_duration_seconds_count', [s, 'gen_ai_request_model="fixture-model"'], 1));
        expect(text).toMatch(sample('inference_requests_total', [s, 'inference_outcome="success"'], 1));
        expect(text).toMatch(sample('gen_ai_client_token_usage_sum', [s, 'gen_ai_token_type="input"'], 7));
        expect(text).toMatch(sample('inference_output_token_rate_per_second_bucket', [s, 'le="\\+Inf"'], 1));
      }
      expect(text).toMatch(sample('gen_ai_client_token_usage_sum', ['gen_ai_request_stream="false"', 'gen_ai_token_type="output"'], 5));
      expect(text).toMatch(sample('gen_ai_client_token_usage_sum', ['gen_ai_request_stream="true"', 'gen_ai_token_type="output"'], 3));
      expect(text).toMatch(sample('gen_ai_client_operation_time_per_output_chunk_seconds_count', [], 2));
      expect(text).toMatch(/^inference_requests_active\{[^}]*\} 0$/m);
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
