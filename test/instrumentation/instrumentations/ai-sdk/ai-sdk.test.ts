/**
 * The AI SDK adapter, in process: the real `ai` of every major with its real `@ai-sdk/openai`
 * against the sim's OpenAI routes. Each test patches its own copy of the `ai` namespace (what the
 * preload's hook does to the module) and records into its own MeterProvider. One model call is
 * one operation: each step of a multi-step call, each doEmbed of embedMany.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimServer, type SimServer } from '../../../../sim/index.js';
import { inferenceEmbeddingMiddleware, inferenceMiddleware } from '../../../../packages/instrumentation/src/index.js';
import { ATTR, METRIC, OUTCOME, TOKEN_TYPE } from '../../../../packages/instrumentation/src/semconv.js';
import { collectGarbage, createTestMetrics, sleep, type Collected, type TestMetrics } from '../../../helpers/metrics.js';
import { AI_SDK_VERSIONS, lookupTool, openaiProvider, patchedAI, steps, type AISDKVersion } from '../../../helpers/ai-sdk.js';
import { observeStream } from '../../../../packages/instrumentation/src/instrumentations/ai-sdk/observe.js';

/* eslint-disable @typescript-eslint/no-explicit-any */

let server: SimServer;
let port: number;
beforeAll(async () => {
  server = await startSimServer({ port: 0 });
  port = Number(new URL(server.url).port);
});
afterAll(async () => {
  await server.close();
});

/** Scheduling slack: a timer may fire up to 1 ms early on the sim's side. */
const EARLY = 0.002;

async function withMetrics<T>(run: (t: TestMetrics) => Promise<T>): Promise<Collected> {
  const t = createTestMetrics();
  try {
    await run(t);
    return await t.collect();
  } finally {
    await t.shutdown();
  }
}

/** The sum of every histogram point of `name` matching `match`. */
function histogramSum(c: Collected, name: string, match: Record<string, string | number | boolean> = {}): number {
  return c.histograms(name, match).reduce((acc, p) => acc + p.sum, 0);
}

function expectSettled(c: Collected): void {
  for (const point of c.sums(METRIC.activeRequests)) expect(point.value).toBe(0);
}

const prompt = 'hi';

describe.each(AI_SDK_VERSIONS)('$name', (v: AISDKVersion) => {
  describe.concurrent('calls', () => {
    it('generateText: one chat operation with the usage and response model the model reported', async () => {
      const c = await withMetrics(async (t) => {
        const ai = patchedAI(v, t.metrics);
        const result = await ai.generateText({ model: openaiProvider(v, server.url, { chunks: 3 }).chat('gpt-4o'), prompt, maxRetries: 0 });
        expect(result.text).toBe('tok1 tok2 tok3 ');
      });
      const base = {
        [ATTR.operationName]: 'chat',
        [ATTR.providerName]: 'openai',
        [ATTR.requestModel]: 'gpt-4o',
        [ATTR.requestStream]: false,
        [ATTR.serverAddress]: '127.0.0.1',
        [ATTR.serverPort]: port,
        [ATTR.responseModel]: 'gpt-4o',
      };
      expect(c.sums(METRIC.requests)).toEqual([{ attributes: { ...base, [ATTR.outcome]: OUTCOME.success }, value: 1 }]);
      expect(c.histogram(METRIC.tokenUsage, { [ATTR.tokenType]: TOKEN_TYPE.input }).sum).toBe(7);
      expect(c.histogram(METRIC.tokenUsage, { [ATTR.tokenType]: TOKEN_TYPE.output }).sum).toBe(3);
      expect(c.metric(METRIC.timeToFirstChunk)).toBeUndefined();
      expectSettled(c);
    });

    it('cache read and reasoning tokens reach the usage counters (chat and Responses)', async () => {
      const behavior = { chunks: 3, reasoningChunks: 1, promptTokens: 9, cacheReadTokens: 4 };
      const c = await withMetrics(async (t) => {
        const ai = patchedAI(v, t.metrics);
        const provider = openaiProvider(v, server.url, behavior);
        await ai.generateText({ model: provider.chat('gpt-4o'), prompt, maxRetries: 0 });
        await ai.streamText({ model: provider.chat('gpt-4o'), prompt, maxRetries: 0 }).consumeStream();
        await ai.generateText({ model: provider.responses('gpt-5'), prompt, maxRetries: 0 });
      });
      expect(c.total(METRIC.usageInputTokens)).toBe(27);
      expect(c.total(METRIC.usageOutputTokens)).toBe(12);
      expect(c.total(METRIC.usageCacheReadInputTokens)).toBe(12);
      expect(c.total(METRIC.usageReasoningOutputTokens)).toBe(3);
    });

    it('generateText on the Responses API: one operation', async () => {
      const c = await withMetrics(async (t) => {
        const ai = patchedAI(v, t.metrics);
        await ai.generateText({ model: openaiProvider(v, server.url, { chunks: 2, reasoningChunks: 1 }).responses('gpt-5'), prompt, maxRetries: 0 });
      });
      expect(c.total(METRIC.requests, { [ATTR.requestModel]: 'gpt-5', [ATTR.outcome]: OUTCOME.success })).toBe(1);
      expect(c.histogram(METRIC.tokenUsage, { [ATTR.tokenType]: TOKEN_TYPE.output }).sum).toBe(3);
    });

    it('generateText with a tool over two steps: two model calls, each with its own usage', async () => {
      const c = await withMetrics(async (t) => {
        const ai = patchedAI(v, t.metrics);
        const result = await ai.generateText({
          model: openaiProvider(v, server.url, { chunks: 3, toolCall: true, promptTokens: 11 }).chat('gpt-4o'),
          prompt,
          tools: lookupTool(v),
          maxRetries: 0,
          ...steps(v, 2),
        });
        expect(result.steps).toHaveLength(2);
      });
      expect(c.total(METRIC.requests, { [ATTR.outcome]: OUTCOME.success })).toBe(2);
      const input = c.histogram(METRIC.tokenUsage, { [ATTR.tokenType]: TOKEN_TYPE.input });
      expect([input.count, input.sum]).toEqual([2, 22]);
    });

    it('streamText through fullStream, toTextStreamResponse and consumeStream (then the usage promise): one operation each', async () => {
      const c = await withMetrics(async (t) => {
        const ai = patchedAI(v, t.metrics);
        const model = openaiProvider(v, server.url, { chunks: 3 }).chat('gpt-4o');
        const full = ai.streamText({ model, prompt, maxRetries: 0 });
        const types = new Set<string>();
        for await (const part of full.fullStream) types.add(part.type);
        expect(types.has('finish')).toBe(true);
        const response = ai.streamText({ model, prompt, maxRetries: 0 }).toTextStreamResponse();
        expect(await response.text()).toBe('tok1 tok2 tok3 ');
        const consumed = ai.streamText({ model, prompt, maxRetries: 0 });
        await consumed.consumeStream();
        const usage = await consumed.usage;
        expect(usage.promptTokens ?? usage.inputTokens).toBe(7);
      });
      expect(c.total(METRIC.requests, { [ATTR.outcome]: OUTCOME.success })).toBe(3);
      expect(c.histogram(METRIC.timeToFirstChunk).count).toBe(3);
      expect(c.histogram(METRIC.timePerOutputChunk).count).toBe(6);
      expect(c.histogram(METRIC.tokenUsage, { [ATTR.tokenType]: TOKEN_TYPE.output }).sum).toBe(9);
      expectSettled(c);
    });

    it('streamText broken off or never consumed: the SDK still reads the model stream to its end, so the call completes', async () => {
      const c = await withMetrics(async (t) => {
        const ai = patchedAI(v, t.metrics);
        const model = openaiProvider(v, server.url, { chunks: 3, chunkMs: 5 }).chat('gpt-4o');
        const broken = ai.streamText({ model, prompt, maxRetries: 0 });
        for await (const _ of broken.textStream) break;
        ai.streamText({ model, prompt, maxRetries: 0 });
        for (let i = 0; i < 50 && (await t.collect()).total(METRIC.requests) < 2; i++) await sleep(10);
      });
      expect(c.total(METRIC.requests, { [ATTR.outcome]: OUTCOME.success })).toBe(2);
      expect(c.histogram(METRIC.tokenUsage, { [ATTR.tokenType]: TOKEN_TYPE.output }).sum).toBe(6);
      expectSettled(c);
    });

    it('a connection dropped mid-stream: error, error.type TypeError (not the 200 the SDK error carries)', async () => {
      const c = await withMetrics(async (t) => {
        const ai = patchedAI(v, t.metrics);
        const result = ai.streamText({ model: openaiProvider(v, server.url, { chunks: 5, dropAfterChunks: 2 }).chat('gpt-4o'), prompt, maxRetries: 0, onError: () => {} });
        const texts: string[] = [];
        try {
          for await (const text of result.textStream) texts.push(text);
        } catch {
          // ai 4 rethrows the read error; later majors end the text stream.
        }
        expect(texts.join('')).toBe('tok1 tok2 ');
        for (let i = 0; i < 50 && (await t.collect()).total(METRIC.requests) < 1; i++) await sleep(10);
      });
      expect(c.sums(METRIC.requests).map((p) => [p.attributes[ATTR.outcome], p.attributes[ATTR.errorType], p.value])).toEqual([
        [OUTCOME.error, 'TypeError', 1],
      ]);
      expect(c.histogram(METRIC.timeToFirstChunk).count).toBe(1);
      expect(c.histogram(METRIC.timePerOutputChunk).count).toBe(1);
      expect(c.metric(METRIC.tokenUsage)).toBeUndefined();
      expectSettled(c);
    });

    it('a rejected call (HTTP 500): error.type 500, streamed or not, and the caller gets the SDK error', async () => {
      const c = await withMetrics(async (t) => {
        const ai = patchedAI(v, t.metrics);
        const model = openaiProvider(v, server.url, { status: 500 }).chat('gpt-4o');
        const error = await ai.generateText({ model, prompt, maxRetries: 0 }).catch((e: unknown) => e);
        expect(v.ai.APICallError.isInstance(error)).toBe(true);
        expect((error as { statusCode: number }).statusCode).toBe(500);
        const result = ai.streamText({ model, prompt, maxRetries: 0, onError: () => {} });
        await result.consumeStream?.({ onError: () => {} });
        for (let i = 0; i < 50 && (await t.collect()).total(METRIC.requests) < 2; i++) await sleep(10);
      });
      expect(c.total(METRIC.requests, { [ATTR.outcome]: OUTCOME.error, [ATTR.errorType]: '500', [ATTR.requestStream]: false })).toBe(1);
      expect(c.total(METRIC.requests, { [ATTR.outcome]: OUTCOME.error, [ATTR.errorType]: '500', [ATTR.requestStream]: true })).toBe(1);
      expectSettled(c);
    });

    it('generateObject and streamObject: one operation each', async () => {
      const c = await withMetrics(async (t) => {
        const ai = patchedAI(v, t.metrics);
        const model = openaiProvider(v, server.url, { chunks: 2 }).chat('gpt-4o');
        const schema = v.ai.jsonSchema({ type: 'object', properties: { text: { type: 'string' } } });
        const generated = await ai.generateObject({
          model,
          schema,
          prompt,
          maxRetries: 0,
          ...(v.major === 4 ? { mode: 'json' } : {}),
          // The sim answers text, not JSON: the SDK's own repair hook makes it an object.
          experimental_repairText: async ({ text }: { text: string }) => JSON.stringify({ text }),
        });
        expect(generated.object).toEqual({ text: 'tok1 tok2 ' });
        const streamed = ai.streamObject({ model, schema, prompt, maxRetries: 0, onError: () => {}, ...(v.major === 4 ? { mode: 'json' } : {}) });
        streamed.object.catch(() => {});
        for await (const _ of streamed.partialObjectStream);
      });
      expect(c.total(METRIC.requests, { [ATTR.outcome]: OUTCOME.success, [ATTR.requestStream]: false })).toBe(1);
      expect(c.total(METRIC.requests, { [ATTR.outcome]: OUTCOME.success, [ATTR.requestStream]: true })).toBe(1);
      expect(c.histogram(METRIC.timeToFirstChunk).count).toBe(1);
      expect(histogramSum(c, METRIC.tokenUsage, { [ATTR.tokenType]: TOKEN_TYPE.output })).toBe(4);
      expectSettled(c);
    });

    it('embed and embedMany: embeddings operations with the input tokens reported', async () => {
      const c = await withMetrics(async (t) => {
        const ai = patchedAI(v, t.metrics);
        const model = openaiProvider(v, server.url, { promptTokens: 5 }).embedding('text-embedding-3-small');
        const one = await ai.embed({ model, value: 'a', maxRetries: 0 });
        expect(one.embedding).toHaveLength(8);
        const many = await ai.embedMany({ model, values: ['a', 'b', 'c'], maxRetries: 0 });
        expect(many.embeddings).toHaveLength(3);
      });
      const match = { [ATTR.operationName]: 'embeddings', [ATTR.requestModel]: 'text-embedding-3-small', [ATTR.outcome]: OUTCOME.success };
      expect(c.total(METRIC.requests, match)).toBe(2);
      expect(c.histogram(METRIC.tokenUsage, { [ATTR.tokenType]: TOKEN_TYPE.input }).sum).toBe(10);
      expectSettled(c);
    });

    it('leaves the caller’s options and model untouched and returns what the SDK returns', async () => {
      await withMetrics(async (t) => {
        const ai = patchedAI(v, t.metrics);
        const model = openaiProvider(v, server.url, { chunks: 2 }).chat('gpt-4o');
        const options = { model, prompt, maxRetries: 0 };
        const keys = Object.keys(model);
        const plain = await v.ai.generateText({ ...options });
        const observed = await ai.generateText(options);
        expect(options.model).toBe(model);
        expect(Object.keys(options)).toEqual(['model', 'prompt', 'maxRetries']);
        expect(Object.keys(model)).toEqual(keys);
        expect(observed.text).toBe(plain.text);
        expect(observed.constructor).toBe(plain.constructor);
        const stream = ai.streamText(options);
        expect(stream.constructor).toBe(v.ai.streamText(options).constructor);
        await stream.consumeStream();
      });
    });

    it('the middleware records exactly what the patch records, and under the patch it steps aside', async () => {
      const viaMiddleware = await withMetrics(async (t) => {
        const model = v.ai.wrapLanguageModel({
          model: openaiProvider(v, server.url, { chunks: 3 }).chat('gpt-4o'),
          middleware: inferenceMiddleware({ metrics: t.metrics }),
        });
        await v.ai.generateText({ model, prompt, maxRetries: 0 });
        await v.ai.streamText({ model, prompt, maxRetries: 0 }).consumeStream();
      });
      const both = await withMetrics(async (t) => {
        // As under the preload: the app's wrapLanguageModel is the patched module's too.
        const ai = patchedAI(v, t.metrics);
        const model = ai.wrapLanguageModel({
          model: openaiProvider(v, server.url, { chunks: 3 }).chat('gpt-4o'),
          middleware: inferenceMiddleware({ metrics: t.metrics }),
        });
        await ai.generateText({ model, prompt, maxRetries: 0 });
        await ai.streamText({ model, prompt, maxRetries: 0 }).consumeStream();
      });
      for (const c of [viaMiddleware, both]) {
        expect(c.sums(METRIC.requests).map((p) => [p.attributes[ATTR.providerName], p.attributes[ATTR.requestStream], p.attributes[ATTR.serverPort], p.value])).toEqual([
          ['openai', false, port, 1],
          ['openai', true, port, 1],
        ]);
        expect(histogramSum(c, METRIC.tokenUsage, { [ATTR.tokenType]: TOKEN_TYPE.output })).toBe(6);
        expect(c.histogram(METRIC.timePerOutputChunk).count).toBe(2);
      }
    });

    it.runIf(v.major >= 6)('the embedding middleware (wrapEmbeddingModel) records each doEmbed once', async () => {
      const c = await withMetrics(async (t) => {
        const model = v.ai.wrapEmbeddingModel({
          model: openaiProvider(v, server.url, { promptTokens: 3 }).embedding('text-embedding-3-small'),
          middleware: inferenceEmbeddingMiddleware({ metrics: t.metrics }),
        });
        await v.ai.embed({ model, value: 'a', maxRetries: 0 });
        const ai = patchedAI(v, t.metrics);
        const both = ai.wrapEmbeddingModel({
          model: openaiProvider(v, server.url, { promptTokens: 3 }).embedding('text-embedding-3-small'),
          middleware: inferenceEmbeddingMiddleware({ metrics: t.metrics }),
        });
        await ai.embed({ model: both, value: 'a', maxRetries: 0 });
      });
      expect(c.sums(METRIC.requests).map((p) => [p.attributes[ATTR.operationName], p.attributes[ATTR.serverPort], p.value])).toEqual([['embeddings', port, 2]]);
      expect(c.histogram(METRIC.tokenUsage).sum).toBe(6);
    });
  });

  describe('timing (alone, so that no other test delays the sim’s chunks)', () => {
    it('streamText aborted mid-stream: cancelled', async () => {
      const c = await withMetrics(async (t) => {
        const ai = patchedAI(v, t.metrics);
        const controller = new AbortController();
        const result = ai.streamText({
          model: openaiProvider(v, server.url, { chunks: 6, chunkMs: 20 }).chat('gpt-4o'),
          prompt,
          maxRetries: 0,
          abortSignal: controller.signal,
          onError: () => {},
        });
        let n = 0;
        try {
          for await (const _ of result.textStream) if (++n === 2) controller.abort();
        } catch (error) {
          expect((error as Error).name).toBe('AbortError');
        }
        for (let i = 0; i < 50 && (await t.collect()).total(METRIC.requests) < 1; i++) await sleep(10);
      });
      expect(c.sums(METRIC.requests).map((p) => [p.attributes[ATTR.outcome], p.attributes[ATTR.errorType], p.value])).toEqual([
        [OUTCOME.cancelled, undefined, 1],
      ]);
      expectSettled(c);
    });

    it('streamText textStream: time to first chunk from the call, one gap per later output part, usage from the finish part', async () => {
      const TTFT_MS = 40;
      const CHUNK_MS = 10;
      let started = 0;
      let ended = 0;
      const received: number[] = [];
      const c = await withMetrics(async (t) => {
        const ai = patchedAI(v, t.metrics);
        started = performance.now();
        const result = ai.streamText({ model: openaiProvider(v, server.url, { chunks: 4, ttftMs: TTFT_MS, chunkMs: CHUNK_MS }).chat('gpt-4o'), prompt, maxRetries: 0 });
        const texts: string[] = [];
        for await (const text of result.textStream) {
          texts.push(text);
          received.push(performance.now());
        }
        await result.usage;
        await sleep(1);
        ended = performance.now();
        expect(texts.join('')).toBe('tok1 tok2 tok3 tok4 ');
      });
      const match = { [ATTR.requestStream]: true };
      expect(c.total(METRIC.requests, { ...match, [ATTR.outcome]: OUTCOME.success })).toBe(1);
      const ttfc = c.histogram(METRIC.timeToFirstChunk, match);
      expect(ttfc.count).toBe(1);
      expect(ttfc.sum).toBeGreaterThanOrEqual(TTFT_MS / 1000 - EARLY);
      const tpoc = c.histogram(METRIC.timePerOutputChunk, match);
      expect(tpoc.count).toBe(3);
      // The sim sends on a fixed schedule: a late first chunk shortens the first gap. What holds is
      // that the gaps span what the consumer saw between its first and last text (we see each part
      // a few microtasks before it does).
      expect(tpoc.sum * 1000).toBeGreaterThanOrEqual(received.at(-1)! - received[0]! - 5);
      const duration = c.histogram(METRIC.operationDuration, match).sum;
      expect(duration * 1000).toBeLessThanOrEqual(ended - started);
      expect(duration).toBeGreaterThanOrEqual(ttfc.sum + tpoc.sum);
      expect(c.histogram(METRIC.tokenUsage, { ...match, [ATTR.tokenType]: TOKEN_TYPE.input }).sum).toBe(7);
      expect(c.histogram(METRIC.tokenUsage, { ...match, [ATTR.tokenType]: TOKEN_TYPE.output }).sum).toBe(4);
      expect(c.histogram(METRIC.operationDuration, match).attributes[ATTR.responseModel]).toBe('gpt-4o');
      expectSettled(c);
    });

  });

  it.runIf(v.major >= 5)('a model given by id is resolved as the SDK resolves it (AI_SDK_DEFAULT_PROVIDER) and observed', async () => {
    const global = globalThis as { AI_SDK_DEFAULT_PROVIDER?: unknown };
    const c = await withMetrics(async (t) => {
      global.AI_SDK_DEFAULT_PROVIDER = openaiProvider(v, server.url, { chunks: 2 });
      try {
        const ai = patchedAI(v, t.metrics);
        const result = await ai.generateText({ model: 'gpt-4o-mini', prompt, maxRetries: 0 });
        expect(result.text).toBe('tok1 tok2 ');
      } finally {
        delete global.AI_SDK_DEFAULT_PROVIDER;
      }
    });
    expect(c.total(METRIC.requests, { [ATTR.requestModel]: 'gpt-4o-mini', [ATTR.providerName]: 'openai' })).toBe(1);
  });
});

/** A language model of spec v4 that streams the given parts: the odd paths no sim route produces. */
function partsModel(parts: unknown[], provider = 'anthropic.messages') {
  return {
    specificationVersion: 'v4',
    provider,
    modelId: 'claude-x',
    supportedUrls: {},
    doGenerate: async () => {
      throw new Error('not used');
    },
    doStream: async () => ({ stream: ReadableStream.from(parts) }),
  };
}

const v7 = AI_SDK_VERSIONS.find((x) => x.major === 7)!;
const finish = {
  type: 'finish',
  finishReason: { unified: 'stop', raw: 'end_turn' },
  usage: { inputTokens: { total: 100, noCache: 20, cacheRead: 70, cacheWrite: 10 }, outputTokens: { total: 9, text: 5, reasoning: 4 } },
};

describe.concurrent('stream parts (a spec-v4 model)', () => {
  it('reasoning, text, tool input and a whole tool call are output; framing, metadata and unknown parts are not, and all pass through', async () => {
    const parts = [
      { type: 'stream-start', warnings: [] },
      { type: 'response-metadata', modelId: 'claude-x-2026' },
      { type: 'reasoning-start', id: 'r' },
      { type: 'reasoning-delta', id: 'r', delta: 'hm' },
      { type: 'reasoning-delta', id: 'r', delta: '' },
      { type: 'reasoning-end', id: 'r' },
      { type: 'text-start', id: 't' },
      { type: 'text-delta', id: 't', delta: 'a' },
      { type: 'text-end', id: 't' },
      { type: 'tool-input-start', id: 'c1', toolName: 'lookup' },
      { type: 'tool-input-delta', id: 'c1', delta: '{}' },
      { type: 'tool-input-end', id: 'c1' },
      { type: 'tool-call', toolCallId: 'c1', toolName: 'lookup', input: '{}' },
      { type: 'tool-call', toolCallId: 'c2', toolName: 'lookup', input: '{}' },
      { type: 'something-new', payload: 1 },
      null,
      finish,
    ];
    const seen: unknown[] = [];
    const c = await withMetrics(async (t) => {
      const model = partsModel(parts);
      const stream: any = await observeStream(() => t.metrics, model, {}, () => model.doStream());
      for await (const part of stream.stream) seen.push(part);
    });
    expect(seen).toEqual(parts);
    expect(seen[3]).toBe(parts[3]);
    expect(c.histogram(METRIC.timeToFirstChunk).count).toBe(1);
    // reasoning, text, tool input, the whole tool call c2: 4 outputs, 3 gaps.
    expect(c.histogram(METRIC.timePerOutputChunk).count).toBe(3);
    expect(c.histogram(METRIC.tokenUsage, { [ATTR.tokenType]: TOKEN_TYPE.input }).sum).toBe(100);
    expect(c.total(METRIC.requests, { [ATTR.providerName]: 'anthropic', [ATTR.responseModel]: 'claude-x-2026', [ATTR.outcome]: OUTCOME.success })).toBe(1);
  });

  it('an error part (a provider’s in-stream error) fails the call with its error type', async () => {
    class OverloadedError extends Error {
      override name = 'OverloadedError';
    }
    const c = await withMetrics(async (t) => {
      const ai = patchedAI(v7, t.metrics);
      const model = partsModel([{ type: 'text-delta', id: 't', delta: 'a' }, { type: 'error', error: new OverloadedError('busy') }, finish]);
      const result = ai.streamText({ model, prompt, onError: () => {} });
      await result.consumeStream({ onError: () => {} });
      for (let i = 0; i < 50 && (await t.collect()).total(METRIC.requests) < 1; i++) await sleep(10);
    });
    expect(c.total(METRIC.requests, { [ATTR.outcome]: OUTCOME.error, [ATTR.errorType]: 'OverloadedError' })).toBe(1);
  });

  it('a model stream dropped unread (garbage-collected) is recorded as cancelled', async () => {
    const c = await withMetrics(async (t) => {
      const model = partsModel([{ type: 'text-delta', id: 't', delta: 'a' }, finish]);
      await observeStream(() => t.metrics, model, {}, () => model.doStream());
      await collectGarbage();
    });
    expect(c.total(METRIC.requests, { [ATTR.outcome]: OUTCOME.cancelled })).toBe(1);
    expectSettled(c);
  });

  it('a model that is not a model object, or a stream result of another shape, passes through', async () => {
    await withMetrics(async (t) => {
      const weird = { doStream: async () => ({ stream: 'not a stream' }) };
      expect(await observeStream(() => t.metrics, weird, {}, () => weird.doStream())).toEqual({ stream: 'not a stream' });
      expect(await observeStream(() => t.metrics, 'x', {}, () => Promise.resolve(3))).toBe(3);
    });
  });
});
