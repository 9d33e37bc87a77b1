/**
 * @langchain/core through the preload: ESM (1.x and 0.3) and CJS apps get every LangChain run
 * recorded once: ChatOpenAI's by the openai adapter while it is on (by the LangChain handler when
 * it is off), FakeListChatModel's by the handler, a broken-off stream as cancelled. And the app
 * prints the same bytes with and without the preload.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimServer, type SimServer } from '../../../sim/index.js';
import { startOtlpReceiver, type Point } from '../../helpers/otlp-receiver.js';
import { diagLines, run } from '../../helpers/apps.js';

let sim: SimServer;
beforeAll(async () => {
  sim = await startSimServer({ port: 0, chunks: 3, promptTokens: 9, recordRequests: false });
});
afterAll(async () => {
  await sim.close();
});

async function runApp(app: string, env: Record<string, string> = {}, loader?: 'import' | 'require' | 'none') {
  const receiver = await startOtlpReceiver();
  try {
    const res = await run({
      app,
      ...(loader !== undefined ? { loader } : {}),
      // Several Node.js processes at once on a small CI machine.
      timeoutMs: 90_000,
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, SIM_URL: sim.url, ...env },
    });
    expect(res.code, res.stderr).toBe(0);
    return { points: loader === 'none' ? [] : receiver.points(), stdout: res.stdout, stderr: res.stderr };
  } finally {
    await receiver.close();
  }
}

const EXPECTED_STDOUT = 'invoke: tok1 tok2 tok3 \nstream: tok1 tok2 tok3 \nfake: fake answer\nfake break: f\n';

/** Operations by provider, stream flag and outcome: `provider stream outcome` → count. */
function operations(points: Point[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of points.filter((p) => p.metric === 'gen_ai.client.operation.duration')) {
    const a = p.attributes;
    const key = `${a['gen_ai.provider.name']} ${a['gen_ai.request.stream']} ${a['inference.outcome']}`;
    out[key] = (out[key] ?? 0) + p.value;
  }
  return out;
}

function active(points: Point[]): number {
  return points.filter((p) => p.metric === 'inference.requests.active').reduce((sum, p) => sum + p.value, 0);
}

// Loading LangChain costs each process ~1.5 s of CPU: a generous timeout for a busy machine.
describe.concurrent('@langchain/core through otel-inference/register', { timeout: 120_000 }, () => {
  it.each([
    { app: 'langchain-esm.mjs', how: 'ESM, @langchain/core 1.x' },
    { app: 'langchain-cjs.cjs', how: 'CJS, @langchain/core 1.x' },
    { app: '../langchain-v0/app.mjs', how: 'ESM, @langchain/core 0.3' },
  ])('$how: ChatOpenAI by the openai adapter only, FakeListChatModel by the handler, the broken-off stream cancelled', async ({ app }) => {
    const { points, stdout, stderr } = await runApp(app);
    expect(stdout).toBe(EXPECTED_STDOUT);
    expect(diagLines(stderr)).toEqual([]);
    expect(operations(points)).toEqual({
      // The openai adapter's records: the sim on 127.0.0.1 is an OpenAI-compatible server.
      'openai_compatible false success': 1,
      'openai_compatible true success': 1,
      // LangChain's own model, through the handler: no client library under it.
      'FakeListChatModel false success': 1,
      'FakeListChatModel true cancelled': 1,
    });
    expect(active(points)).toBe(0);
  });

  it('with the openai adapter off, the LangChain handler records ChatOpenAI (provider openai, its usage)', async () => {
    const { points, stdout } = await runApp('langchain-esm.mjs', { OTEL_NODE_DISABLED_INSTRUMENTATIONS: 'inference-openai' });
    expect(stdout).toBe(EXPECTED_STDOUT);
    expect(operations(points)).toEqual({
      'openai false success': 1,
      'openai true success': 1,
      'FakeListChatModel false success': 1,
      'FakeListChatModel true cancelled': 1,
    });
    const tokens = points.filter((p) => p.metric === 'gen_ai.client.token.usage' && p.attributes['gen_ai.provider.name'] === 'openai');
    expect(tokens.map((p) => `${p.attributes['gen_ai.token.type']} ${p.attributes['gen_ai.request.stream']} ${p.sum}`).sort()).toEqual([
      'input false 9',
      'input true 9',
      'output false 3',
      'output true 3',
    ]);
    const counted = (metric: string) =>
      points.filter((p) => p.metric === metric && p.attributes['gen_ai.provider.name'] === 'openai').reduce((sum, p) => sum + p.value, 0);
    expect(counted('gen_ai.client.inference.usage.input_tokens')).toBe(18);
    expect(counted('gen_ai.client.inference.usage.output_tokens')).toBe(6);
    const ttft = points.filter((p) => p.metric === 'gen_ai.client.operation.time_to_first_chunk' && p.attributes['gen_ai.provider.name'] === 'openai');
    expect(ttft.map((p) => p.value)).toEqual([1]);
    expect(active(points)).toBe(0);
  });

  it.each([
    { app: 'langchain-esm.mjs', loader: 'import' as const },
    { app: 'langchain-cjs.cjs', loader: 'require' as const },
  ])('$app prints the same bytes with and without the preload', async ({ app, loader }) => {
    const [bare, preloaded] = await Promise.all([runApp(app, {}, 'none'), runApp(app, {}, loader)]);
    expect(preloaded.stdout).toBe(bare.stdout);
    expect(preloaded.stderr).toBe(bare.stderr);
    expect(bare.stdout).toBe(EXPECTED_STDOUT);
  });
});
