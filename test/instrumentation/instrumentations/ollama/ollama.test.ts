/**
 * The ollama adapter, in process: the real `ollama` package of each supported line against the
 * simulated server's Ollama protocol, recorded into a test MeterProvider. Each test uses a model
 * name of its own, so the tests of a line run concurrently on one instrumentation.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ollama06 from 'ollama';
import * as ollama06Browser from 'ollama/browser';
import * as ollama05 from 'ollama-v05';
import * as ollama052 from 'ollama-v0-5-2';
import { startSimServer, type SimBehavior, type SimServer } from '../../../../sim/index.js';
import { instrumentOllama, OllamaInstrumentation, OLLAMA_SUPPORTED_VERSIONS } from '../../../../packages/instrumentation/src/index.js';
import { ATTR, ERROR_TYPE, METRIC, OPERATION, PROVIDER } from '../../../../packages/instrumentation/src/semconv.js';
import { collectGarbage, createTestMetrics, drain, drainTimed, sleep, type Collected, type TestMetrics } from '../../../helpers/metrics.js';

/**
 * What the caller's loop ends with after an abort, as ollama-js has it: the fetch's AbortError, or,
 * when the abort lands between two reads and the body simply ends (seen on a busy machine), its own
 * "Did not receive done or success response in stream." Either way the record is cancelled at the
 * abort itself, which the tests check next.
 */
function expectAbortEnding(error: unknown): void {
  const { name, message } = error as Error;
  expect(name === 'AbortError' || message === 'Did not receive done or success response in stream.', `${name}: ${message}`).toBe(true);
}

// The lines differ in their types only where this test does not look.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyModule = any;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyClient = any;

interface Line {
  readonly module: AnyModule;
  /** The client has the `headers` option (0.5.9+); before it, x-sim goes through its `fetch` option. */
  readonly headers: boolean;
  /** The client has `embed` (0.5.6+). */
  readonly embed: boolean;
}

/** The newest of each supported line, and the oldest release of the range. */
const VERSIONS: ReadonlyArray<[string, Line]> = [
  ['0.6', { module: ollama06, headers: true, embed: true }],
  ['0.5', { module: ollama05, headers: true, embed: true }],
  ['0.5.2', { module: ollama052, headers: false, embed: false }],
];

/** How early a timing may look next to the delay the server was given (timer rounding), s. */
const EARLY = 0.002;

let server: SimServer;
let host: string;

beforeAll(async () => {
  server = await startSimServer({ port: 0, host: '127.0.0.1' });
  host = `http://127.0.0.1:${server.port}`;
});
afterAll(async () => {
  await server.close();
});

const MESSAGES = [{ role: 'user', content: 'hi' }];

/** The outcome counts of one model's requests. */
function outcomes(c: Collected, model: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of c.sums(METRIC.requests, { [ATTR.requestModel]: model })) {
    const key = `${String(p.attributes[ATTR.outcome])}${p.attributes[ATTR.errorType] !== undefined ? `:${String(p.attributes[ATTR.errorType])}` : ''}`;
    out[key] = (out[key] ?? 0) + p.value;
  }
  return out;
}

function tokens(c: Collected, model: string, type: 'input' | 'output'): number[] {
  return c.histograms(METRIC.tokenUsage, { [ATTR.requestModel]: model, [ATTR.tokenType]: type }).map((p) => p.sum);
}

/** The `gen_ai.client.inference.usage.*` counters of one request model. */
function usageCounters(c: Collected, model: string) {
  const of = { [ATTR.requestModel]: model };
  return {
    input: c.total(METRIC.usageInputTokens, of),
    output: c.total(METRIC.usageOutputTokens, of),
    cacheRead: c.total(METRIC.usageCacheReadInputTokens, of),
    cacheWrite: c.total(METRIC.usageCacheWriteInputTokens, of),
    reasoning: c.total(METRIC.usageReasoningOutputTokens, of),
  };
}

function active(c: Collected, model: string): number {
  return c.total(METRIC.activeRequests, { [ATTR.requestModel]: model });
}

async function settled(): Promise<void> {
  await sleep(5);
}

describe.each(VERSIONS)('ollama %s', (version, line) => {
  const mod = line.module;
  let t: TestMetrics;
  let uninstall: () => void;
  beforeAll(() => {
    t = createTestMetrics();
    uninstall = instrumentOllama(mod, { metrics: t.metrics });
  });
  afterAll(async () => {
    uninstall();
    await t.shutdown();
  });

  const client = (behavior: SimBehavior = {}): AnyClient => {
    const xsim = JSON.stringify(behavior);
    if (line.headers) return new mod.Ollama({ host, headers: { 'x-sim': xsim } });
    const simFetch = (url: string, init: RequestInit) => fetch(url, { ...init, headers: { ...(init.headers as Record<string, string>), 'x-sim': xsim } });
    return new mod.Ollama({ host, fetch: simFetch });
  };
  const model = (name: string) => `${version}-${name}`;

  describe.concurrent('recorded calls', () => {
    it('chat without a stream: once, with the counts, the answering model and the server', async () => {
      const m = model('chat');
      const response = await client({ chunks: 3, promptTokens: 9, ttftMs: 20 }).chat({ model: m, messages: MESSAGES });
      expect(response.message.content).toBe('tok1 tok2 tok3 ');
      const c = await t.collect();
      expect(outcomes(c, m)).toEqual({ success: 1 });
      const duration = c.histogram(METRIC.operationDuration, { [ATTR.requestModel]: m });
      expect(duration.attributes).toEqual({
        [ATTR.operationName]: OPERATION.chat,
        [ATTR.providerName]: PROVIDER.ollama,
        [ATTR.requestModel]: m,
        [ATTR.responseModel]: m,
        [ATTR.requestStream]: false,
        [ATTR.serverAddress]: '127.0.0.1',
        [ATTR.serverPort]: server.port,
        [ATTR.outcome]: 'success',
      });
      expect(duration.min!).toBeGreaterThanOrEqual(0.02 - EARLY);
      expect(tokens(c, m, 'input')).toEqual([9]);
      expect(tokens(c, m, 'output')).toEqual([3]);
      // No cached part reported (an older server, or none cached): 0, as for any missing count.
      expect(usageCounters(c, m)).toEqual({ input: 9, output: 3, cacheRead: 0, cacheWrite: 0, reasoning: 0 });
      expect(c.histograms(METRIC.timeToFirstChunk, { [ATTR.requestModel]: m })).toEqual([]);
      expect(active(c, m)).toBe(0);
    });

    it('a chat stream: TTFT to the first content, one gap per later chunk, counts from the done object', async () => {
      const m = model('chat-stream');
      const promise = client({ chunks: 4, ttftMs: 40, chunkMs: 20, promptTokens: 5 }).chat({ model: m, messages: MESSAGES, stream: true });
      expect(promise).toBeInstanceOf(Promise);
      const stream = await promise;
      expect(typeof stream.abort).toBe('function');
      expect(Object.getOwnPropertySymbols(stream)).toEqual([]);
      const parts = await drainTimed(stream);
      expect(parts.map((p: AnyClient) => p.chunk.message.content)).toEqual(['tok1 ', 'tok2 ', 'tok3 ', 'tok4 ', '']);
      const c = await t.collect();
      expect(outcomes(c, m)).toEqual({ success: 1 });
      const ttft = c.histogram(METRIC.timeToFirstChunk, { [ATTR.requestModel]: m });
      expect(ttft.count).toBe(1);
      expect(ttft.sum).toBeGreaterThanOrEqual(0.04 - EARLY);
      expect(ttft.attributes[ATTR.requestStream]).toBe(true);
      // Each output stamp lies between the consumer's next() call and its result (two chunks may
      // arrive in one read on a busy machine: the server's 20 ms are no lower bound per gap).
      const gaps = c.histogram(METRIC.timePerOutputChunk, { [ATTR.requestModel]: m });
      expect(gaps.count).toBe(3);
      expect(gaps.sum).toBeGreaterThanOrEqual((parts[3]!.requestedAt - parts[0]!.receivedAt) / 1000 - EARLY);
      expect(gaps.sum).toBeLessThanOrEqual((parts[3]!.receivedAt - parts[0]!.requestedAt) / 1000 + EARLY);
      expect(tokens(c, m, 'input')).toEqual([5]);
      expect(tokens(c, m, 'output')).toEqual([4]);
      expect(c.histogram(METRIC.outputTokenRate, { [ATTR.requestModel]: m }).count).toBe(1);
      expect(active(c, m)).toBe(0);
    });

    it('a generate stream: thinking counts as output, operation text_completion', async () => {
      const m = model('generate-stream');
      const stream = await client({ chunks: 2, reasoningChunks: 2, chunkMs: 10 }).generate({ model: m, prompt: 'p', stream: true });
      const parts = await drain(stream);
      expect(parts.map((p: AnyClient) => p.thinking ?? p.response)).toEqual(['think1 ', 'think2 ', 'tok1 ', 'tok2 ', '']);
      const c = await t.collect();
      expect(outcomes(c, m)).toEqual({ success: 1 });
      expect(c.histogram(METRIC.timeToFirstChunk, { [ATTR.requestModel]: m }).attributes[ATTR.operationName]).toBe(OPERATION.textCompletion);
      expect(c.histogram(METRIC.timePerOutputChunk, { [ATTR.requestModel]: m }).count).toBe(3);
      expect(tokens(c, m, 'output')).toEqual([4]);
      // Thinking is in eval_count; Ollama reports no separate thinking count.
      expect(usageCounters(c, m)).toEqual({ input: 7, output: 4, cacheRead: 0, cacheWrite: 0, reasoning: 0 });
    });

    it('the cached part of the prompt (prompt_eval_cached_count), stream or not', async () => {
      const m = model('cached');
      await client({ promptTokens: 20, cacheReadTokens: 16, chunks: 2 }).generate({ model: m, prompt: 'p' });
      await drain(await client({ promptTokens: 30, cacheReadTokens: 10, chunks: 1 }).chat({ model: m, messages: MESSAGES, stream: true }));
      const c = await t.collect();
      expect(usageCounters(c, m)).toEqual({ input: 50, output: 3, cacheRead: 26, cacheWrite: 0, reasoning: 0 });
    });

    it('generate without a stream, and a tool call streamed whole as the one output chunk', async () => {
      const m = model('generate');
      const answer = await client({ chunks: 2 }).generate({ model: m, prompt: 'p' });
      expect(answer.response).toBe('tok1 tok2 ');
      const mt = model('tool');
      const parts: AnyClient[] = await drain(await client({ chunks: 3, toolCall: true }).chat({ model: mt, messages: MESSAGES, stream: true }));
      expect(parts[0].message.tool_calls).toHaveLength(1);
      const c = await t.collect();
      expect(outcomes(c, m)).toEqual({ success: 1 });
      expect(c.histogram(METRIC.operationDuration, { [ATTR.requestModel]: m }).attributes[ATTR.operationName]).toBe(OPERATION.textCompletion);
      expect(c.histogram(METRIC.timeToFirstChunk, { [ATTR.requestModel]: mt }).count).toBe(1);
      expect(c.histograms(METRIC.timePerOutputChunk, { [ATTR.requestModel]: mt })).toEqual([]);
    });

    it.skipIf(!line.embed)('embed records the input count; the legacy embeddings none', async () => {
      const m = model('embed');
      const answer = await client({ promptTokens: 6 }).embed({ model: m, input: ['a', 'b'] });
      expect(answer.embeddings).toHaveLength(2);
      const ml = model('embeddings');
      const legacy = await client().embeddings({ model: ml, prompt: 'a' });
      expect(legacy.embedding).toHaveLength(8);
      const c = await t.collect();
      expect(outcomes(c, m)).toEqual({ success: 1 });
      expect(outcomes(c, ml)).toEqual({ success: 1 });
      const duration = c.histogram(METRIC.operationDuration, { [ATTR.requestModel]: m });
      expect(duration.attributes[ATTR.operationName]).toBe(OPERATION.embeddings);
      expect(duration.attributes[ATTR.responseModel]).toBe(m);
      expect(tokens(c, m, 'input')).toEqual([6]);
      expect(tokens(c, m, 'output')).toEqual([]);
      expect(usageCounters(c, m)).toEqual({ input: 6, output: 0, cacheRead: 0, cacheWrite: 0, reasoning: 0 });
      expect(c.histograms(METRIC.tokenUsage, { [ATTR.requestModel]: ml })).toEqual([]);
      // The legacy answer names no model.
      expect(c.histogram(METRIC.operationDuration, { [ATTR.requestModel]: ml }).attributes[ATTR.responseModel]).toBeUndefined();
    });

    it('a server that reports no counts gives no token records', async () => {
      const m = model('no-usage');
      await drain(await client({ noUsage: true }).chat({ model: m, messages: MESSAGES, stream: true }));
      await client({ noUsage: true }).generate({ model: m, prompt: 'p' });
      const c = await t.collect();
      expect(outcomes(c, m)).toEqual({ success: 2 });
      expect(c.histograms(METRIC.tokenUsage, { [ATTR.requestModel]: m })).toEqual([]);
      expect(usageCounters(c, m)).toEqual({ input: 0, output: 0, cacheRead: 0, cacheWrite: 0, reasoning: 0 });
    });
  });

  describe.concurrent('errors', () => {
    it('an HTTP error: error.type is its status, and the caller gets the same ResponseError', async () => {
      const m = model('http-error');
      const error = await client({ status: 404 }).chat({ model: m, messages: MESSAGES }).catch((e: unknown) => e);
      expect(error).toMatchObject({ name: 'ResponseError', status_code: 404 });
      const streamed = await client({ status: 503 }).generate({ model: m, prompt: 'p', stream: true }).catch((e: unknown) => e);
      expect(streamed).toMatchObject({ name: 'ResponseError', status_code: 503 });
      const c = await t.collect();
      expect(outcomes(c, m)).toEqual({ 'error:404': 1, 'error:503': 1 });
      expect(active(c, m)).toBe(0);
    });

    it('an {"error"} line mid-stream: stream_error, after the chunks before it were recorded', async () => {
      const m = model('stream-error');
      const stream = await client({ chunks: 4, errorAfterChunks: 2, chunkMs: 5 }).chat({ model: m, messages: MESSAGES, stream: true });
      const seen: string[] = [];
      const error = await (async () => {
        for await (const part of stream) seen.push(part.message.content);
      })().catch((e: unknown) => e);
      expect(seen).toEqual(['tok1 ', 'tok2 ']);
      expect((error as Error).message).toBe('an error was encountered while running the model (simulated)');
      const c = await t.collect();
      expect(outcomes(c, m)).toEqual({ [`error:${ERROR_TYPE.streamError}`]: 1 });
      expect(c.histogram(METRIC.timePerOutputChunk, { [ATTR.requestModel]: m }).count).toBe(1);
      expect(c.histograms(METRIC.tokenUsage, { [ATTR.requestModel]: m })).toEqual([]);
    });

    it('an error before any output is the HTTP 500 Ollama answers with', async () => {
      const m = model('early-error');
      const error = await client({ errorAfterChunks: 0 }).chat({ model: m, messages: MESSAGES, stream: true }).catch((e: unknown) => e);
      expect(error).toMatchObject({ status_code: 500 });
      const c = await t.collect();
      expect(outcomes(c, m)).toEqual({ 'error:500': 1 });
    });

    it('a dropped connection, at the request and mid-stream, is a TypeError', async () => {
      const m = model('drop');
      const refused = await client({ dropAfterChunks: 0 }).embeddings({ model: m, prompt: 'a' }).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(TypeError);
      const stream = await client({ chunks: 3, dropAfterChunks: 1 }).generate({ model: m, prompt: 'p', stream: true });
      const cut = await drain(stream).catch((e: unknown) => e);
      expect(cut).toBeInstanceOf(TypeError);
      const c = await t.collect();
      expect(outcomes(c, m)).toEqual({ 'error:TypeError': 2 });
      expect(active(c, m)).toBe(0);
    });

    it('a request that is not an object passes through unrecorded', async () => {
      const m = model('odd');
      const error = await client().chat(undefined).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TypeError);
      const c = await t.collect();
      expect(outcomes(c, m)).toEqual({});
    });
  });

  // One at a time: these tests abort and garbage-collect streams, and run side by side on a busy
  // machine one's stream was seen to end early, without its done object (Node 26).
  describe.sequential('cancelled streams', () => {
    // The chunk after the abort is a second away: the abort, not the clock, ends these streams.
    it('stream.abort() mid-iteration, and before iterating', async () => {
      const m = model('abort');
      const stream = await client({ chunks: 5, chunkMs: 1000 }).chat({ model: m, messages: MESSAGES, stream: true });
      const seen: string[] = [];
      const error = await (async () => {
        for await (const part of stream) {
          seen.push(part.message.content);
          stream.abort();
        }
      })().catch((e: unknown) => e);
      expect(seen).toEqual(['tok1 ']);
      expectAbortEnding(error);
      const unread = await client({ chunks: 5, chunkMs: 1000 }).generate({ model: m, prompt: 'p', stream: true });
      unread.abort();
      const c = await t.collect();
      expect(outcomes(c, m)).toEqual({ cancelled: 2 });
      expect(active(c, m)).toBe(0);
    });

    it("the client's abort() ends every stream it has open, iterated or not", async () => {
      const m = model('client-abort');
      const c1 = client({ chunks: 5, chunkMs: 1000 });
      const first = await c1.chat({ model: m, messages: MESSAGES, stream: true });
      await c1.generate({ model: m, prompt: 'p', stream: true });
      const error = await (async () => {
        for await (const _part of first) c1.abort();
      })().catch((e: unknown) => e);
      expectAbortEnding(error);
      const c = await t.collect();
      expect(outcomes(c, m)).toEqual({ cancelled: 2 });
      expect(active(c, m)).toBe(0);
    });

    it('break: cancelled, unless the done object had arrived', async () => {
      const m = model('break');
      const stream = await client({ chunks: 5, chunkMs: 10 }).chat({ model: m, messages: MESSAGES, stream: true });
      for await (const part of stream) if (part.message.content === 'tok2 ') break;
      const md = model('break-at-done');
      const whole = await client({ chunks: 2, promptTokens: 4 }).chat({ model: md, messages: MESSAGES, stream: true });
      for await (const part of whole) if (part.done) break;
      const c = await t.collect();
      expect(outcomes(c, m)).toEqual({ cancelled: 1 });
      expect(outcomes(c, md)).toEqual({ success: 1 });
      expect(tokens(c, md, 'input')).toEqual([4]);
      expect(tokens(c, md, 'output')).toEqual([2]);
    });
  });

  describe('garbage collection', () => {
    it('a stream never iterated, and one abandoned mid-way, are cancelled once collected with their client', async () => {
      const m = model('gc');
      await (async () => {
        await client({ chunks: 3 }).chat({ model: m, messages: MESSAGES, stream: true });
        const iterator = (await client({ chunks: 3, chunkMs: 5 }).generate({ model: m, prompt: 'p', stream: true }))[Symbol.asyncIterator]();
        await iterator.next();
      })();
      await settled();
      await collectGarbage();
      const c = await t.collect();
      expect(outcomes(c, m)).toEqual({ cancelled: 2 });
      expect(active(c, m)).toBe(0);
    });
  });

  it('the default instance and ollama/browser are the same patched class', async () => {
    const m = model('default');
    const instance = mod.default;
    const saved = instance.config.host;
    instance.config.host = host;
    try {
      await instance.chat({ model: m, messages: MESSAGES });
    } finally {
      instance.config.host = saved;
    }
    if (version === '0.6') {
      const browser = new ollama06Browser.Ollama({ host });
      await browser.generate({ model: m, prompt: 'p' });
    }
    const c = await t.collect();
    expect(outcomes(c, m)).toEqual({ success: version === '0.6' ? 2 : 1 });
  });
});

describe('instrumentOllama', () => {
  it('undo restores the original methods; calling it again never wraps twice', async () => {
    const proto = Object.getPrototypeOf(ollama06.Ollama.prototype) as Record<string, unknown>;
    const original = proto.chat;
    const t = createTestMetrics();
    const first = instrumentOllama(ollama06, { metrics: t.metrics });
    const wrapper = proto.chat;
    expect(wrapper).not.toBe(original);
    const second = instrumentOllama(ollama06.default, { metrics: t.metrics });
    const m = 'twice';
    await new ollama06.Ollama({ host }).chat({ model: m, messages: MESSAGES });
    expect(outcomes(await t.collect(), m)).toEqual({ success: 1 });
    second();
    first();
    expect(proto.chat).toBe(original);
    await new ollama06.Ollama({ host }).chat({ model: m, messages: MESSAGES });
    expect(outcomes(await t.collect(), m)).toEqual({ success: 1 });
    await t.shutdown();
  });
});

describe('OllamaInstrumentation', () => {
  it('hooks ollama and the files that define the client, records through the MeterProvider it is given, and unpatches', async () => {
    const instrumentation = new OllamaInstrumentation({ enabled: false });
    const t = createTestMetrics();
    instrumentation.setMeterProvider(t.provider);
    const [definition] = instrumentation.getModuleDefinitions();
    expect(definition!.name).toBe('ollama');
    expect(definition!.supportedVersions).toEqual(OLLAMA_SUPPORTED_VERSIONS);
    expect(definition!.files.map((f) => f.name)).toEqual(['ollama/dist/browser.cjs', 'ollama/dist/browser.mjs']);
    const proto = Object.getPrototypeOf(ollama06.Ollama.prototype) as Record<string, unknown>;
    const original = proto.generate;
    definition!.patch!(ollama06);
    await new ollama06.Ollama({ host }).generate({ model: 'through-instrumentation', prompt: 'p' });
    expect(outcomes(await t.collect(), 'through-instrumentation')).toEqual({ success: 1 });
    definition!.unpatch!(ollama06);
    expect(proto.generate).toBe(original);
    await t.shutdown();
  });
});
