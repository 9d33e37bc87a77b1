/**
 * Where register records: into the library's aggregator when it owns the MeterProvider (the
 * readers get the inference metrics from their MetricProducer), through the API instruments
 * into the app's own provider otherwise. Every copy of the library in the process (the ESM and
 * CJS builds) records into the same aggregator.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { APPS, diagLines, run } from '../../helpers/apps.js';

/**
 * A CJS app: one tracked stream through the CJS copy of the library and one through the ESM
 * copy, then what the in-process reader (or the app's own reader) collects of the
 * otel-inference scope, and whether the provider has a sink bound.
 */
const APP = `
(async () => {
  const cjs = require('otel-inference');
  const esm = await import('otel-inference');
  const { metrics } = require('@opentelemetry/api');
  for (const lib of [cjs, esm]) {
    const t = lib.startRequest({ provider: 'p', model: 'm', serverAddress: 'h', serverPort: 1 }, { stream: true });
    t.output(); t.output(); t.output();
    t.end({ usage: { inputTokens: 3, outputTokens: 7 }, responseModel: 'm' });
  }
  const provider = metrics.getMeterProvider();
  const reader = globalThis.appMetricReader ?? require('otel-inference/register').getRegisteredMetricReader();
  const { resourceMetrics, errors } = await reader.collect();
  const scopes = resourceMetrics.scopeMetrics.filter((s) => s.scope.name === 'otel-inference');
  const bound = globalThis[Symbol.for('otel-inference.bound-sinks')]?.byProvider.has(provider) ?? false;
  const summary = Object.fromEntries(scopes.flatMap((s) => s.metrics).map((m) => [
    m.descriptor.name,
    m.dataPoints.map((d) => (typeof d.value === 'number' ? d.value : { count: d.value.count, sum: d.value.sum })),
  ]));
  console.log(JSON.stringify({ bound, scopes: scopes.length, errors: errors.length, summary }));
})();
`;

const EXPECTED = {
  'gen_ai.client.operation.duration': [{ count: 2, sum: expect.any(Number) }],
  'gen_ai.client.token.usage': [
    { count: 2, sum: 6 },
    { count: 2, sum: 14 },
  ],
  'gen_ai.client.operation.time_to_first_chunk': [{ count: 2, sum: expect.any(Number) }],
  'gen_ai.client.operation.time_per_output_chunk': [{ count: 4, sum: expect.any(Number) }],
  'inference.requests': [2],
  'inference.requests.active': [0],
  'inference.output_token_rate': [{ count: 2, sum: expect.any(Number) }],
  'gen_ai.client.inference.usage.input_tokens': [6],
  'gen_ai.client.inference.usage.output_tokens': [14],
  'gen_ai.client.inference.usage.cache_read.input_tokens': [0],
  'gen_ai.client.inference.usage.cache_write.input_tokens': [0],
  'gen_ai.client.inference.usage.reasoning.output_tokens': [0],
};

describe('what register records through', () => {
  it('its own MeterProvider: the aggregator, one otel-inference scope for the ESM and the CJS copy alike', async () => {
    const res = await run({
      app: '',
      eval: APP,
      loader: 'require',
      env: { OTEL_METRICS_EXPORTER: 'none', OTEL_INFERENCE_IN_PROCESS_READER: 'true' },
    });
    expect(res.code, res.stderr).toBe(0);
    expect(diagLines(res.stderr)).toEqual([]);
    expect(JSON.parse(res.stdout)).toEqual({ bound: true, scopes: 1, errors: 0, summary: EXPECTED });
  });

  it('the app’s own MeterProvider: its API instruments, the same data', async () => {
    const res = await run({
      app: '',
      eval: APP,
      loader: 'require',
      env: { NODE_OPTIONS: `--require ${path.join(APPS, 'app-provider-setup.cjs')}`, OTEL_METRICS_EXPORTER: 'none' },
    });
    expect(res.code, res.stderr).toBe(0);
    expect(JSON.parse(res.stdout)).toEqual({ bound: false, scopes: 1, errors: 0, summary: EXPECTED });
  });
});
