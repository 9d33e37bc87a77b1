/**
 * The AI SDK (`ai` 7 with @ai-sdk/openai 4) through the preload, in child processes: ESM named
 * imports (import-in-the-middle) and CJS `require` (ai 7 is ESM-only: require(esm), whose module
 * namespace cannot be patched in place, so the hook hands out a patched copy). Each model call is
 * one operation, recorded by inference-ai-sdk only (the providers call fetch, not the openai
 * package), and the app prints the same bytes with and without the preload.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimServer, type SimServer } from '../../../sim/index.js';
import { startOtlpReceiver, type Point } from '../../helpers/otlp-receiver.js';
import { diagLines, run } from '../../helpers/apps.js';

let sim: SimServer;
beforeAll(async () => {
  sim = await startSimServer({ port: 0 });
});
afterAll(async () => {
  await sim.close();
});

const EXPECTED = 'generate: tok1 tok2 tok3 |7|3\nstream: tok1 |tok2 |tok3 |3\nembed: 8|7\n';

async function runApp(app: string): Promise<{ points: Point[]; stdout: string; stderr: string }> {
  const receiver = await startOtlpReceiver();
  try {
    const res = await run({ app, env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, SIM_URL: sim.url } });
    expect(res.code, res.stderr).toBe(0);
    return { points: receiver.points(), stdout: res.stdout, stderr: res.stderr };
  } finally {
    await receiver.close();
  }
}

describe.concurrent('ai (Vercel AI SDK) through otel-inference/register', () => {
  it.each([
    { app: 'ai-sdk-esm.mjs', how: 'ESM named imports (--import)' },
    { app: 'ai-sdk-cjs.cjs', how: 'CJS require (--require)' },
  ])('$how: each model call one operation, by inference-ai-sdk alone', async ({ app }) => {
    const { points, stdout, stderr } = await runApp(app);
    expect(stdout).toBe(EXPECTED);
    expect(diagLines(stderr)).toEqual([]);
    const requests = points.filter((p) => p.metric === 'inference.requests');
    expect(
      requests
        .map((p) => [p.attributes['gen_ai.operation.name'], p.attributes['gen_ai.request.stream'], p.attributes['gen_ai.provider.name'], p.value])
        .sort(),
    ).toEqual([
      ['chat', false, 'openai', 1],
      ['chat', true, 'openai', 1],
      ['embeddings', false, 'openai', 1],
    ]);
    for (const p of requests) {
      expect(p.attributes).toMatchObject({ 'inference.outcome': 'success', 'server.address': '127.0.0.1' });
    }
    const tokens = points.filter((p) => p.metric === 'gen_ai.client.token.usage');
    expect(tokens.map((p) => [p.attributes['gen_ai.operation.name'], p.attributes['gen_ai.request.stream'], p.attributes['gen_ai.token.type'], p.sum]).sort()).toEqual([
      ['chat', false, 'input', 7],
      ['chat', false, 'output', 3],
      ['chat', true, 'input', 7],
      ['chat', true, 'output', 3],
      ['embeddings', false, 'input', 7],
    ]);
    expect(points.filter((p) => p.metric === 'gen_ai.client.operation.time_to_first_chunk').map((p) => p.value)).toEqual([1]);
    expect(points.filter((p) => p.metric === 'gen_ai.client.operation.time_per_output_chunk').map((p) => p.value)).toEqual([2]);
  });

  it('the app prints the same bytes with and without the preload', async () => {
    const [bare, esm, cjs] = await Promise.all([
      run({ app: 'ai-sdk-esm.mjs', loader: 'none', env: { SIM_URL: sim.url } }),
      run({ app: 'ai-sdk-esm.mjs', env: { SIM_URL: sim.url, OTEL_METRICS_EXPORTER: 'none' } }),
      run({ app: 'ai-sdk-cjs.cjs', env: { SIM_URL: sim.url, OTEL_METRICS_EXPORTER: 'none' } }),
    ]);
    expect(bare.stdout).toBe(EXPECTED);
    expect(esm.stdout).toBe(bare.stdout);
    expect(cjs.stdout).toBe(bare.stdout);
    expect([bare.stderr, esm.stderr, cjs.stderr]).toEqual(['', '', '']);
  });
});
