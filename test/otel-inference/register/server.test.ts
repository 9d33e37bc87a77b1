/**
 * Zero-code server metrics through the preload: a real node:http server and a real Express
 * server, each in a child process under `node --import otel-inference/register`, driven by real
 * clients (fetch, node:http, the openai client), their metrics read back over OTLP.
 */
import http from 'node:http';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SERVER_TPOT_BUCKETS, SERVER_TTFT_BUCKETS } from '../../../packages/instrumentation/src/semconv.js';
import { diagLines, start, startFakeOpenAI, type Loader } from '../../helpers/apps.js';
import { startOtlpReceiver, type Point } from '../../helpers/otlp-receiver.js';

interface Served {
  points: Point[];
  stdout: string;
  stderr: string;
}

/** Runs the fixture server, lets `drive` talk to it, ends it, and returns what it exported. */
async function withServer(
  drive: (url: string) => Promise<void>,
  options: { env?: Record<string, string>; loader?: Loader } = {},
): Promise<Served> {
  const receiver = await startOtlpReceiver();
  try {
    const app = start({
      app: 'openai-server.mjs',
      loader: options.loader ?? 'import',
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, ...options.env },
      timeoutMs: 90_000,
    });
    let stdout = '';
    app.child.stdout!.on('data', (d: string) => (stdout += d));
    await app.waitForOutput('listening ', 30_000);
    const url = `http://127.0.0.1:${/listening (\d+)/.exec(stdout)![1]}`;
    await drive(url);
    await (await fetch(`${url}/quit`, { method: 'POST' })).text();
    const res = await app.done;
    expect(res.code, res.stderr).toBe(0);
    return { points: receiver.points(), stdout: res.stdout, stderr: res.stderr };
  } finally {
    await receiver.close();
  }
}

const REQUEST = { model: 'req-model-a', messages: [{ role: 'user', content: 'hi' }], stream: true };

function post(url: string, headers: Record<string, string>, body: object = REQUEST, signal?: AbortSignal): Promise<string> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body), ...(signal ? { signal } : {}) }).then((r) =>
    r.text(),
  );
}

/** Reads `count` data events of a stream, then drops the connection. */
function disconnectAfter(url: string, headers: Record<string, string>, count: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      let seen = 0;
      res.on('data', () => {
        if (++seen === count) {
          req.destroy();
          resolve();
        }
      });
    });
    req.on('error', (e) => (/socket hang up|aborted/.test(e.message) ? undefined : reject(e)));
    req.end(JSON.stringify(REQUEST));
  });
}

function matching(points: Point[], metric: string, match: Record<string, unknown> = {}): Point[] {
  return points.filter(
    (p) => p.metric === metric && Object.entries(match).every(([k, v]) => (v === undefined ? !(k in p.attributes) : p.attributes[k] === v)),
  );
}

function one(points: Point[], metric: string, match: Record<string, unknown> = {}): Point {
  const found = matching(points, metric, match);
  expect(found, `${metric} ${JSON.stringify(match)}: ${JSON.stringify(points.filter((p) => p.metric === metric).map((p) => p.attributes))}`).toHaveLength(1);
  return found[0]!;
}

const total = (points: Point[], metric: string, match: Record<string, unknown> = {}) => matching(points, metric, match).reduce((a, p) => a + p.value, 0);

const stream = (model: string, extra: Record<string, string> = {}) => ({ 'x-fixture-kind': 'stream', 'x-fixture-model': model, ...extra });

describe.each([
  { server: 'node:http', env: {} as Record<string, string>, requestModel: undefined, thrown: 'TypeError' },
  // Express parses the body (express.json()): the request model is read from req.body. It
  // catches a handler's exception itself and answers 500.
  { server: 'express', env: { FIXTURE_SERVER: 'express' }, requestModel: 'req-model-a', thrown: '500' },
])('$server under --import otel-inference/register', ({ env, requestModel, thrown }) => {
  let served: Served;
  beforeAll(async () => {
    served = await withServer(async (url) => {
      const chat = `${url}/v1/chat/completions`;
      // One at a time: the timing assertions read the server's own delays.
      await post(chat, stream('m-usage', { 'x-fixture-ttft-ms': '150', 'x-fixture-gap-ms': '20', 'x-fixture-chunks': '5' }));
      await post(chat, stream('m-counted', { 'x-fixture-usage': '0', 'x-fixture-ttft-ms': '150', 'x-fixture-gap-ms': '20', 'x-fixture-chunks': '5' }));
      await post(chat, { 'x-fixture-kind': 'json', 'x-fixture-model': 'm-json', 'x-fixture-ttft-ms': '60' }, { ...REQUEST, stream: false });
      await post(chat, { 'x-fixture-kind': 'json', 'x-fixture-model': 'm-json-nousage', 'x-fixture-usage': '0' }, { ...REQUEST, stream: false });
      await post(chat, { 'x-fixture-kind': 'status', 'x-fixture-status': '400' });
      await post(chat, { 'x-fixture-kind': 'status', 'x-fixture-status': '503' });
      await disconnectAfter(url, stream('m-cancel', { 'x-fixture-ttft-ms': '0', 'x-fixture-gap-ms': '20', 'x-fixture-chunks': '200' }), 4);
      await post(chat, { 'x-fixture-kind': 'throw' }, REQUEST, AbortSignal.timeout(500)).catch(() => {});
      // Not recorded: another method, another path.
      await fetch(chat).then((r) => r.text());
      await post(`${url}/v1/models`, stream('m-not-a-route'));
      await post(`${url}/v1/chat/completions/x`, stream('m-not-a-route'));
      // The cancelled one ends when the server sees the close: give it a moment.
      await new Promise((resolve) => setTimeout(resolve, 300));
    }, { env });
  }, 120_000);

  it('starts quietly', () => {
    expect(diagLines(served.stderr)).toEqual([]);
  });

  it('a stream with usage: TTFT, duration and TPOT match the server-side delays (TTFT 150 ms, 5 chunks 20 ms apart)', () => {
    const attributes = {
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai_compatible',
      'gen_ai.request.model': requestModel,
      'gen_ai.response.model': 'm-usage',
      'gen_ai.request.stream': true,
    };
    const ttft = one(served.points, 'gen_ai.server.time_to_first_token', attributes);
    expect(ttft.value).toBe(1);
    expect(ttft.bounds).toEqual([...SERVER_TTFT_BUCKETS]);
    expect(ttft.sum!).toBeGreaterThanOrEqual(0.149);
    expect(ttft.sum!).toBeLessThan(0.15 + 0.35);
    const duration = one(served.points, 'gen_ai.server.request.duration', { ...attributes, 'inference.outcome': 'success' });
    expect(duration.sum!).toBeGreaterThanOrEqual(0.149 + 4 * 0.019);
    expect(duration.sum!).toBeLessThan(0.23 + 0.5);
    const tpot = one(served.points, 'gen_ai.server.time_per_output_token', attributes);
    expect(tpot.bounds).toEqual([...SERVER_TPOT_BUCKETS]);
    expect(tpot.sum!).toBeCloseTo((duration.sum! - ttft.sum!) / 4, 6);
    expect(tpot.sum!).toBeGreaterThanOrEqual(0.019);
    expect(tpot.sum!).toBeLessThan(0.02 + 0.05);
    expect(one(served.points, 'inference.server.requests', { ...attributes, 'inference.outcome': 'success' }).value).toBe(1);
    expect(total(served.points, 'inference.server.tokens', { 'gen_ai.response.model': 'm-usage', 'gen_ai.token.type': 'output' })).toBe(5);
    expect(total(served.points, 'inference.server.tokens', { 'gen_ai.response.model': 'm-usage', 'gen_ai.token.type': 'input' })).toBe(9);
  });

  it('a stream without usage: output tokens counted from the output chunks, and TPOT over them', () => {
    const match = { 'gen_ai.response.model': 'm-counted' };
    expect(total(served.points, 'inference.server.tokens', { ...match, 'gen_ai.token.type': 'output' })).toBe(5);
    expect(total(served.points, 'inference.server.tokens', { ...match, 'gen_ai.token.type': 'input' })).toBe(0);
    const ttft = one(served.points, 'gen_ai.server.time_to_first_token', match);
    const duration = one(served.points, 'gen_ai.server.request.duration', match);
    expect(one(served.points, 'gen_ai.server.time_per_output_token', match).sum!).toBeCloseTo((duration.sum! - ttft.sum!) / 4, 6);
  });

  it('JSON responses: duration, model and usage; no TTFT or TPOT for a response that is not streamed', () => {
    const json = { 'gen_ai.response.model': 'm-json', 'gen_ai.request.stream': false, 'gen_ai.request.model': requestModel };
    expect(one(served.points, 'gen_ai.server.request.duration', { ...json, 'inference.outcome': 'success' }).sum!).toBeGreaterThanOrEqual(0.059);
    expect(matching(served.points, 'gen_ai.server.time_to_first_token', { 'gen_ai.request.stream': false })).toEqual([]);
    expect(matching(served.points, 'gen_ai.server.time_per_output_token', { 'gen_ai.request.stream': false })).toEqual([]);
    expect(total(served.points, 'inference.server.tokens', { ...json, 'gen_ai.token.type': 'output' })).toBe(4);
    expect(total(served.points, 'inference.server.tokens', { ...json, 'gen_ai.token.type': 'input' })).toBe(9);
    expect(one(served.points, 'inference.server.requests', { 'gen_ai.response.model': 'm-json-nousage' }).value).toBe(1);
    expect(matching(served.points, 'inference.server.tokens', { 'gen_ai.response.model': 'm-json-nousage' })).toEqual([]);
  });

  it('4xx and 5xx: error with error.type = the status code', () => {
    for (const status of ['400', '503']) {
      expect(one(served.points, 'inference.server.requests', { 'error.type': status }).attributes['inference.outcome']).toBe('error');
      expect(one(served.points, 'gen_ai.server.request.duration', { 'error.type': status }).value).toBe(1);
    }
  });

  it('a client that disconnects mid-stream: cancelled', () => {
    const cancelled = one(served.points, 'inference.server.requests', { 'gen_ai.response.model': 'm-cancel' });
    expect(cancelled.attributes['inference.outcome']).toBe('cancelled');
    expect(matching(served.points, 'gen_ai.server.time_to_first_token', { 'gen_ai.response.model': 'm-cancel' })).toEqual([]);
  });

  it(`a handler that throws: error with error.type ${thrown}`, () => {
    expect(one(served.points, 'inference.server.requests', { 'error.type': thrown }).attributes['inference.outcome']).toBe('error');
  });

  it('every request once, other methods and paths not at all, the active gauge back to 0', () => {
    expect(total(served.points, 'inference.server.requests')).toBe(8);
    expect(matching(served.points, 'inference.server.requests', { 'gen_ai.response.model': 'm-not-a-route' })).toEqual([]);
    expect(total(served.points, 'inference.server.requests.active')).toBe(0);
    expect(matching(served.points, 'inference.server.requests.active').length).toBeGreaterThan(0);
  });
});

describe.concurrent('which routes', () => {
  const json = { 'x-fixture-kind': 'json', 'x-fixture-ttft-ms': '0' };
  const drive = async (url: string) => {
    for (const path of ['/v1/chat/completions', '/v1/embeddings', '/api/chat', '/api/embed', '/v1/chat/completions?x=1']) {
      await post(`${url}${path}`, { ...json, 'x-fixture-model': `m${path.replace(/\W+/g, '-')}` }, { ...REQUEST, stream: false });
    }
  };
  const operations = (points: Point[]) =>
    Object.fromEntries(matching(points, 'inference.server.requests').map((p) => [p.attributes['gen_ai.response.model'], [p.attributes['gen_ai.operation.name'], p.value]]));

  it('by default the OpenAI routes, the query string aside', async () => {
    const { points } = await withServer(drive);
    expect(operations(points)).toEqual({
      'm-v1-chat-completions': ['chat', 1],
      'm-v1-embeddings': ['embeddings', 1],
      'm-v1-chat-completions-x-1': ['chat', 1],
    });
  });

  it('OTEL_INFERENCE_SERVER_ROUTES replaces them: the operation given or inferred from the path', async () => {
    const { points, stderr } = await withServer(drive, { env: { OTEL_INFERENCE_SERVER_ROUTES: ' /api/chat , /api/embed,/v1/embeddings=generate_content' } });
    expect(diagLines(stderr)).toEqual([]);
    expect(operations(points)).toEqual({
      'm-api-chat': ['chat', 1],
      'm-api-embed': ['embeddings', 1],
      'm-v1-embeddings': ['generate_content', 1],
    });
  });

  it.each([
    ['none', { OTEL_INFERENCE_SERVER_ROUTES: 'none' }],
    ['empty', { OTEL_INFERENCE_SERVER_ROUTES: '' }],
    ['OTEL_NODE_DISABLED_INSTRUMENTATIONS=inference-server', { OTEL_NODE_DISABLED_INSTRUMENTATIONS: 'inference-server' }],
  ])('%s: the server side is off', async (_how, env) => {
    const { points, stderr } = await withServer(drive, { env });
    expect(diagLines(stderr)).toEqual([]);
    expect(matching(points, 'inference.server.requests')).toEqual([]);
    expect(points.filter((p) => p.metric.startsWith('gen_ai.server.'))).toEqual([]);
  });

  it('invalid entries: one warning, the valid ones kept; none valid: the default routes', async () => {
    const some = await withServer(drive, { env: { OTEL_INFERENCE_SERVER_ROUTES: 'api/chat,/api/chat,/v1/x=Not An Op' } });
    expect(diagLines(some.stderr)).toEqual([
      'otel-inference: warn: OTEL_INFERENCE_SERVER_ROUTES: invalid route(s) "api/chat", "/v1/x=Not An Op" ignored (expected a comma list of /path or /path=operation, or none)',
    ]);
    expect(operations(some.points)).toEqual({ 'm-api-chat': ['chat', 1] });
    const all = await withServer(drive, { env: { OTEL_INFERENCE_SERVER_ROUTES: 'chat' } });
    expect(diagLines(all.stderr)).toEqual([
      'otel-inference: warn: OTEL_INFERENCE_SERVER_ROUTES: invalid route(s) "chat" ignored (expected a comma list of /path or /path=operation, or none); using the default routes',
    ]);
    expect(Object.keys(operations(all.points)).sort()).toEqual(['m-v1-chat-completions', 'm-v1-chat-completions-x-1', 'm-v1-embeddings']);
  });
});

describe('what the caller receives', () => {
  /** Everything a caller can see of the responses, but the Date header. */
  async function receive(url: string) {
    const raw: Record<string, { status: number; headers: [string, string][]; body: string }> = {};
    const headers = { 'x-fixture-ttft-ms': '5', 'x-fixture-gap-ms': '2', 'x-fixture-chunks': '7' };
    for (const [name, extra, body] of [
      ['stream', { 'x-fixture-kind': 'stream' }, REQUEST],
      ['stream-no-usage', { 'x-fixture-kind': 'stream', 'x-fixture-usage': '0' }, REQUEST],
      ['json', { 'x-fixture-kind': 'json' }, { ...REQUEST, stream: false }],
      ['status', { 'x-fixture-kind': 'status', 'x-fixture-status': '429' }, REQUEST],
    ] as const) {
      const res = await fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { ...headers, ...extra, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      raw[name] = {
        status: res.status,
        headers: [...res.headers].filter(([k]) => k !== 'date'),
        body: Buffer.from(await res.arrayBuffer()).toString('base64'),
      };
    }
    const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'sk-test', defaultHeaders: headers });
    const completion = await client.chat.completions.create({ model: 'req-model-a', messages: [{ role: 'user', content: 'hi' }] }, { headers: { 'x-fixture-kind': 'json' } });
    const chunks: unknown[] = [];
    for await (const chunk of await client.chat.completions.create({ model: 'req-model-a', messages: [{ role: 'user', content: 'hi' }], stream: true })) chunks.push(chunk);
    return { raw, completion, chunks };
  }

  it.each([{ server: 'node:http', env: {} as Record<string, string> }, { server: 'express', env: { FIXTURE_SERVER: 'express' } }])(
    '$server: byte-identical with and without the preload (raw fetch and the openai client)',
    async ({ env }) => {
      let without: Awaited<ReturnType<typeof receive>> | undefined;
      let withIt: Awaited<ReturnType<typeof receive>> | undefined;
      await withServer(async (url) => void (without = await receive(url)), { env, loader: 'none' });
      const { points } = await withServer(async (url) => void (withIt = await receive(url)), { env });
      expect(withIt!.chunks.length).toBeGreaterThan(7);
      expect(withIt!.raw.stream!.body.length).toBeGreaterThan(1000);
      expect(withIt).toEqual(without);
      // ... and the preloaded run did record them (4 raw + 2 through the client).
      expect(total(points, 'inference.server.requests')).toBe(6);
    },
    120_000,
  );
});

describe('a gateway: server and client in one process', () => {
  let upstream: Awaited<ReturnType<typeof startFakeOpenAI>>;
  beforeAll(async () => {
    upstream = await startFakeOpenAI();
  });
  afterAll(async () => {
    await upstream.close();
  });

  it('reports both sides: the server side to its caller, the client side to the backend; server TTFT ≥ client TTFC', async () => {
    const { points, stdout } = await withServer(
      async (url) => {
        for (let i = 0; i < 3; i++) await post(`${url}/v1/chat/completions`, { 'x-fixture-kind': 'gateway' }, { ...REQUEST, model: 'gw-model' });
      },
      { env: { GATEWAY_UPSTREAM: upstream.url, FIXTURE_SERVER: 'express' } },
    );
    expect(stdout).not.toContain('handler failed');
    const server = one(points, 'inference.server.requests', { 'inference.outcome': 'success' });
    expect(server.value).toBe(3);
    expect(server.attributes).toMatchObject({ 'gen_ai.request.model': 'gw-model', 'gen_ai.response.model': 'gw-model', 'gen_ai.request.stream': true });
    const client = one(points, 'inference.requests', { 'inference.outcome': 'success' });
    expect(client.value).toBe(3);
    expect(client.attributes).toMatchObject({ 'gen_ai.request.model': 'gw-model', 'server.address': '127.0.0.1' });
    // The backend's 3 words with its usage (7 in, 3 out), on both sides.
    expect(total(points, 'inference.server.tokens', { 'gen_ai.token.type': 'output' })).toBe(9);
    expect(total(points, 'inference.server.tokens', { 'gen_ai.token.type': 'input' })).toBe(21);
    const serverTtft = one(points, 'gen_ai.server.time_to_first_token');
    const clientTtfc = one(points, 'gen_ai.client.operation.time_to_first_chunk');
    expect(serverTtft.value).toBe(3);
    expect(clientTtfc.value).toBe(3);
    expect(serverTtft.sum!).toBeGreaterThanOrEqual(clientTtfc.sum!);
    const serverDuration = one(points, 'gen_ai.server.request.duration');
    const clientDuration = one(points, 'gen_ai.client.operation.duration');
    expect(serverDuration.sum!).toBeGreaterThanOrEqual(clientDuration.sum!);
    expect(total(points, 'inference.server.requests.active')).toBe(0);
    expect(total(points, 'inference.requests.active')).toBe(0);
  }, 120_000);
});
