/**
 * @google/genai against the simulated Gemini API and Vertex AI, every major version, in process.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import * as genaiV3 from '@google/genai';
import * as genaiV2 from 'genai-v2';
import * as genaiV1 from 'genai-v1';
import * as genaiV0 from 'genai-v0';
import { startSimServer, type SimBehavior, type SimServer } from '../../../../sim/index.js';
import { instrumentGoogleGenAI } from '../../../../packages/instrumentation/src/index.js';
import { ATTR, METRIC } from '../../../../packages/instrumentation/src/semconv.js';
import { collectGarbage, createTestMetrics, type Collected, drain, drainTimed, sleep, type TestMetrics } from '../../../helpers/metrics.js';

// The four majors differ in their types; the tests use the surface they share.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;

interface Traits {
  /**
   * Whether the client surfaces an error the server sends inside a stream: 2.x on throw it as an
   * ApiError; 0.x and 1.x hand the error object on as a chunk and end quietly.
   */
  streamErrors: boolean;
  /** Whether the client keeps an embedding response's `usageMetadata` (3.x); earlier ones drop it. */
  embedUsage: boolean;
  /** 1.x on throw ApiError with `status`; 0.x ClientError/ServerError with the status in the message. */
  apiError: boolean;
}

const VERSIONS: ReadonlyArray<[string, Any, Traits]> = [
  ['3.x', genaiV3, { streamErrors: true, embedUsage: true, apiError: true }],
  ['2.x', genaiV2, { streamErrors: true, embedUsage: false, apiError: true }],
  ['1.x', genaiV1, { streamErrors: false, embedUsage: false, apiError: true }],
  ['0.x', genaiV0, { streamErrors: false, embedUsage: false, apiError: false }],
];

let server: SimServer;
let t: TestMetrics;
const uninstalls: Array<() => void> = [];

beforeAll(async () => {
  server = await startSimServer({ port: 0 });
});
afterAll(async () => {
  await server.close();
});
beforeEach(() => {
  t = createTestMetrics();
});
afterEach(async () => {
  while (uninstalls.length > 0) uninstalls.pop()!();
  await t.shutdown();
});

const TTFT_MS = 60;
const CHUNK_MS = 20;
/** How early a timing may look next to the delay the server was given (clock and timer rounding), in seconds. */
const EARLY = 0.002;

/** A request's `config` carrying the sim behaviour, plus `extra`. */
function sim(behavior: SimBehavior, extra: Record<string, unknown> = {}) {
  return { ...extra, httpOptions: { headers: { 'x-sim': JSON.stringify(behavior) } } };
}

function serverAttrs() {
  return { [ATTR.serverAddress]: '127.0.0.1', [ATTR.serverPort]: server.port };
}

/** The totals of the gen_ai.client.inference.usage.* counters. */
function usageCounters(c: Collected) {
  return {
    input: c.total(METRIC.usageInputTokens),
    output: c.total(METRIC.usageOutputTokens),
    cacheRead: c.total(METRIC.usageCacheReadInputTokens),
    cacheWrite: c.total(METRIC.usageCacheWriteInputTokens),
    reasoning: c.total(METRIC.usageReasoningOutputTokens),
  };
}

/** Everything that varies between runs of the same request. */
function normalize(chunks: unknown): unknown {
  return JSON.parse(JSON.stringify(chunks, (key, value: unknown) => (key === 'sdkHttpResponse' || key === 'responseId' ? undefined : value)));
}

describe.each(VERSIONS)('@google/genai %s', (_name, genai, { streamErrors, embedUsage, apiError }) => {
  let ai: Any;
  beforeEach(() => {
    uninstalls.push(instrumentGoogleGenAI(genai, { metrics: t.metrics }));
    ai = new genai.GoogleGenAI({ apiKey: 'test-key', httpOptions: { baseUrl: `http://127.0.0.1:${server.port}` } });
  });

  it('records generateContent with usage normalised: cached and thoughts tokens inside input and output', async () => {
    const promise = ai.models.generateContent({
      model: 'models/gemini-2.5-flash',
      contents: 'secret prompt',
      config: sim({ ttftMs: TTFT_MS, chunks: 3, tokensPerChunk: 2, reasoningChunks: 2, promptTokens: 11, cacheReadTokens: 4 }),
    });
    const response = await promise;
    expect(response).toBeInstanceOf(genai.GenerateContentResponse);
    expect(response.text).toBe('tok1 tok2 tok3 tok4 tok5 tok6 ');
    expect(response.usageMetadata).toMatchObject({ promptTokenCount: 11, candidatesTokenCount: 6, thoughtsTokenCount: 4, cachedContentTokenCount: 4 });
    const c = await t.collect();
    const attrs = {
      [ATTR.operationName]: 'generate_content',
      [ATTR.providerName]: 'gcp.gemini',
      [ATTR.requestModel]: 'gemini-2.5-flash',
      [ATTR.responseModel]: 'gemini-2.5-flash',
      [ATTR.requestStream]: false,
      ...serverAttrs(),
    };
    const duration = c.histogram(METRIC.operationDuration);
    expect(duration.attributes).toEqual({ ...attrs, [ATTR.outcome]: 'success' });
    expect(duration.sum).toBeGreaterThanOrEqual(TTFT_MS / 1000 - EARLY);
    // input = promptTokenCount (the cached 4 are part of it); output = candidates 6 + thoughts 4.
    expect(c.histogram(METRIC.tokenUsage, { [ATTR.tokenType]: 'input' }).sum).toBe(11);
    expect(c.histogram(METRIC.tokenUsage, { [ATTR.tokenType]: 'output' }).sum).toBe(10);
    // The usage counters: the cached and thoughts counts as the subsets they are.
    expect(usageCounters(c)).toEqual({ input: 11, output: 10, cacheRead: 4, cacheWrite: 0, reasoning: 4 });
    expect(c.metric(METRIC.timeToFirstChunk)).toBeUndefined();
    expect(c.total(METRIC.activeRequests)).toBe(0);
    expect(JSON.stringify(c.metrics)).not.toContain('secret prompt');
  });

  it('times generateContentStream: TTFT to the first thought, one gap per later output chunk, the last usage reported', async () => {
    const before = performance.now();
    const stream = await ai.models.generateContentStream({
      model: 'gemini-2.5-flash',
      contents: 'hi',
      config: sim({ ttftMs: TTFT_MS, chunkMs: CHUNK_MS, chunks: 4, reasoningChunks: 1, promptTokens: 5 }),
    });
    const timed = await drainTimed(stream);
    // One thought, four answer chunks, then the finish chunk with empty text (not output).
    expect(timed.map(({ chunk }: Any) => chunk.candidates[0].content.parts[0].text)).toEqual(['think1 ', 'tok1 ', 'tok2 ', 'tok3 ', 'tok4 ', '']);
    const first = timed[0]!;
    const last = timed[4]!;
    const c = await t.collect();
    const ttfc = c.histogram(METRIC.timeToFirstChunk);
    expect(ttfc.attributes[ATTR.requestStream]).toBe(true);
    expect(ttfc.attributes[ATTR.responseModel]).toBe('gemini-2.5-flash');
    expect(ttfc.sum).toBeGreaterThanOrEqual(TTFT_MS / 1000 - EARLY);
    expect(ttfc.sum * 1000).toBeLessThanOrEqual(first.receivedAt - before);
    const tpoc = c.histogram(METRIC.timePerOutputChunk);
    expect(tpoc.count).toBe(4);
    expect(tpoc.sum * 1000).toBeGreaterThanOrEqual(last.requestedAt - first.receivedAt);
    expect(tpoc.sum * 1000).toBeLessThanOrEqual(last.receivedAt - first.requestedAt);
    expect(ttfc.sum + tpoc.sum).toBeGreaterThanOrEqual((TTFT_MS + 4 * CHUNK_MS) / 1000 - EARLY);
    // Every chunk reported its usage so far; the last one counts: candidates 4 + thoughts 1.
    expect(c.histogram(METRIC.tokenUsage, { [ATTR.tokenType]: 'input' }).sum).toBe(5);
    expect(c.histogram(METRIC.tokenUsage, { [ATTR.tokenType]: 'output' }).sum).toBe(5);
    expect(usageCounters(c)).toEqual({ input: 5, output: 5, cacheRead: 0, cacheWrite: 0, reasoning: 1 });
    expect(c.histogram(METRIC.outputTokenRate).sum).toBeCloseTo(4 / tpoc.sum, 6);
    expect(c.total(METRIC.requests, { [ATTR.outcome]: 'success' })).toBe(1);
    expect(c.total(METRIC.activeRequests)).toBe(0);
  });

  it('gives the consumer exactly the chunks it gets uninstrumented, and counts function calls as output', async () => {
    const params = { model: 'gemini-2.5-flash', contents: 'hi', config: sim({ chunks: 3, toolCall: true, reasoningChunks: 1 }) };
    const instrumented = normalize(await drain(await ai.models.generateContentStream(params)));
    while (uninstalls.length > 0) uninstalls.pop()!();
    const plain = normalize(await drain(await ai.models.generateContentStream(params)));
    expect(instrumented).toEqual(plain);
    expect((plain as Any)[1].candidates[0].content.parts[0].functionCall.name).toBe('get_weather');
    const c = await t.collect();
    expect(c.total(METRIC.requests)).toBe(1);
    // The thought and the function call: two output chunks, one gap.
    expect(c.histogram(METRIC.timePerOutputChunk).count).toBe(1);
  });

  it('records no tokens when the server reports no usage', async () => {
    await drain(await ai.models.generateContentStream({ model: 'gemini-2.5-flash', contents: 'hi', config: sim({ chunks: 2, noUsage: true }) }));
    await ai.models.generateContent({ model: 'gemini-2.5-flash', contents: 'hi', config: sim({ noUsage: true }) });
    const c = await t.collect();
    expect(c.total(METRIC.requests, { [ATTR.outcome]: 'success' })).toBe(2);
    expect(c.metric(METRIC.tokenUsage)).toBeUndefined();
  });

  it('records an HTTP error as error.type = its status, and passes the same ApiError through', async () => {
    const error: Any = await ai.models
      .generateContent({ model: 'gemini-2.5-flash', contents: 'hi', config: sim({ status: 429 }) })
      .catch((e: unknown) => e);
    const streamError: Any = await ai.models
      .generateContentStream({ model: 'gemini-2.5-flash', contents: 'hi', config: sim({ status: 503 }) })
      .then(drain)
      .catch((e: unknown) => e);
    if (apiError) {
      expect(error).toBeInstanceOf(genai.ApiError);
      expect(error.status).toBe(429);
      expect(JSON.parse(error.message)).toEqual({ error: { code: 429, message: expect.any(String), status: 'RESOURCE_EXHAUSTED' } });
      expect(streamError.status).toBe(503);
    } else {
      expect(error.name).toBe('ClientError');
      expect(error.message).toMatch(/^got status: 429 .*RESOURCE_EXHAUSTED/);
      expect(streamError.name).toBe('ServerError');
    }
    const c = await t.collect();
    expect(c.total(METRIC.requests, { [ATTR.outcome]: 'error', [ATTR.errorType]: '429', [ATTR.requestStream]: false })).toBe(1);
    expect(c.total(METRIC.requests, { [ATTR.outcome]: 'error', [ATTR.errorType]: '503', [ATTR.requestStream]: true })).toBe(1);
    expect(c.total(METRIC.activeRequests)).toBe(0);
  });

  it(`an error object inside the stream: ${streamErrors ? 'thrown by the client, recorded as error.type 500' : 'not surfaced by this client, recorded as it ends: success'}`, async () => {
    const stream = await ai.models.generateContentStream({ model: 'gemini-2.5-flash', contents: 'hi', config: sim({ chunks: 4, errorAfterChunks: 2 }) });
    const seen: unknown[] = [];
    let thrown: Any;
    try {
      for await (const chunk of stream) seen.push(chunk);
    } catch (error) {
      thrown = error;
    }
    const c = await t.collect();
    if (streamErrors) {
      expect(seen).toHaveLength(2);
      expect(thrown.status).toBe(500);
      expect(c.total(METRIC.requests, { [ATTR.outcome]: 'error', [ATTR.errorType]: '500' })).toBe(1);
    } else {
      expect(thrown).toBeUndefined();
      expect(seen).toHaveLength(3);
      expect(c.total(METRIC.requests, { [ATTR.outcome]: 'success' })).toBe(1);
    }
    expect(c.histogram(METRIC.timePerOutputChunk).count).toBe(1);
    expect(c.total(METRIC.activeRequests)).toBe(0);
  });

  it('records a dropped connection mid-stream as an error, with the error passed through', async () => {
    const stream = await ai.models.generateContentStream({ model: 'gemini-2.5-flash', contents: 'hi', config: sim({ chunks: 10, chunkMs: 5, dropAfterChunks: 3 }) });
    let thrown: unknown;
    const seen: unknown[] = [];
    try {
      for await (const chunk of stream) seen.push(chunk);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(Error);
    expect(seen).toHaveLength(3);
    const c = await t.collect();
    const errors = c.sums(METRIC.requests, { [ATTR.outcome]: 'error' });
    expect(errors).toHaveLength(1);
    expect(errors[0]!.attributes[ATTR.errorType]).toBe((thrown as Error).name);
    expect(c.histogram(METRIC.timePerOutputChunk).count).toBe(2);
    expect(c.total(METRIC.activeRequests)).toBe(0);
  });

  it('records cancelled when the consumer breaks out of for await', async () => {
    const stream = await ai.models.generateContentStream({ model: 'gemini-2.5-flash', contents: 'hi', config: sim({ chunks: 50, chunkMs: 5 }) });
    let n = 0;
    for await (const _ of stream) if (++n === 3) break;
    const c = await t.collect();
    expect(c.total(METRIC.requests)).toBe(1);
    expect(c.total(METRIC.requests, { [ATTR.outcome]: 'cancelled' })).toBe(1);
    expect(c.histogram(METRIC.timePerOutputChunk).count).toBe(2);
    expect(c.total(METRIC.activeRequests)).toBe(0);
  });

  it('records cancelled when config.abortSignal aborts, before the response and mid-stream', async () => {
    const early = new AbortController();
    const pending = ai.models.generateContent({ model: 'gemini-2.5-flash', contents: 'hi', config: sim({ headerDelayMs: 500 }, { abortSignal: early.signal }) });
    setTimeout(() => early.abort(), 20);
    const error = await pending.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);

    const late = new AbortController();
    const stream = await ai.models.generateContentStream({
      model: 'gemini-2.5-flash',
      contents: 'hi',
      config: sim({ chunks: 50, chunkMs: 5 }, { abortSignal: late.signal }),
    });
    let n = 0;
    const ended = await (async () => {
      for await (const _ of stream) if (++n === 3) late.abort();
    })().then(
      () => 'ended',
      (e: unknown) => e,
    );
    expect(ended === 'ended' || ended instanceof Error).toBe(true);
    const c = await t.collect();
    expect(c.total(METRIC.requests)).toBe(2);
    expect(c.total(METRIC.requests, { [ATTR.outcome]: 'cancelled' })).toBe(2);
    expect(c.total(METRIC.activeRequests)).toBe(0);
  });

  it('a stream that is never iterated is recorded as cancelled once garbage-collected', async () => {
    await (async () => {
      await ai.models.generateContentStream({ model: 'gemini-2.5-flash', contents: 'hi', config: sim({ chunks: 3, ttftMs: 2000 }) });
    })();
    expect((await t.collect()).total(METRIC.activeRequests)).toBe(1);
    await collectGarbage();
    const c = await t.collect();
    expect(c.total(METRIC.requests, { [ATTR.outcome]: 'cancelled' })).toBe(1);
    expect(c.total(METRIC.activeRequests)).toBe(0);
  });

  it('records chats.sendMessage and sendMessageStream once each', async () => {
    const chat = ai.chats.create({ model: 'gemini-2.5-flash', config: sim({ chunks: 3, promptTokens: 6 }) });
    const reply = await chat.sendMessage({ message: 'hi' });
    expect(reply.text).toBe('tok1 tok2 tok3 ');
    const chunks = await drain(await chat.sendMessageStream({ message: 'again' }));
    expect(chunks.map((chunk: Any) => chunk.text).join('')).toBe('tok1 tok2 tok3 ');
    expect(chat.getHistory()[0].parts[0].text).toBe('hi');
    const c = await t.collect();
    expect(c.total(METRIC.requests, { [ATTR.requestStream]: false })).toBe(1);
    expect(c.total(METRIC.requests, { [ATTR.requestStream]: true })).toBe(1);
    expect(c.histogram(METRIC.tokenUsage, { [ATTR.tokenType]: 'input', [ATTR.requestStream]: true }).sum).toBe(6);
  });

  it(`records embedContent as embeddings${embedUsage ? ' with its reported input tokens' : ', without tokens: this client drops usageMetadata'}`, async () => {
    const response = await ai.models.embedContent({ model: 'gemini-embedding-001', contents: ['a', 'b'], config: sim({ promptTokens: 9 }) });
    expect(response.embeddings).toHaveLength(2);
    expect(response.usageMetadata?.promptTokenCount).toBe(embedUsage ? 9 : undefined);
    const c = await t.collect();
    const attrs = { [ATTR.operationName]: 'embeddings', [ATTR.providerName]: 'gcp.gemini', [ATTR.requestModel]: 'gemini-embedding-001' };
    expect(c.total(METRIC.requests, { ...attrs, [ATTR.outcome]: 'success' })).toBe(1);
    if (embedUsage) expect(c.histogram(METRIC.tokenUsage, { ...attrs, [ATTR.tokenType]: 'input' }).sum).toBe(9);
    else expect(c.metric(METRIC.tokenUsage)).toBeUndefined();
    expect(usageCounters(c).input).toBe(embedUsage ? 9 : 0);
    expect(c.histograms(METRIC.tokenUsage, { [ATTR.tokenType]: 'output' })).toEqual([]);
    expect(c.total(METRIC.activeRequests)).toBe(0);
  });

  it('names Vertex AI mode gcp.vertex_ai, wherever its base URL points', async () => {
    const vertex = new genai.GoogleGenAI({ vertexai: true, apiKey: 'test-key', httpOptions: { baseUrl: `http://127.0.0.1:${server.port}` } });
    await vertex.models.generateContent({ model: 'gemini-2.5-flash', contents: 'hi', config: sim({ promptTokens: 3 }) });
    await drain(await vertex.models.generateContentStream({ model: 'gemini-2.5-flash', contents: 'hi', config: sim({ chunks: 2 }) }));
    const embedded = await vertex.models.embedContent({ model: 'text-embedding-005', contents: ['a', 'b'], config: sim({ promptTokens: 8 }) });
    expect(embedded.embeddings).toHaveLength(2);
    expect(server.requests.at(-1)!.path).toMatch(/\/publishers\/google\/models\/text-embedding-005:predict$/);
    const c = await t.collect();
    expect(c.total(METRIC.requests, { [ATTR.providerName]: 'gcp.vertex_ai', ...serverAttrs() })).toBe(3);
    // predict reports each embedding's own count: 8 in all.
    expect(c.histogram(METRIC.tokenUsage, { [ATTR.tokenType]: 'input', [ATTR.operationName]: 'embeddings' }).sum).toBe(8);
  });
});

describe('@google/genai setup', () => {
  it('names the real hosts by their provider, from the client mode and base URL, without a network', async () => {
    uninstalls.push(instrumentGoogleGenAI(genaiV3, { metrics: t.metrics }));
    const urls: string[] = [];
    const fetch = async (url: unknown) => {
      urls.push(String(url));
      return new Response(JSON.stringify({ candidates: [], usageMetadata: { promptTokenCount: 2 }, modelVersion: 'gemini-x' }), {
        headers: { 'content-type': 'application/json' },
      });
    };
    const gemini = new genaiV3.GoogleGenAI({ apiKey: 'k', httpOptions: { fetch } as Any });
    const vertex = new genaiV3.GoogleGenAI({ vertexai: true, apiKey: 'k', httpOptions: { fetch } as Any });
    await gemini.models.generateContent({ model: 'gemini-x', contents: 'hi' });
    await vertex.models.generateContent({ model: 'gemini-x', contents: 'hi' });
    expect(urls.map((url) => new URL(url).host)).toEqual(['generativelanguage.googleapis.com', 'aiplatform.googleapis.com']);
    const c = await t.collect();
    expect(c.total(METRIC.requests, { [ATTR.providerName]: 'gcp.gemini', [ATTR.serverAddress]: 'generativelanguage.googleapis.com', [ATTR.serverPort]: 443 })).toBe(1);
    expect(c.total(METRIC.requests, { [ATTR.providerName]: 'gcp.vertex_ai', [ATTR.serverAddress]: 'aiplatform.googleapis.com', [ATTR.serverPort]: 443 })).toBe(1);
  });

  it('takes server.address from a request’s own httpOptions.baseUrl', async () => {
    uninstalls.push(instrumentGoogleGenAI(genaiV3, { metrics: t.metrics }));
    const ai = new genaiV3.GoogleGenAI({ apiKey: 'k', httpOptions: { baseUrl: 'http://127.0.0.1:9' } });
    await ai.models.generateContent({ model: 'gemini-x', contents: 'hi', config: { httpOptions: { baseUrl: `http://localhost:${server.port}` } } });
    const c = await t.collect();
    expect(c.total(METRIC.requests, { [ATTR.serverAddress]: 'localhost', [ATTR.serverPort]: server.port, [ATTR.outcome]: 'success' })).toBe(1);
  });

  it('patches the ESM and CJS builds separately, each once however often it is called, and undoes', async () => {
    const require = createRequire(import.meta.url);
    const cjs = require('@google/genai') as Any;
    expect(cjs.Models).not.toBe(genaiV3.Models);
    const original = cjs.Models.prototype.generateContentInternal;
    uninstalls.push(instrumentGoogleGenAI(genaiV3, { metrics: t.metrics }));
    uninstalls.push(instrumentGoogleGenAI(genaiV3, { metrics: t.metrics }));
    const undoCjs = instrumentGoogleGenAI(cjs, { metrics: t.metrics });
    const baseUrl = `http://127.0.0.1:${server.port}`;
    await new genaiV3.GoogleGenAI({ apiKey: 'k', httpOptions: { baseUrl } }).models.generateContent({ model: 'm', contents: 'hi' });
    await new cjs.GoogleGenAI({ apiKey: 'k', httpOptions: { baseUrl } }).models.generateContent({ model: 'm', contents: 'hi' });
    expect((await t.collect()).total(METRIC.requests)).toBe(2);
    undoCjs();
    expect(cjs.Models.prototype.generateContentInternal).toBe(original);
    await new cjs.GoogleGenAI({ apiKey: 'k', httpOptions: { baseUrl } }).models.generateContent({ model: 'm', contents: 'hi' });
    expect((await t.collect()).total(METRIC.requests)).toBe(2);
  });

  it('accepts a client or the Models class as its target', async () => {
    const baseUrl = `http://127.0.0.1:${server.port}`;
    const ai = new genaiV2.GoogleGenAI({ apiKey: 'k', httpOptions: { baseUrl } });
    uninstalls.push(instrumentGoogleGenAI(ai, { metrics: t.metrics }));
    await ai.models.generateContent({ model: 'm', contents: 'hi' });
    uninstalls.pop()!();
    uninstalls.push(instrumentGoogleGenAI(genaiV2.Models, { metrics: t.metrics }));
    await ai.models.generateContent({ model: 'm', contents: 'hi' });
    expect((await t.collect()).total(METRIC.requests)).toBe(2);
  });

  it('passes odd targets and odd calls through untouched', async () => {
    for (const target of [undefined, null, 42, 'x', {}, () => {}]) expect(() => instrumentGoogleGenAI(target)()).not.toThrow();
    uninstalls.push(instrumentGoogleGenAI(genaiV3, { metrics: t.metrics }));
    const ai = new genaiV3.GoogleGenAI({ apiKey: 'k', httpOptions: { baseUrl: `http://127.0.0.1:${server.port}` } });
    // No params at all: the SDK's own error, unchanged, and nothing recorded.
    const error = await (ai.models as Any).generateContentInternal(undefined).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toBe("Key 'model' not found in valueMap.");
    await sleep(5);
    expect((await t.collect()).total(METRIC.requests)).toBe(0);
  });
});
