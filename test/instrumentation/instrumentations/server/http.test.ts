/**
 * The server instrumentation in-process: real node:http servers with known server-side delays,
 * real clients (fetch, http.request), values read back through a MetricReader.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import net, { type AddressInfo } from 'node:net';
import { DiagLogLevel } from '@opentelemetry/api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cancelOpenRequests, InferenceServerInstrumentation, type InferenceServerInstrumentationConfig } from '../../../../packages/instrumentation/src/index.js';
import { ATTR, SERVER_METRIC, SERVER_TPOT_BUCKETS, SERVER_TTFT_BUCKETS } from '../../../../packages/instrumentation/src/semconv.js';
import { captureDiag, createTestMetrics, sleep, type Collected, type TestMetrics } from '../../../helpers/metrics.js';

const M = SERVER_METRIC;
type Handler = (req: IncomingMessage, res: ServerResponse) => unknown;

let t: TestMetrics;
let instrumentation: InferenceServerInstrumentation;
const servers: http.Server[] = [];

function instrument(config: InferenceServerInstrumentationConfig = {}): void {
  instrumentation?.disable();
  instrumentation = new InferenceServerInstrumentation({ ...config, enabled: false });
  instrumentation.setMeterProvider(t.provider);
  instrumentation.enable();
}

beforeEach(() => {
  cancelOpenRequests();
  t = createTestMetrics();
  instrument();
});
afterEach(async () => {
  instrumentation.disable();
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  await t.shutdown();
});

async function serve(handler: Handler, server: http.Server = http.createServer()): Promise<{ url: string; port: number }> {
  server.on('request', (req, res) => void handler(req, res));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, port };
}

const post = (url: string, body: object = { model: 'req-model', stream: true }) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

/** Collects until `done(c)` holds (the server may record just after the client has its bytes). */
async function collectWhen(done: (c: Collected) => boolean, timeoutMs = 5000): Promise<Collected> {
  const until = performance.now() + timeoutMs;
  for (;;) {
    const c = await t.collect();
    if (done(c) || performance.now() > until) return c;
    await sleep(10);
  }
}

const served = (c: Collected, match = {}) => c.total(M.requests, match);

const sse = (event: object) => `data: ${JSON.stringify(event)}\n\n`;
const MODEL = 'served-model-1';
const chunk = (content: string) => sse({ id: 'c', object: 'chat.completion.chunk', model: MODEL, choices: [{ index: 0, delta: { content }, finish_reason: null }] });
const roleChunk = sse({ id: 'c', object: 'chat.completion.chunk', model: MODEL, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] });
const usageChunk = (input: number, output: number) =>
  sse({ id: 'c', object: 'chat.completion.chunk', model: MODEL, choices: [], usage: { prompt_tokens: input, completion_tokens: output, total_tokens: input + output } });

interface StreamMarks {
  /** performance.now() at the handler's entry (the instrumentation's start is just before). */
  arrival: number;
  /** Around the write of the first output chunk. */
  firstWrite: [number, number];
  /** Around res.end(). */
  end: [number, number];
}

/** A chat stream: a role chunk at once, then `chunks` output chunks, the first after `ttftMs`, the next `gapMs` apart. */
function streamHandler(opts: { ttftMs: number; gapMs: number; chunks: number; usage?: [number, number] | undefined }, marks: StreamMarks[]): Handler {
  return async (_req, res) => {
    const mark: Partial<StreamMarks> = { arrival: performance.now() };
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    res.write(roleChunk);
    await sleep(opts.ttftMs);
    for (let i = 0; i < opts.chunks; i++) {
      if (i > 0) await sleep(opts.gapMs);
      const before = performance.now();
      res.write(chunk(`w${i} `));
      if (i === 0) mark.firstWrite = [before, performance.now()];
    }
    if (opts.usage) res.write(usageChunk(...opts.usage));
    res.write('data: [DONE]\n\n');
    const before = performance.now();
    res.end();
    mark.end = [before, performance.now()];
    marks.push(mark as StreamMarks);
  };
}

describe('a streamed chat completion on node:http', () => {
  it.each([
    { usage: [12, 5] as [number, number], outputTokens: 5, how: 'from the usage chunk' },
    { usage: undefined, outputTokens: 5, how: 'counted from the output chunks' },
  ])('TTFT 150 ms, 5 chunks 20 ms apart: TTFT, duration and TPOT match the delays; output tokens $how', async ({ usage, outputTokens }) => {
    const marks: StreamMarks[] = [];
    const { url, port } = await serve(streamHandler({ ttftMs: 150, gapMs: 20, chunks: 5, usage }, marks));
    const text = await (await post(`${url}/v1/chat/completions`)).text();
    expect(text).toContain('data: [DONE]');
    const c = await collectWhen((c) => served(c) === 1);
    const [mark] = marks;

    const attributes = {
      [ATTR.operationName]: 'chat',
      [ATTR.providerName]: 'openai_compatible',
      [ATTR.serverPort]: port,
      [ATTR.requestStream]: true,
      [ATTR.responseModel]: MODEL,
    };
    expect(c.sums(M.requests)).toEqual([{ attributes: { ...attributes, [ATTR.outcome]: 'success' }, value: 1 }]);
    expect(c.total(M.activeRequests)).toBe(0);

    const ttft = c.histogram(M.timeToFirstToken, attributes);
    expect(ttft.count).toBe(1);
    expect(ttft.boundaries).toEqual([...SERVER_TTFT_BUCKETS]);
    // Our clock starts at the `request` event, a moment before the handler's first line (its
    // `arrival` mark; more than a moment when a collection or another process takes the CPU in
    // between): the starts are bounded loosely (DISPATCH_LEAD), what lies between our two ends
    // exactly. The first output write lies between the handler's own marks; the role chunk is not output.
    const DISPATCH_LEAD = 0.05;
    expect(ttft.sum).toBeGreaterThanOrEqual((mark!.firstWrite[0] - mark!.arrival) / 1000);
    expect(ttft.sum).toBeLessThanOrEqual((mark!.firstWrite[1] - mark!.arrival) / 1000 + DISPATCH_LEAD);
    expect(ttft.sum).toBeGreaterThanOrEqual(0.149);

    const duration = c.histogram(M.requestDuration, { ...attributes, [ATTR.outcome]: 'success' });
    expect(duration.sum).toBeGreaterThanOrEqual((mark!.end[0] - mark!.arrival) / 1000);
    expect(duration.sum).toBeLessThanOrEqual((mark!.end[1] - mark!.arrival) / 1000 + DISPATCH_LEAD);
    expect(duration.sum).toBeGreaterThanOrEqual(0.149 + 4 * 0.019);
    // From the first output write to the end, both read by us: within the handler's marks.
    expect(duration.sum - ttft.sum).toBeGreaterThanOrEqual((mark!.end[0] - mark!.firstWrite[1]) / 1000 - 1e-6);
    expect(duration.sum - ttft.sum).toBeLessThanOrEqual((mark!.end[1] - mark!.firstWrite[0]) / 1000 + 1e-6);

    const tpot = c.histogram(M.timePerOutputToken, attributes);
    expect(tpot.boundaries).toEqual([...SERVER_TPOT_BUCKETS]);
    expect(tpot.count).toBe(1);
    expect(tpot.sum).toBeCloseTo((duration.sum - ttft.sum) / (outputTokens - 1), 9);
    expect(tpot.sum).toBeGreaterThanOrEqual(0.019);
    expect(tpot.sum).toBeLessThan(0.02 + 0.03);

    expect(c.total(M.tokens, { [ATTR.tokenType]: 'output' })).toBe(outputTokens);
    expect(c.total(M.tokens, { [ATTR.tokenType]: 'input' })).toBe(usage ? 12 : 0);
    // Live counts carry the same attributes as the top-up at the end: one series per type.
    expect(c.sums(M.tokens).map((p) => p.attributes)).toEqual(
      (usage ? ['output', 'input'] : ['output']).map((type) => ({ ...attributes, [ATTR.tokenType]: type })),
    );
  });

  it('a client that disconnects mid-stream: cancelled, no TTFT or TPOT, active back to 0', async () => {
    let closed!: () => void;
    const serverSawClose = new Promise<void>((resolve) => (closed = resolve));
    const { port } = await serve(async (_req, res) => {
      res.on('close', () => closed());
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      for (let i = 0; !res.destroyed && i < 500; i++) {
        res.write(chunk(`w${i}`));
        await sleep(10);
      }
    });
    await new Promise<void>((resolve, reject) => {
      const req = http.request({ port, host: '127.0.0.1', method: 'POST', path: '/v1/chat/completions' }, (res) => {
        let seen = 0;
        res.on('data', () => {
          if (++seen === 3) {
            req.destroy();
            resolve();
          }
        });
      });
      req.on('error', (e) => (e.message === 'socket hang up' ? undefined : reject(e)));
      req.end('{}');
    });
    await serverSawClose;
    const c = await collectWhen((c) => served(c) === 1);
    expect(c.sums(M.requests).map((p) => p.attributes[ATTR.outcome])).toEqual(['cancelled']);
    expect(c.histograms(M.timeToFirstToken)).toEqual([]);
    expect(c.histograms(M.timePerOutputToken)).toEqual([]);
    expect(c.total(M.activeRequests)).toBe(0);
    // What was streamed before the caller left was generated, and counted.
    expect(c.total(M.tokens)).toBeGreaterThanOrEqual(3);
  });

  it('a stream that carries an error event: error with the event’s error.type', async () => {
    const { url } = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(chunk('partial'));
      res.end(sse({ error: { message: 'CUDA out of memory', type: 'server_error', code: null } }));
    });
    await (await post(`${url}/v1/chat/completions`)).text();
    const c = await collectWhen((c) => served(c) === 1);
    expect(c.sums(M.requests).map((p) => [p.attributes[ATTR.outcome], p.attributes[ATTR.errorType]])).toEqual([['error', 'server_error']]);
    expect(c.histograms(M.timeToFirstToken)).toEqual([]);
  });
});

describe('JSON responses', () => {
  const completion = (usage?: object) =>
    JSON.stringify({
      id: 'x',
      object: 'chat.completion',
      created: 1,
      model: MODEL,
      choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }],
      ...(usage ? { usage } : {}),
    });

  it.each([
    ['with usage', { prompt_tokens: 7, completion_tokens: 3, total_tokens: 10 }, 7, 3],
    ['without usage', undefined, 0, 0],
  ])('%s: success, response model, tokens; no TTFT or TPOT for a response that is not streamed', async (_how, usage, input, output) => {
    const { url } = await serve(async (_req, res) => {
      await sleep(60);
      res.setHeader('content-type', 'application/json');
      res.end(completion(usage));
    });
    const body = (await (await post(`${url}/v1/chat/completions`, { model: "m", stream: false })).json()) as { model: string };
    expect(body.model).toBe(MODEL);
    const c = await collectWhen((c) => served(c) === 1);
    const [point] = c.sums(M.requests);
    expect(point!.attributes).toMatchObject({ [ATTR.outcome]: 'success', [ATTR.responseModel]: MODEL, [ATTR.requestStream]: false });
    expect(c.histogram(M.requestDuration).sum).toBeGreaterThanOrEqual(0.059);
    expect(c.histograms(M.timeToFirstToken)).toEqual([]);
    expect(c.histograms(M.timePerOutputToken)).toEqual([]);
    expect(c.total(M.tokens, { [ATTR.tokenType]: 'input' })).toBe(input);
    expect(c.total(M.tokens, { [ATTR.tokenType]: 'output' })).toBe(output);
  });

  it('headers given to writeHead() and the body written as Buffers in pieces: read from the body itself', async () => {
    const { url } = await serve((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      const bytes = Buffer.from(completion({ prompt_tokens: 2, completion_tokens: 4 }));
      res.write(bytes.subarray(0, 17));
      res.write(bytes.subarray(17, 40));
      res.end(bytes.subarray(40));
    });
    await (await post(`${url}/v1/chat/completions`)).json();
    const c = await collectWhen((c) => served(c) === 1);
    expect(c.sums(M.requests)[0]!.attributes[ATTR.responseModel]).toBe(MODEL);
    expect(c.total(M.tokens, { [ATTR.tokenType]: 'output' })).toBe(4);
  });

  it.each([
    ['/v1/embeddings', 'embeddings'],
    ['/v1/completions', 'text_completion'],
    ['/v1/responses', 'chat'],
    ['/v1/chat/completions?api-version=2024-10-21', 'chat'],
  ])('%s is recorded as %s', async (path, operation) => {
    const { url } = await serve((_req, res) => res.end('{}'));
    await (await post(`${url}${path}`)).text();
    const c = await collectWhen((c) => served(c) === 1);
    expect(c.sums(M.requests)[0]!.attributes[ATTR.operationName]).toBe(operation);
  });

  it.each([400, 404, 429, 500, 503])('status %d: error with error.type = the status code', async (status) => {
    const { url } = await serve((_req, res) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: 'no', type: 'invalid_request_error' } }));
    });
    await (await post(`${url}/v1/chat/completions`)).text();
    const c = await collectWhen((c) => served(c) === 1);
    expect(c.sums(M.requests).map((p) => [p.attributes[ATTR.outcome], p.attributes[ATTR.errorType]])).toEqual([['error', String(status)]]);
    // A JSON error answer says nothing about whether a stream was asked for.
    expect(c.sums(M.requests)[0]!.attributes).not.toHaveProperty(ATTR.requestStream);
    expect(c.total(M.activeRequests)).toBe(0);
  });
});

describe('what is not recorded', () => {
  it('other methods, other paths, and a path that only starts like a route', async () => {
    const { url } = await serve((_req, res) => res.end('{"model":"x"}'));
    await (await fetch(`${url}/v1/chat/completions`)).text();
    await (await fetch(`${url}/v1/chat/completions`, { method: 'PUT', body: '{}' })).text();
    await (await post(`${url}/v1/models`)).text();
    await (await post(`${url}/v1/chat/completions/extra`)).text();
    await (await post(`${url}/V1/CHAT/COMPLETIONS`)).text();
    await (await post(`${url}/health`)).text();
    await (await post(`${url}/v1/chat/completions`)).text();
    const c = await collectWhen((c) => served(c) === 1);
    await sleep(50);
    expect(served(await t.collect())).toBe(1);
    expect(c.total(M.activeRequests)).toBe(0);
  });

  it('custom routes replace the default; operation inferred from the ending or given', async () => {
    const diagLines = captureDiag(DiagLogLevel.WARN);
    instrument({ routes: ['/api/chat/completions', '/api/embed', { path: '/api/generate', operation: 'text_completion' }, 'not-a-path'] });
    const { url } = await serve((_req, res) => res.end('{}'));
    for (const path of ['/api/chat/completions', '/api/embed', '/api/generate', '/v1/chat/completions']) await (await post(`${url}${path}`)).text();
    const c = await collectWhen((c) => served(c) === 3);
    expect(c.sums(M.requests).map((p) => [p.attributes[ATTR.operationName], p.value])).toEqual([
      ['chat', 1],
      ['embeddings', 1],
      ['text_completion', 1],
    ]);
    diagLines.stop();
    expect(diagLines.ours('warn')).toEqual([
      'otel-inference: server routes ignored (expected an absolute path and an operation name): ["not-a-path"]',
    ]);
  });

  it('an empty route list, or the instrumentation disabled: nothing, and the prototypes are as before', async () => {
    instrumentation.disable();
    expect(Object.hasOwn(http.Server.prototype, 'emit')).toBe(false);
    expect(Object.hasOwn(http.ServerResponse.prototype, 'write')).toBe(false);
    expect(Object.hasOwn(http.ServerResponse.prototype, 'end')).toBe(false);
    expect(Object.hasOwn(https.Server.prototype, 'emit')).toBe(false);
    const { url } = await serve((_req, res) => res.end('{}'));
    await (await post(`${url}/v1/chat/completions`)).text();
    instrument({ routes: [] });
    await (await post(`${url}/v1/chat/completions`)).text();
    await sleep(50);
    expect(served(await t.collect())).toBe(0);
  });
});

describe('exit paths', () => {
  function fakeRequest(): { req: IncomingMessage; res: ServerResponse } {
    const req = new http.IncomingMessage(new net.Socket());
    req.method = 'POST';
    req.url = '/v1/chat/completions';
    return { req, res: new http.ServerResponse(req) };
  }

  it('a request listener that throws: error with the class as error.type, the same error rethrown', async () => {
    const server = http.createServer(() => {
      throw new RangeError('handler bug');
    });
    const { req, res } = fakeRequest();
    let thrown: unknown;
    try {
      server.emit('request', req, res);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(RangeError);
    expect((thrown as Error).message).toBe('handler bug');
    const c = await t.collect();
    expect(c.sums(M.requests).map((p) => [p.attributes[ATTR.outcome], p.attributes[ATTR.errorType]])).toEqual([['error', 'RangeError']]);
    expect(c.total(M.activeRequests)).toBe(0);
  });

  it('node:https servers are tracked too', async () => {
    const server = https.createServer({}, (_req, res) => res.end('{}'));
    const { req, res } = fakeRequest();
    server.emit('request', req, res);
    res.emit('close');
    const c = await t.collect();
    expect(c.sums(M.requests).map((p) => p.attributes[ATTR.outcome])).toHaveLength(1);
  });

  it.each([
    ['with an error', new TypeError('upstream broke'), 'TypeError'],
    ['without one', undefined, '_OTHER'],
  ])('the app destroys the response mid-stream %s: error', async (_how, error, errorType) => {
    const { url } = await serve(async (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(chunk('a'));
      await sleep(20);
      res.destroy(error);
    });
    await post(`${url}/v1/chat/completions`)
      .then((r) => r.text())
      .catch(() => {});
    const c = await collectWhen((c) => served(c) === 1);
    expect(c.sums(M.requests).map((p) => [p.attributes[ATTR.outcome], p.attributes[ATTR.errorType]])).toEqual([['error', errorType]]);
    expect(c.total(M.activeRequests)).toBe(0);
  });

  it('a response ended twice, or written after its end, is recorded once', async () => {
    const { url } = await serve((_req, res) => {
      res.end('{}');
      res.end();
      res.on('error', () => {});
      res.write('late');
    });
    await (await post(`${url}/v1/chat/completions`)).text();
    const c = await collectWhen((c) => served(c) === 1);
    await sleep(30);
    expect(served(await t.collect())).toBe(1);
    expect(c.total(M.activeRequests)).toBe(0);
  });

  it('several requests at once on keep-alive connections: each once, the gauge back to 0', async () => {
    const marks: StreamMarks[] = [];
    const { url } = await serve(streamHandler({ ttftMs: 5, gapMs: 2, chunks: 3, usage: [1, 3] }, marks));
    await Promise.all(Array.from({ length: 20 }, () => post(`${url}/v1/chat/completions`).then((r) => r.text())));
    const c = await collectWhen((c) => served(c) === 20);
    expect(served(c, { [ATTR.outcome]: 'success' })).toBe(20);
    expect(c.histogram(M.timeToFirstToken).count).toBe(20);
    expect(c.total(M.tokens, { [ATTR.tokenType]: 'output' })).toBe(60);
    expect(c.total(M.activeRequests)).toBe(0);
  });
});

describe('the bytes and calls pass through unchanged', () => {
  it('write/end return what the originals return and call their callbacks; the client gets the same bytes with and without the instrumentation', async () => {
    const results: unknown[] = [];
    const { url } = await serve(async (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const calls: Promise<unknown>[] = [];
      results.push(res.write(roleChunk, (e?: Error | null) => calls.push(Promise.resolve(e ?? 'cb1'))));
      results.push(res.write(Buffer.from(chunk('é€😀')), (e?: Error | null) => calls.push(Promise.resolve(e ?? 'cb2'))));
      results.push(res.write(Buffer.from(chunk('hex')).toString('hex'), 'hex'));
      results.push(res.write(new Uint8Array(Buffer.from(chunk('u8')))));
      await new Promise<void>((resolve) => res.end(usageChunk(1, 3), 'utf8', () => resolve()));
      results.push(calls.length);
    });
    const withIt = Buffer.from(await (await post(`${url}/v1/chat/completions`)).arrayBuffer());
    const recorded = await collectWhen((c) => served(c) === 1);
    expect(recorded.total(M.tokens, { [ATTR.tokenType]: 'output' })).toBe(3);
    const withResults = results.splice(0);
    instrumentation.disable();
    const without = Buffer.from(await (await post(`${url}/v1/chat/completions`)).arrayBuffer());
    expect(withIt.equals(without)).toBe(true);
    expect(withResults).toEqual(results);
    expect(withResults).toEqual([true, true, true, true, 2]);
  });
});
