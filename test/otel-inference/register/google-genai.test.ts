/**
 * @google/genai through the preload, ESM import and CJS require: each model request recorded
 * once with its usage and outcome, and the app's output byte-identical with and without it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimServer, type SimServer } from '../../../sim/index.js';
import { startOtlpReceiver, type Point } from '../../helpers/otlp-receiver.js';
import { diagLines, run, type Loader } from '../../helpers/apps.js';

const ESM_APP = 'google-genai-esm.mjs';
const CJS_APP = 'google-genai-cjs.cjs';

let sim: SimServer;
beforeAll(async () => {
  sim = await startSimServer({ port: 0 });
});
afterAll(async () => {
  await sim.close();
});

async function runApp(app: string, loader?: Loader) {
  const receiver = await startOtlpReceiver();
  try {
    const res = await run({
      app,
      ...(loader !== undefined ? { loader } : {}),
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, SIM_URL: `http://127.0.0.1:${sim.port}`, OTEL_NODE_DISABLED_INSTRUMENTATIONS: 'http,undici' },
    });
    expect(res.code, res.stderr).toBe(0);
    return { points: receiver.points(), stdout: res.stdout, stderr: res.stderr };
  } finally {
    await receiver.close();
  }
}

function outcomes(points: Point[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of points.filter((point) => point.metric === 'inference.requests')) {
    const a = p.attributes;
    const key = `${a['gen_ai.operation.name']} stream=${a['gen_ai.request.stream']} ${a['inference.outcome']}${a['error.type'] !== undefined ? ` ${a['error.type']}` : ''}`;
    out[key] = (out[key] ?? 0) + (p.value ?? 0);
  }
  return out;
}

function tokens(points: Point[], match: Record<string, unknown>): Record<string, number | undefined> {
  const selected = points.filter(
    (p) => p.metric === 'gen_ai.client.token.usage' && Object.entries(match).every(([k, v]) => p.attributes[k] === v),
  );
  return Object.fromEntries(selected.map((p) => [String(p.attributes['gen_ai.token.type']), p.sum]));
}

describe.concurrent('@google/genai through otel-inference/register', () => {
  it.each([
    { app: ESM_APP, loader: 'import' as const },
    { app: CJS_APP, loader: 'require' as const },
  ])('$app (--$loader): every model request once, with outcome, usage and provider; output byte-identical without the preload', async ({ app, loader }) => {
    const [plain, { points, stdout, stderr }] = await Promise.all([runApp(app, 'none'), runApp(app, loader)]);
    expect(plain.points).toEqual([]);
    expect(stdout).toBe(plain.stdout);
    expect(stdout).toMatch(/^generate: GenerateContentResponse /);
    expect(stdout.split('\n')).toHaveLength(7);
    expect(diagLines(stderr)).toEqual([]);
    expect(outcomes(points)).toEqual({
      // generateContent and the chat turn; the 429.
      'generate_content stream=false success': 2,
      'generate_content stream=false error 429': 1,
      'generate_content stream=true success': 1,
      'generate_content stream=true cancelled': 1,
      'embeddings stream=false success': 1,
    });
    const duration = points.filter((p) => p.metric === 'gen_ai.client.operation.duration');
    expect(duration.every((p) => p.attributes['gen_ai.provider.name'] === 'gcp.gemini' && p.attributes['server.address'] === '127.0.0.1')).toBe(true);
    expect(new Set(duration.map((p) => p.attributes['gen_ai.request.model']))).toEqual(new Set(['gemini-2.5-flash', 'gemini-embedding-001']));
    // generateContent: 7 in, 3 + 1 thought out; the chat: 7 in, 2 out.
    expect(tokens(points, { 'gen_ai.request.stream': false, 'gen_ai.operation.name': 'generate_content' })).toEqual({ input: 14, output: 6 });
    // The streams: 3 answer tokens, and the 2 reported by the last chunk before the break.
    expect(tokens(points, { 'gen_ai.request.stream': true })).toEqual({ input: 14, output: 5 });
    expect(tokens(points, { 'gen_ai.operation.name': 'embeddings' })).toEqual({ input: 7 });
    const ttfc = points.filter((p) => p.metric === 'gen_ai.client.operation.time_to_first_chunk');
    expect(ttfc.map((p) => p.value)).toEqual([2]);
  });
});
