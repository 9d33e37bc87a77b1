/**
 * @aws-sdk/client-bedrock-runtime through the preload: an ESM app (named imports, --import) and a
 * CJS app (require, --require) make the same Converse, ConverseStream, InvokeModel,
 * InvokeModelWithResponseStream, aggregated-client and aborted calls, and print exactly what they
 * got, byte for byte the same with and without the preload.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimServer, type SimServer } from '../../../sim/index.js';
import { startOtlpReceiver, type Point } from '../../helpers/otlp-receiver.js';
import { diagLines, run, type Loader } from '../../helpers/apps.js';

const SIM_BEHAVIOR = JSON.stringify({ chunks: 3, promptTokens: 9, cacheReadTokens: 4 });

let sim: SimServer;
beforeAll(async () => {
  sim = await startSimServer();
});
afterAll(async () => {
  await sim.close();
});

async function runApp(app: string, loader: Loader): Promise<{ points: Point[]; stdout: string; stderr: string }> {
  const receiver = await startOtlpReceiver();
  try {
    const res = await run({ app, loader, env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, SIM_URL: sim.url, SIM_BEHAVIOR } });
    expect(res.code, res.stderr).toBe(0);
    return { points: receiver.points(), stdout: res.stdout, stderr: res.stderr };
  } finally {
    await receiver.close();
  }
}

const APPS = [
  { app: 'bedrock-esm.mjs', loader: 'import' as const, how: 'ESM named imports, --import' },
  { app: 'bedrock-cjs.cjs', loader: 'require' as const, how: 'CJS require, --require' },
];

describe.concurrent('@aws-sdk/client-bedrock-runtime through otel-inference/register', () => {
  it.each(APPS)('$how: every call recorded once, with usage; the output identical without the preload', async ({ app, loader }) => {
    const [withPreload, without] = await Promise.all([runApp(app, loader), runApp(app, 'none')]);
    expect(withPreload.stdout).toBe(without.stdout);
    expect(withPreload.stdout.split('\n').map((line) => line.split(' ')[0])).toEqual([
      'converse',
      'converse-stream',
      'invoke',
      'invoke-stream',
      'aggregated',
      'aborted',
      '',
    ]);
    expect(withPreload.stdout).toContain('"cacheReadInputTokens":4');
    expect(diagLines(withPreload.stderr)).toEqual([]);
    expect(without.points).toEqual([]);

    const requests = withPreload.points.filter((p) => p.metric === 'inference.requests');
    const count = (match: Record<string, unknown>) =>
      requests.filter((p) => Object.entries(match).every(([k, v]) => p.attributes[k] === v)).reduce((n, p) => n + p.value, 0);
    expect(count({})).toBe(6);
    for (const p of requests) {
      expect(p.attributes).toMatchObject({
        'gen_ai.provider.name': 'aws.bedrock',
        'gen_ai.operation.name': 'chat',
        'gen_ai.request.model': 'anthropic.claude-3-haiku-20240307-v1:0',
      });
      expect(p.scope).toBe('otel-inference');
    }
    expect(count({ 'gen_ai.request.stream': true, 'inference.outcome': 'success' })).toBe(2);
    expect(count({ 'gen_ai.request.stream': false, 'inference.outcome': 'success' })).toBe(3);
    expect(count({ 'inference.outcome': 'cancelled' })).toBe(1);
    // The first call of each client has no server attributes yet (docs/libraries/bedrock.md).
    expect(count({ 'server.address': '127.0.0.1', 'server.port': sim.port })).toBe(4);

    const tokens = withPreload.points.filter((p) => p.metric === 'gen_ai.client.token.usage');
    const sumOf = (type: string) => tokens.filter((p) => p.attributes['gen_ai.token.type'] === type).reduce((n, p) => n + p.sum!, 0);
    expect(sumOf('input')).toBe(5 * 9);
    expect(sumOf('output')).toBe(5 * 3);
    const counter = (metric: string) => withPreload.points.filter((p) => p.metric === metric).reduce((n, p) => n + p.value, 0);
    expect(counter('gen_ai.client.inference.usage.input_tokens')).toBe(5 * 9);
    expect(counter('gen_ai.client.inference.usage.output_tokens')).toBe(5 * 3);
    expect(counter('gen_ai.client.inference.usage.cache_read.input_tokens')).toBe(5 * 4);
    expect(counter('gen_ai.client.inference.usage.cache_write.input_tokens')).toBe(0);
    const ttft = withPreload.points.filter((p) => p.metric === 'gen_ai.client.operation.time_to_first_chunk');
    expect(ttft.reduce((n, p) => n + p.value, 0)).toBe(2);
    const gaps = withPreload.points.filter((p) => p.metric === 'gen_ai.client.operation.time_per_output_chunk');
    expect(gaps.reduce((n, p) => n + p.value, 0)).toBe(2 * 2);
    const active = withPreload.points.filter((p) => p.metric === 'inference.requests.active');
    expect(active.reduce((n, p) => n + p.value, 0)).toBe(0);
  });
});
