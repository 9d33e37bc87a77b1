/**
 * The ollama client through the preload, in child processes against the simulated Ollama
 * server: ESM (`--import`) and CJS (`--require`), of `ollama` and of `ollama/browser`, record the
 * same calls, and the app prints byte for byte the same with and without the preload.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimServer, type SimServer } from '../../../sim/index.js';
import { startOtlpReceiver, type Point } from '../../helpers/otlp-receiver.js';
import { diagLines, run, type Loader } from '../../helpers/apps.js';

let sim: SimServer;
beforeAll(async () => {
  sim = await startSimServer({ port: 0, host: '127.0.0.1' });
});
afterAll(async () => {
  await sim.close();
});

const EXPECTED_OUTPUT = [
  'chat: tok1 tok2 tok3 tok4 tok5 ',
  'chat stream: tok1 tok2 tok3 ',
  'generate stream: think1 think2 tok1 tok2 ',
  'embed: 2 x 8',
  'stream error: Error: an error was encountered while running the model (simulated)',
  'http error: ResponseError 404',
  'abort: AbortError',
  '',
].join('\n');

async function runApp(app: string, loader?: Loader): Promise<{ points: Point[]; stdout: string; stderr: string }> {
  const r = await startOtlpReceiver();
  try {
    const res = await run({
      app,
      ...(loader !== undefined ? { loader } : {}),
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: r.url, SIM_HOST: `http://127.0.0.1:${sim.port}` },
    });
    expect(res.code, res.stderr).toBe(0);
    return { points: loader === 'none' ? [] : r.points(), stdout: res.stdout, stderr: res.stderr };
  } finally {
    await r.close();
  }
}

/** `model outcome[:error.type]` → count, from inference.requests. */
function outcomes(points: Point[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of points.filter((x) => x.metric === 'inference.requests')) {
    const a = p.attributes;
    const key = `${String(a['gen_ai.request.model'])} ${String(a['inference.outcome'])}${a['error.type'] !== undefined ? `:${String(a['error.type'])}` : ''}`;
    out[key] = (out[key] ?? 0) + (p.value ?? 0);
  }
  return out;
}

function tokenSums(points: Point[], model: string): Record<string, number> {
  const tokens = points.filter((p) => p.metric === 'gen_ai.client.token.usage' && p.attributes['gen_ai.request.model'] === model);
  return Object.fromEntries(tokens.map((t) => [String(t.attributes['gen_ai.token.type']), t.sum ?? 0]));
}

/** The `gen_ai.client.inference.usage.*` counters of one model. */
function usageCounters(points: Point[], model: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of points) {
    if (!p.metric.startsWith('gen_ai.client.inference.usage.') || p.attributes['gen_ai.request.model'] !== model) continue;
    const name = p.metric.slice('gen_ai.client.inference.usage.'.length);
    out[name] = (out[name] ?? 0) + (p.value ?? 0);
  }
  return out;
}

function point(points: Point[], metric: string, model: string): Point {
  const found = points.filter((p) => p.metric === metric && p.attributes['gen_ai.request.model'] === model);
  expect(found, `${metric} ${model}`).toHaveLength(1);
  return found[0]!;
}

describe.concurrent('ollama through otel-inference/register', () => {
  it.each([
    { app: 'ollama-esm.mjs', how: 'ESM import (--import)' },
    { app: 'ollama-cjs.cjs', how: 'CJS require (--require)' },
  ])('$how: every call recorded once, with its counts, timings and outcome', async ({ app }) => {
    const { points, stdout, stderr } = await runApp(app);
    expect(stdout).toBe(EXPECTED_OUTPUT);
    expect(diagLines(stderr)).toEqual([]);
    expect(outcomes(points)).toEqual({
      'default-chat success': 1,
      'chat-stream success': 1,
      'generate-think success': 1,
      'embed success': 1,
      'stream-error error:stream_error': 1,
      'missing error:404': 1,
      'aborted cancelled': 1,
    });
    const chat = point(points, 'gen_ai.client.operation.duration', 'default-chat');
    expect(chat.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'ollama',
      'gen_ai.response.model': 'default-chat',
      'gen_ai.request.stream': false,
      'server.address': '127.0.0.1',
      'server.port': sim.port,
    });
    expect(tokenSums(points, 'default-chat')).toEqual({ input: 7, output: 5 });
    expect(tokenSums(points, 'chat-stream')).toEqual({ input: 11, output: 3 });
    expect(usageCounters(points, 'chat-stream')).toEqual({
      input_tokens: 11,
      output_tokens: 3,
      'cache_read.input_tokens': 6,
      'cache_write.input_tokens': 0,
      'reasoning.output_tokens': 0,
    });
    expect(point(points, 'gen_ai.client.operation.time_to_first_chunk', 'chat-stream').value).toBe(1);
    expect(point(points, 'gen_ai.client.operation.time_per_output_chunk', 'chat-stream').value).toBe(2);
    const generate = point(points, 'gen_ai.client.operation.time_per_output_chunk', 'generate-think');
    expect(generate.value).toBe(3);
    expect(generate.attributes['gen_ai.operation.name']).toBe('text_completion');
    expect(tokenSums(points, 'generate-think')).toEqual({ input: 7, output: 4 });
    expect(point(points, 'gen_ai.client.operation.duration', 'embed').attributes['gen_ai.operation.name']).toBe('embeddings');
    expect(tokenSums(points, 'embed')).toEqual({ input: 4 });
    const active = points.filter((p) => p.metric === 'inference.requests.active');
    expect(active.length).toBeGreaterThan(0);
    expect(active.every((p) => p.value === 0)).toBe(true);
  });

  it.each([
    { app: 'ollama-browser.mjs', how: 'ESM import' },
    { app: 'ollama-browser.cjs', how: 'CJS require' },
  ])('$how of ollama/browser alone', async ({ app }) => {
    const { points, stdout, stderr } = await runApp(app);
    expect(stdout).toBe('browser chat: tok1 tok2 \n');
    expect(diagLines(stderr)).toEqual([]);
    expect(outcomes(points)).toEqual({ 'browser-chat success': 1 });
    expect(point(points, 'gen_ai.client.operation.time_per_output_chunk', 'browser-chat').value).toBe(1);
  });

  it.each([
    { app: 'ollama-esm.mjs', how: 'ESM' },
    { app: 'ollama-cjs.cjs', how: 'CJS' },
  ])('$how: the app prints byte for byte the same without the preload', async ({ app }) => {
    const { stdout, stderr } = await runApp(app, 'none');
    expect(stderr).toBe('');
    expect(stdout).toBe(EXPECTED_OUTPUT);
  });
});
