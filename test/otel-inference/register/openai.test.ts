/**
 * The openai client through the preload: ESM default import, ESM named import and CJS
 * require all produce the inference metrics; the OTEL_INFERENCE_* switches apply.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOtlpReceiver, type OtlpReceiver, type Point } from '../../helpers/otlp-receiver.js';
import { diagLines, REPO, run, startFakeOpenAI } from '../../helpers/apps.js';

const DOUBLE_APP = '../openai-v6-app/double.cjs';

let sim: { url: string; close(): Promise<void> };
beforeAll(async () => {
  sim = await startFakeOpenAI();
});
afterAll(async () => {
  await sim.close();
});

async function runApp(
  app: string,
  env: Record<string, string> = {},
): Promise<{ points: Point[]; paths: string[]; stdout: string; stderr: string }> {
  const r: OtlpReceiver = await startOtlpReceiver();
  try {
    const res = await run({ app, env: { OTEL_EXPORTER_OTLP_ENDPOINT: r.url, SIM_URL: sim.url, ...env } });
    expect(res.code, res.stderr).toBe(0);
    return { points: r.points(), paths: r.paths(), stdout: res.stdout, stderr: res.stderr };
  } finally {
    await r.close();
  }
}

const duration = (points: Point[]) => points.filter((p) => p.metric === 'gen_ai.client.operation.duration');

describe.concurrent('openai through otel-inference/register', () => {
  it.each([
    { app: 'openai-esm-default.mjs', loader: '--import', how: 'ESM default import' },
    { app: 'openai-esm-named.mjs', loader: '--import', how: 'ESM named import' },
    { app: 'openai-cjs.cjs', loader: '--require', how: 'CJS require' },
  ])('$how ($loader): one call → one operation, tokens, outcome', async ({ app }) => {
    const { points, stdout, stderr } = await runApp(app);
    expect(stdout).toBe('answer: hello\n');
    expect(diagLines(stderr)).toEqual([]);
    const d = duration(points);
    expect(d).toHaveLength(1);
    expect(d[0]!.value).toBe(1);
    expect(d[0]!.unit).toBe('s');
    expect(d[0]!.sum!).toBeGreaterThan(0);
    expect(d[0]!.sum!).toBeLessThan(5);
    expect(d[0]!.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai_compatible',
      'gen_ai.request.model': 'fixture-model',
      'inference.outcome': 'success',
    });
    const tokens = points.filter((p) => p.metric === 'gen_ai.client.token.usage');
    expect(Object.fromEntries(tokens.map((t) => [t.attributes['gen_ai.token.type'], t.sum]))).toEqual({ input: 7, output: 5 });
    const requests = points.filter((p) => p.metric === 'inference.requests');
    expect(requests.map((p) => p.value)).toEqual([1]);
  });

  it('warns once, naming the fix, when @opentelemetry/instrumentation-openai records openai (v6) too', async () => {
    const { points, stdout, stderr } = await runApp(DOUBLE_APP);
    expect(stdout).toBe('answer: hello\n');
    const lines = diagLines(stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('@opentelemetry/instrumentation-openai');
    expect(lines[0]).toContain('OTEL_NODE_DISABLED_INSTRUMENTATIONS=openai');
    expect(lines[0]).toContain('OTEL_NODE_DISABLED_INSTRUMENTATIONS=inference-openai');
    // Both record gen_ai.client.operation.duration, under their own instrumentation scopes:
    // the series the warning is about.
    const scopes = duration(points).map((p) => p.scope).sort();
    expect(scopes).toEqual(['@opentelemetry/instrumentation-openai', 'otel-inference']);
  });

  it('does not warn when @opentelemetry/instrumentation-openai is loaded but leaves openai v7 alone', async () => {
    const { points, stderr } = await runApp(DOUBLE_APP, { OPENAI_MODULE: path.join(REPO, 'node_modules/openai') });
    expect(diagLines(stderr)).toEqual([]);
    expect(duration(points).map((p) => p.scope)).toEqual(['otel-inference']);
  });

  it('OTEL_NODE_DISABLED_INSTRUMENTATIONS=inference-openai disables ours, not the upstream one of the same library', async () => {
    const { points, stderr } = await runApp(DOUBLE_APP, { OTEL_NODE_DISABLED_INSTRUMENTATIONS: 'inference-openai' });
    expect(diagLines(stderr)).toEqual([]);
    expect(duration(points).map((p) => p.scope)).toEqual(['@opentelemetry/instrumentation-openai']);
  });

  it('OTEL_INFERENCE_PROVIDER_NAME names the provider of a non-well-known host', async () => {
    const { points } = await runApp('openai-esm-default.mjs', { OTEL_INFERENCE_PROVIDER_NAME: 'vllm' });
    expect(duration(points)[0]!.attributes['gen_ai.provider.name']).toBe('vllm');
  });

  it.each([
    { allowlist: 'gpt-4o,/^other-/', model: 'other' },
    { allowlist: 'gpt-4o,/^fixture-/', model: 'fixture-model' },
    { allowlist: 'fixture-model', model: 'fixture-model' },
  ])('OTEL_INFERENCE_MODEL_ALLOWLIST=$allowlist → model $model', async ({ allowlist, model }) => {
    const { points } = await runApp('openai-cjs.cjs', { OTEL_INFERENCE_MODEL_ALLOWLIST: allowlist });
    expect(duration(points)[0]!.attributes['gen_ai.request.model']).toBe(model);
  });

  it('HTTP client metrics of fetch (undici) are on by default, without the exporter traffic', async () => {
    const { points } = await runApp('openai-esm-named.mjs');
    const http = points.filter((p) => p.metric === 'http.client.request.duration');
    expect(http).toHaveLength(1);
    expect(http[0]!.scope).toBe('@opentelemetry/instrumentation-undici');
    expect(http[0]!.attributes['http.response.status_code']).toBe(200);
  });

  it.each(['default', 'named'])('HTTP server metrics of an ESM app importing node:http (%s import)', async (how) => {
    const res = await run({
      app: 'http-server.mjs',
      env: { OTEL_METRICS_EXPORTER: 'none', OTEL_INFERENCE_IN_PROCESS_READER: 'true', HTTP_IMPORT: how },
    });
    expect(res.stderr).toBe('');
    expect(JSON.parse(res.stdout)).toEqual(['http.client.request.duration', 'http.server.request.duration']);
  });

  it('OTEL_NODE_DISABLED_INSTRUMENTATIONS=http,undici turns HTTP metrics off', async () => {
    const { points, stderr } = await runApp('openai-esm-named.mjs', { OTEL_NODE_DISABLED_INSTRUMENTATIONS: ' http , undici' });
    expect(diagLines(stderr)).toEqual([]);
    expect(points.filter((p) => p.metric.startsWith('http.'))).toEqual([]);
    expect(duration(points)).toHaveLength(1);
  });

  it('OTEL_NODE_ENABLED_INSTRUMENTATIONS lists what is on: undici only leaves openai unpatched', async () => {
    const { points, stdout } = await runApp('openai-esm-named.mjs', { OTEL_NODE_ENABLED_INSTRUMENTATIONS: 'undici,express' });
    expect(stdout).toBe('answer: hello\n');
    expect(duration(points)).toEqual([]);
    expect(points.filter((p) => p.metric === 'http.client.request.duration')).toHaveLength(1);
  });

  it('the retired OTEL_INFERENCE_HTTP_METRICS gets one warning naming its replacement', async () => {
    const { points, stderr } = await runApp('openai-esm-named.mjs', { OTEL_INFERENCE_HTTP_METRICS: 'false' });
    expect(diagLines(stderr)).toEqual([
      'otel-inference: warn: OTEL_INFERENCE_HTTP_METRICS is no longer read; OTEL_NODE_DISABLED_INSTRUMENTATIONS=http,undici turns HTTP metrics off',
    ]);
    expect(points.filter((p) => p.metric === 'http.client.request.duration')).toHaveLength(1);
  });

  it('OTEL_SDK_DISABLED=true: openai is not patched, nothing is sent', async () => {
    const { points, paths, stdout, stderr } = await runApp('openai-esm-default.mjs', { OTEL_SDK_DISABLED: 'true' });
    expect(stdout).toBe('answer: hello\n');
    expect(stderr).toBe('');
    expect(paths).toEqual([]); // no request at all, at any path
    expect(points).toEqual([]);
  });
});
