/**
 * @anthropic-ai/sdk through the preload, in child processes: an ESM app (`--import`) and a CJS
 * app (`--require`) make the same calls against the sim (create, a stream, messages.stream(),
 * an error event mid-stream, a 529, beta.messages, countTokens) and export what was recorded;
 * and the app prints byte for byte the same with the preload as without it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimServer, type SimServer } from '../../../sim/index.js';
import { startOtlpReceiver, type Point } from '../../helpers/otlp-receiver.js';
import { diagLines, run, type Loader } from '../../helpers/apps.js';
import { origin } from '../../helpers/anthropic.js';

let server: SimServer;
beforeAll(async () => {
  server = await startSimServer({ port: 0 });
});
afterAll(async () => {
  await server.close();
});

async function runApp(app: string, loader: Loader): Promise<{ points: Point[]; stdout: string; stderr: string }> {
  const receiver = await startOtlpReceiver();
  try {
    const res = await run({ app, loader, env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, SIM_URL: origin(server.url) } });
    expect(res.code, res.stderr).toBe(0);
    return { points: receiver.points(), stdout: res.stdout, stderr: res.stderr };
  } finally {
    await receiver.close();
  }
}

const runs = {
  esm: undefined as Promise<{ points: Point[]; stdout: string; stderr: string }> | undefined,
  cjs: undefined as Promise<{ points: Point[]; stdout: string; stderr: string }> | undefined,
  plain: undefined as Promise<{ points: Point[]; stdout: string; stderr: string }> | undefined,
};
const esm = () => (runs.esm ??= runApp('anthropic-esm.mjs', 'import'));
const cjs = () => (runs.cjs ??= runApp('anthropic-cjs.cjs', 'require'));
const plain = () => (runs.plain ??= runApp('anthropic-esm.mjs', 'none'));

function byModel(points: Point[], metric: string): Record<string, Point[]> {
  const out: Record<string, Point[]> = {};
  for (const p of points.filter((x) => x.metric === metric)) (out[String(p.attributes['gen_ai.request.model'])] ??= []).push(p);
  return out;
}

describe.concurrent('@anthropic-ai/sdk through otel-inference/register', () => {
  it.each([
    ['ESM import (--import)', esm],
    ['CJS require (--require)', cjs],
  ])('%s: each call recorded once, with its outcome, usage and timings', async (_how, result) => {
    const { points, stderr } = await result();
    expect(diagLines(stderr)).toEqual([]);
    const requests = byModel(points, 'inference.requests');
    const outcomes = Object.fromEntries(
      Object.entries(requests).map(([model, ps]) => [
        model,
        ps.map((p) => `${p.attributes['inference.outcome']}${p.attributes['error.type'] ? ` ${p.attributes['error.type']}` : ''} ×${p.value}`),
      ]),
    );
    // countTokens is not an inference call.
    expect(outcomes).toEqual({
      'fixture-create': ['success ×1'],
      'fixture-stream': ['success ×1'],
      'fixture-helper': ['success ×1'],
      'fixture-error': ['error overloaded_error ×1'],
      'fixture-529': ['error 529 ×1'],
      'fixture-beta': ['success ×1'],
    });
    const duration = byModel(points, 'gen_ai.client.operation.duration');
    expect(duration['fixture-create']![0]!.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'anthropic',
      'gen_ai.response.model': 'fixture-create',
      'gen_ai.request.stream': false,
      'server.address': '127.0.0.1',
      'server.port': server.port,
    });
    const tokens = (model: string) =>
      Object.fromEntries(byModel(points, 'gen_ai.client.token.usage')[model]!.map((p) => [p.attributes['gen_ai.token.type'], p.sum]));
    expect(tokens('fixture-create')).toEqual({ input: 20, output: 3 });
    expect(tokens('fixture-stream')).toEqual({ input: 7, output: 5 });
    expect(tokens('fixture-helper')).toEqual({ input: 7, output: 3 });
    const counter = (metric: string, model: string) => byModel(points, metric)[model]?.reduce((acc, p) => acc + (p.value ?? 0), 0);
    expect(counter('gen_ai.client.inference.usage.cache_read.input_tokens', 'fixture-create')).toBe(8);
    expect(counter('gen_ai.client.inference.usage.cache_write.input_tokens', 'fixture-create')).toBe(2);
    expect(counter('gen_ai.client.inference.usage.cache_write.input_tokens', 'fixture-helper')).toBe(4);
    expect(counter('gen_ai.client.inference.usage.input_tokens', 'fixture-create')).toBe(20);
    // One thinking + four text deltas: five output chunks, four gaps.
    const tpoc = byModel(points, 'gen_ai.client.operation.time_per_output_chunk');
    expect(tpoc['fixture-stream']![0]!.value).toBe(4);
    expect(tpoc['fixture-helper']![0]!.value).toBe(2);
    expect(byModel(points, 'gen_ai.client.operation.time_to_first_chunk')['fixture-error']![0]!.value).toBe(1);
    const active = points.filter((p) => p.metric === 'inference.requests.active');
    expect(active.every((p) => p.value === 0)).toBe(true);
  });

  it('the app prints byte for byte the same with the preload (ESM and CJS) as without it', async () => {
    const [withEsm, withCjs, without] = await Promise.all([esm(), cjs(), plain()]);
    expect(without.stdout.split('\n')).toHaveLength(8);
    expect(without.stdout).toContain('error: after 4 events, APIError overloaded_error');
    expect(without.points).toEqual([]);
    expect(withEsm.stdout).toBe(without.stdout);
    expect(withCjs.stdout).toBe(without.stdout);
  });
});
