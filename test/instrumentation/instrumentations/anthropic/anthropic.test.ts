/**
 * instrumentAnthropic with the real @anthropic-ai/sdk (every tested version) against the sim
 * speaking Anthropic's wire protocol. The tests of one version run concurrently into one
 * MeterProvider, each under its own request model, and assert only its own series.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimServer, type SimServer } from '../../../../sim/index.js';
import { instrumentAnthropic } from '../../../../packages/instrumentation/src/index.js';
import { ATTR, METRIC, OPERATION, PROVIDER } from '../../../../packages/instrumentation/src/semconv.js';
import { anthropicClient, ANTHROPIC_BETA_VERSIONS, ANTHROPIC_VERSIONS, sim, type AnyClient } from '../../../helpers/anthropic.js';
import { collectGarbage, createTestMetrics, type Collected, drain, drainTimed, sleep, type TestMetrics } from '../../../helpers/metrics.js';

let server: SimServer;

beforeAll(async () => {
  server = await startSimServer({ port: 0 });
});
afterAll(async () => {
  await server.close();
});

const TTFT_MS = 40;
const CHUNK_MS = 15;
/** How early a timing may look next to the delay the server was given (timer rounding), s. */
const EARLY = 0.002;

let models = 0;
/** A request model no other test uses: each test asserts its own series. */
function model(): string {
  return `claude-t${++models}`;
}

function body(m: string, extra: Record<string, unknown> = {}) {
  return { model: m, max_tokens: 64, messages: [{ role: 'user' as const, content: 'secret prompt' }], ...extra };
}

/** The `gen_ai.client.inference.usage.*` counters of one request model. */
function usageCounters(c: Collected, m: string) {
  const of = { [ATTR.requestModel]: m };
  return {
    input: c.total(METRIC.usageInputTokens, of),
    output: c.total(METRIC.usageOutputTokens, of),
    cacheRead: c.total(METRIC.usageCacheReadInputTokens, of),
    cacheWrite: c.total(METRIC.usageCacheWriteInputTokens, of),
    reasoning: c.total(METRIC.usageReasoningOutputTokens, of),
  };
}

describe.each(ANTHROPIC_VERSIONS)('%s', (name, Anthropic) => {
  let t: TestMetrics;
  let uninstall: () => void;
  const client = (options: Record<string, unknown> = {}): AnyClient => anthropicClient(Anthropic, server.url, options);
  const collect = async (m: string) => {
    const c = await t.collect();
    return {
      c,
      of: { [ATTR.requestModel]: m },
      requests: (match: Record<string, unknown> = {}) => c.total(METRIC.requests, { [ATTR.requestModel]: m, ...match }),
      active: () => c.total(METRIC.activeRequests, { [ATTR.requestModel]: m }),
      tokens: (type: string) => c.histograms(METRIC.tokenUsage, { [ATTR.requestModel]: m, [ATTR.tokenType]: type }),
    };
  };

  beforeAll(() => {
    t = createTestMetrics();
    uninstall = instrumentAnthropic(Anthropic, { metrics: t.metrics });
  });
  afterAll(async () => {
    uninstall();
    await t.shutdown();
  });

  describe.concurrent('records', () => {
    it('a non-streaming Message: attributes, duration, usage with the cached input, the same APIPromise', async () => {
      const m = model();
      const promise = client().messages.create(
        body(m),
        sim({ ttftMs: 30, chunks: 6, promptTokens: 100, cacheReadTokens: 60, cacheWriteTokens: 15 }),
      );
      expect(promise.constructor.name).toBe('APIPromise');
      const message = await promise;
      expect(message.usage).toMatchObject({ input_tokens: 25, cache_read_input_tokens: 60, cache_creation_input_tokens: 15 });
      const { c, of, active } = await collect(m);
      const duration = c.histogram(METRIC.operationDuration, of);
      expect(duration.attributes).toEqual({
        [ATTR.operationName]: OPERATION.chat,
        [ATTR.providerName]: PROVIDER.anthropic,
        [ATTR.requestModel]: m,
        [ATTR.responseModel]: m,
        [ATTR.requestStream]: false,
        [ATTR.serverAddress]: '127.0.0.1',
        [ATTR.serverPort]: server.port,
        [ATTR.outcome]: 'success',
      });
      expect(duration.count).toBe(1);
      expect(duration.sum).toBeGreaterThanOrEqual(0.03 - EARLY);
      // input_tokens 25 + cache write 15 + cache read 60.
      expect(c.histogram(METRIC.tokenUsage, { ...of, [ATTR.tokenType]: 'input' }).sum).toBe(100);
      expect(c.histogram(METRIC.tokenUsage, { ...of, [ATTR.tokenType]: 'output' }).sum).toBe(6);
      expect(c.histograms(METRIC.timeToFirstChunk, of)).toEqual([]);
      expect(usageCounters(c, m)).toEqual({ input: 100, output: 6, cacheRead: 60, cacheWrite: 15, reasoning: 0 });
      expect(active()).toBe(0);
      expect(JSON.stringify(c.metrics)).not.toContain('secret prompt');
    });

    it('a stream from create(): TTFT, one gap per delta after the first, usage from message_start and message_delta', async () => {
      const m = model();
      const before = performance.now();
      const stream = await client().messages.create(
        body(m, { stream: true }),
        sim({ ttftMs: TTFT_MS, chunkMs: CHUNK_MS, chunks: 5, tokensPerChunk: 2, promptTokens: 50, cacheReadTokens: 20 }),
      );
      const timed = await drainTimed(stream);
      const events = timed.map(({ chunk }) => (chunk as AnyClient).type);
      expect(events.filter((type) => type === 'content_block_delta')).toHaveLength(5);
      const firstDelta = timed[2]!;
      const { c, of, requests, active } = await collect(m);
      const ttfc = c.histogram(METRIC.timeToFirstChunk, of);
      expect(ttfc.attributes[ATTR.requestStream]).toBe(true);
      expect(ttfc.attributes[ATTR.responseModel]).toBe(m);
      expect(ttfc.sum).toBeGreaterThanOrEqual(TTFT_MS / 1000 - EARLY);
      expect(ttfc.sum * 1000).toBeLessThanOrEqual(firstDelta.receivedAt - before);
      const tpoc = c.histogram(METRIC.timePerOutputChunk, of);
      expect(tpoc.count).toBe(4);
      expect(ttfc.sum + tpoc.sum).toBeGreaterThanOrEqual((TTFT_MS + 4 * CHUNK_MS) / 1000 - EARLY);
      expect(c.histogram(METRIC.tokenUsage, { ...of, [ATTR.tokenType]: 'input' }).sum).toBe(50);
      expect(c.histogram(METRIC.tokenUsage, { ...of, [ATTR.tokenType]: 'output' }).sum).toBe(10);
      expect(usageCounters(c, m)).toEqual({ input: 50, output: 10, cacheRead: 20, cacheWrite: 0, reasoning: 0 });
      expect(requests({ [ATTR.outcome]: 'success' })).toBe(1);
      expect(requests()).toBe(1);
      expect(active()).toBe(0);
    });

    it('messages.stream() once (it goes through create): text events and finalMessage unchanged', async () => {
      const m = model();
      const texts: string[] = [];
      const stream = client().messages.stream(body(m), sim({ ttftMs: TTFT_MS, chunkMs: 5, chunks: 4, cacheWriteTokens: 3 }));
      stream.on('text', (text: string) => texts.push(text));
      const final = await stream.finalMessage();
      expect(texts).toEqual(['tok1 ', 'tok2 ', 'tok3 ', 'tok4 ']);
      expect(final.content[0].text).toBe('tok1 tok2 tok3 tok4 ');
      await sleep(5);
      const { c, of, requests, active } = await collect(m);
      expect(requests()).toBe(1);
      expect(requests({ [ATTR.outcome]: 'success', [ATTR.requestStream]: true })).toBe(1);
      expect(c.histogram(METRIC.timeToFirstChunk, of).sum).toBeGreaterThanOrEqual(TTFT_MS / 1000 - EARLY);
      expect(c.histogram(METRIC.timePerOutputChunk, of).count).toBe(3);
      expect(c.histogram(METRIC.tokenUsage, { ...of, [ATTR.tokenType]: 'input' }).sum).toBe(7);
      expect(c.histogram(METRIC.tokenUsage, { ...of, [ATTR.tokenType]: 'output' }).sum).toBe(4);
      expect(usageCounters(c, m)).toEqual({ input: 7, output: 4, cacheRead: 0, cacheWrite: 3, reasoning: 0 });
      expect(active()).toBe(0);
    });

    it('messages.stream() consumed by async iteration, once', async () => {
      const m = model();
      const types: string[] = [];
      for await (const event of client().messages.stream(body(m), sim({ chunks: 3 }))) types.push(event.type);
      expect(types.filter((type) => type === 'content_block_delta')).toHaveLength(3);
      await sleep(5);
      const { c, of, requests, active } = await collect(m);
      expect(requests({ [ATTR.outcome]: 'success' })).toBe(1);
      expect(requests()).toBe(1);
      expect(c.histogram(METRIC.timePerOutputChunk, of).count).toBe(2);
      expect(active()).toBe(0);
    });

    it('thinking and tool-input deltas are output; the signature and an empty first tool delta are not', async () => {
      const m = model();
      await drain(await client().messages.create(body(m, { stream: true }), sim({ chunks: 3, reasoningChunks: 2 })));
      const m2 = model();
      await drain(await client().messages.create(body(m2, { stream: true }), sim({ chunks: 4, toolCall: true })));
      const { c, of } = await collect(m);
      // 2 thinking + 3 text deltas: 4 gaps; the signature_delta is not output.
      expect(c.histogram(METRIC.timePerOutputChunk, of).count).toBe(4);
      expect(c.histogram(METRIC.tokenUsage, { ...of, [ATTR.tokenType]: 'output' }).sum).toBe(5);
      // Thinking tokens are inside output_tokens; Anthropic reports no separate count.
      expect(usageCounters(c, m)).toMatchObject({ output: 5, reasoning: 0 });
      // 4 input_json_deltas, the first one empty: 3 output chunks, 2 gaps.
      expect(c.histogram(METRIC.timePerOutputChunk, { [ATTR.requestModel]: m2 }).count).toBe(2);
    });

    it('no token histogram when the provider reports no usage', async () => {
      const m = model();
      await client().messages.create(body(m), sim({ noUsage: true }));
      const m2 = model();
      await drain(await client().messages.create(body(m2, { stream: true }), sim({ noUsage: true, chunks: 2 })));
      const { c, requests } = await collect(m);
      expect(requests({ [ATTR.outcome]: 'success' })).toBe(1);
      expect(c.histograms(METRIC.tokenUsage, { [ATTR.requestModel]: m })).toEqual([]);
      expect(c.histograms(METRIC.tokenUsage, { [ATTR.requestModel]: m2 })).toEqual([]);
      expect(c.total(METRIC.requests, { [ATTR.requestModel]: m2, [ATTR.outcome]: 'success' })).toBe(1);
      // The counters add 0 for a request without usage (the core's rule).
      expect(usageCounters(c, m)).toEqual({ input: 0, output: 0, cacheRead: 0, cacheWrite: 0, reasoning: 0 });
    });

    it('.withResponse() and .asResponse() keep working and record once', async () => {
      const m = model();
      const { data, response } = await client().messages.create(body(m), sim({ chunks: 2 })).withResponse();
      expect(data.content[0].text).toBe('tok1 tok2 ');
      expect(response.status).toBe(200);
      const m2 = model();
      const raw = await client().messages.create(body(m2), sim({ chunks: 2 })).asResponse();
      expect(((await raw.json()) as AnyClient).content[0].text).toBe('tok1 tok2 ');
      const m3 = model();
      const { data: stream } = await client().messages.create(body(m3, { stream: true }), sim({ chunks: 2 })).withResponse();
      await drain(stream);
      await sleep(5);
      const { c } = await collect(m);
      for (const each of [m, m2, m3]) {
        expect(c.total(METRIC.requests, { [ATTR.requestModel]: each, [ATTR.outcome]: 'success' })).toBe(1);
      }
      expect(c.histogram(METRIC.tokenUsage, { [ATTR.requestModel]: m, [ATTR.tokenType]: 'output' }).sum).toBe(2);
      // The body of .asResponse() is the caller's to read: no usage is taken from it.
      expect(c.histograms(METRIC.tokenUsage, { [ATTR.requestModel]: m2 })).toEqual([]);
    });

    it('tee(): the two halves are the request once', async () => {
      const m = model();
      const stream = await client().messages.create(body(m, { stream: true }), sim({ chunks: 3 }));
      const [left, right] = stream.tee();
      const [a, b] = await Promise.all([drain(left), drain(right)]);
      expect(a).toEqual(b);
      const { c, of, requests } = await collect(m);
      expect(requests()).toBe(1);
      expect(c.histogram(METRIC.timePerOutputChunk, of).count).toBe(2);
    });

    it('countTokens is not an inference call: not recorded', async () => {
      const m = model();
      const c0 = client();
      if (typeof c0.messages.countTokens !== 'function') return;
      await c0.messages.countTokens(body(m), sim({ promptTokens: 12 }));
      const { requests, c } = await collect(m);
      expect(requests()).toBe(0);
      expect(c.histograms(METRIC.operationDuration, { [ATTR.requestModel]: m })).toEqual([]);
    });
  });

  describe.concurrent('errors', () => {
    it('an HTTP error: error.type is the status; the caller gets the same error object', async () => {
      const m = model();
      const error: AnyClient = await client()
        .messages.create(body(m), sim({ status: 529 }))
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(Anthropic.APIError);
      expect(error.status).toBe(529);
      const m2 = model();
      const limited = await client()
        .messages.create(body(m2, { stream: true }), sim({ status: 429 }))
        .catch((e: unknown) => e);
      expect(limited).toBeInstanceOf(Anthropic.RateLimitError);
      const { requests, active, c } = await collect(m);
      expect(requests({ [ATTR.outcome]: 'error', [ATTR.errorType]: '529' })).toBe(1);
      expect(requests()).toBe(1);
      expect(c.total(METRIC.requests, { [ATTR.requestModel]: m2, [ATTR.outcome]: 'error', [ATTR.errorType]: '429' })).toBe(1);
      expect(active()).toBe(0);
    });

    it('an `event: error` mid-stream: error.type is its Anthropic error type', async () => {
      const m = model();
      const stream = await client().messages.create(body(m, { stream: true }), sim({ chunks: 5, errorAfterChunks: 2 }));
      const seen: unknown[] = [];
      const error = await (async () => {
        for await (const event of stream) seen.push(event);
      })().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(Anthropic.AnthropicError);
      // 0.25 makes the event an APIConnectionError and keeps nothing of its type.
      const type = name === '@anthropic-ai/sdk 0.25' ? 'APIConnectionError' : 'overloaded_error';
      const { c, of, requests, active } = await collect(m);
      expect(requests({ [ATTR.outcome]: 'error', [ATTR.errorType]: type })).toBe(1);
      expect(requests()).toBe(1);
      expect(c.histogram(METRIC.timePerOutputChunk, of).count).toBe(1);
      // Input was reported at message_start; output only ever at message_delta.
      expect(c.histogram(METRIC.tokenUsage, { ...of, [ATTR.tokenType]: 'input' }).sum).toBe(7);
      expect(c.histograms(METRIC.tokenUsage, { ...of, [ATTR.tokenType]: 'output' })).toEqual([]);
      expect(active()).toBe(0);
    });

    it('the same through messages.stream(): its error, recorded once', async () => {
      const m = model();
      const stream = client().messages.stream(body(m), sim({ chunks: 4, errorAfterChunks: 1 }));
      const errors: unknown[] = [];
      stream.on('error', (e: unknown) => errors.push(e));
      await expect(stream.finalMessage()).rejects.toBeInstanceOf(Anthropic.AnthropicError);
      const { requests, active } = await collect(m);
      expect(requests({ [ATTR.outcome]: 'error' })).toBe(1);
      expect(requests()).toBe(1);
      expect(active()).toBe(0);
    });

    it('a connection reset mid-stream is an error', async () => {
      const m = model();
      const stream = await client().messages.create(body(m, { stream: true }), sim({ chunks: 5, dropAfterChunks: 2 }));
      await expect(drain(stream)).rejects.toBeInstanceOf(Error);
      const { requests, active } = await collect(m);
      expect(requests({ [ATTR.outcome]: 'error' })).toBe(1);
      expect(active()).toBe(0);
    });
  });

  describe.concurrent('cancelled', () => {
    it('break out of for await', async () => {
      const m = model();
      const stream = await client().messages.create(body(m, { stream: true }), sim({ chunks: 40, chunkMs: 5 }));
      let n = 0;
      for await (const _ of stream) if (++n === 4) break;
      const { requests, active, c } = await collect(m);
      expect(requests({ [ATTR.outcome]: 'cancelled' })).toBe(1);
      expect(requests()).toBe(1);
      expect(c.histograms(METRIC.tokenUsage, { [ATTR.requestModel]: m, [ATTR.tokenType]: 'output' })).toEqual([]);
      expect(active()).toBe(0);
    });

    it('the request signal aborts before the answer', async () => {
      const m = model();
      const controller = new AbortController();
      const pending = client().messages.create(body(m), sim({ headerDelayMs: 400 }, { signal: controller.signal }));
      setTimeout(() => controller.abort(), 20);
      expect(await pending.catch((e: unknown) => e)).toBeInstanceOf(Anthropic.APIUserAbortError);
      const { requests, active } = await collect(m);
      expect(requests({ [ATTR.outcome]: 'cancelled' })).toBe(1);
      expect(active()).toBe(0);
    });

    it('the request signal aborts mid-stream', async () => {
      const m = model();
      const controller = new AbortController();
      const stream = await client().messages.create(
        body(m, { stream: true }),
        sim({ chunks: 40, chunkMs: 5 }, { signal: controller.signal }),
      );
      let n = 0;
      await (async () => {
        for await (const _ of stream) if (++n === 3) controller.abort();
      })().catch(() => undefined);
      const { requests, active } = await collect(m);
      expect(requests({ [ATTR.outcome]: 'cancelled' })).toBe(1);
      expect(active()).toBe(0);
    });

    it('MessageStream.abort()', async () => {
      const m = model();
      const stream = client().messages.stream(body(m), sim({ chunks: 40, chunkMs: 5 }));
      stream.on('error', () => undefined);
      let n = 0;
      stream.on('text', () => {
        if (++n === 2) stream.abort();
      });
      await stream.done().catch(() => undefined);
      await sleep(5);
      const { requests, active } = await collect(m);
      expect(requests({ [ATTR.outcome]: 'cancelled' })).toBe(1);
      expect(requests()).toBe(1);
      expect(active()).toBe(0);
    });

    it('a stream that is never iterated, once garbage-collected', async () => {
      const m = model();
      await client().messages.create(body(m, { stream: true }), sim({ chunks: 2 }));
      await sleep(10);
      await collectGarbage();
      const { requests, active } = await collect(m);
      expect(requests({ [ATTR.outcome]: 'cancelled' })).toBe(1);
      expect(active()).toBe(0);
    });
  });

  it('gives the consumer exactly the events it gets uninstrumented', async () => {
    const normalize = (events: AnyClient[]) => JSON.stringify(events).replace(/msg_[0-9a-f]+/g, 'msg_').replace(/toolu_[0-9a-f]+/g, 'toolu_');
    const behaviour = sim({ chunks: 3, reasoningChunks: 1, cacheReadTokens: 2 });
    const instrumented = normalize(await drain(await client().messages.create(body('same', { stream: true }), behaviour)));
    uninstall();
    const plain = normalize(await drain(await client().messages.create(body('same', { stream: true }), behaviour)));
    uninstall = instrumentAnthropic(Anthropic, { metrics: t.metrics });
    expect(instrumented).toBe(plain);
  });
});

describe.each(ANTHROPIC_BETA_VERSIONS)('%s beta.messages', (_name, Anthropic) => {
  let t: TestMetrics;
  let uninstall: () => void;
  beforeAll(() => {
    t = createTestMetrics();
    uninstall = instrumentAnthropic(new (Anthropic as AnyClient)({ apiKey: 'x' }), { metrics: t.metrics });
  });
  afterAll(async () => {
    uninstall();
    await t.shutdown();
  });

  it('records beta.messages.create and beta.messages.stream() once each', async () => {
    const client = anthropicClient(Anthropic, server.url);
    const m = model();
    await client.beta.messages.create(body(m), sim({ chunks: 2, cacheReadTokens: 3 }));
    const m2 = model();
    await client.beta.messages.stream(body(m2), sim({ chunks: 3 })).finalMessage();
    await sleep(5);
    const c = await t.collect();
    expect(c.total(METRIC.requests, { [ATTR.requestModel]: m, [ATTR.outcome]: 'success', [ATTR.requestStream]: false })).toBe(1);
    expect(c.histogram(METRIC.tokenUsage, { [ATTR.requestModel]: m, [ATTR.tokenType]: 'input' }).sum).toBe(7);
    expect(c.total(METRIC.requests, { [ATTR.requestModel]: m2 })).toBe(1);
    expect(c.histogram(METRIC.timePerOutputChunk, { [ATTR.requestModel]: m2 }).count).toBe(2);
  });
});
