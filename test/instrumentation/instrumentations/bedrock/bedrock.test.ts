/**
 * instrumentBedrock with the real @aws-sdk/client-bedrock-runtime (3.587.0 and the latest 3.x)
 * against the sim's Bedrock wire protocol: every command recorded once, with values.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startSimServer, type SimServer } from '../../../../sim/index.js';
import { instrumentBedrock } from '../../../../packages/instrumentation/src/index.js';
import { ATTR, METRIC } from '../../../../packages/instrumentation/src/semconv.js';
import { ANTHROPIC_BODY, BEDROCK_VERSIONS, MESSAGES, MODEL, simClient } from '../../../helpers/bedrock.js';
import { collectGarbage, createTestMetrics, drain, sleep, type Collected, type TestMetrics } from '../../../helpers/metrics.js';

/** The `gen_ai.client.inference.usage.*` counters, summed over every series. */
function usageCounters(c: Collected) {
  return {
    input: c.total(METRIC.usageInputTokens),
    output: c.total(METRIC.usageOutputTokens),
    cacheRead: c.total(METRIC.usageCacheReadInputTokens),
    cacheWrite: c.total(METRIC.usageCacheWriteInputTokens),
    reasoning: c.total(METRIC.usageReasoningOutputTokens),
  };
}

let sim: SimServer;
let t: TestMetrics;
let uninstall: (() => void) | undefined;

beforeAll(async () => {
  sim = await startSimServer();
});
afterAll(async () => {
  await sim.close();
});
beforeEach(() => {
  t = createTestMetrics();
});
afterEach(async () => {
  uninstall?.();
  uninstall = undefined;
  await t.shutdown();
});

const TTFT_MS = 40;
const CHUNK_MS = 15;
const EARLY = 0.002;

describe.each(BEDROCK_VERSIONS)('%s', (_name, mod) => {
  const instrument = () => {
    uninstall = instrumentBedrock(mod, { metrics: t.metrics });
  };
  const tokens = async (type: 'input' | 'output', match: Record<string, unknown> = {}) =>
    (await t.collect()).histograms(METRIC.tokenUsage, { [ATTR.tokenType]: type, ...match });

  it('Converse: once, chat, the modelId as request model, usage with the cache tokens in input', async () => {
    instrument();
    const client = simClient(mod, sim.url, { behavior: { chunks: 3, promptTokens: 10, cacheReadTokens: 4, cacheWriteTokens: 2 } });
    const out = await client.send(new mod.ConverseCommand({ modelId: MODEL, messages: MESSAGES }));
    expect(out.usage?.inputTokens).toBe(4);
    const c = await t.collect();
    const [point] = c.sums(METRIC.requests);
    expect(point?.value).toBe(1);
    expect(point?.attributes).toMatchObject({
      [ATTR.providerName]: 'aws.bedrock',
      [ATTR.operationName]: 'chat',
      [ATTR.requestModel]: MODEL,
      [ATTR.requestStream]: false,
      [ATTR.outcome]: 'success',
    });
    expect(point?.attributes[ATTR.responseModel]).toBeUndefined();
    expect(c.histogram(METRIC.tokenUsage, { [ATTR.tokenType]: 'input' }).sum).toBe(10);
    expect(c.histogram(METRIC.tokenUsage, { [ATTR.tokenType]: 'output' }).sum).toBe(3);
    expect(usageCounters(c)).toEqual({ input: 10, output: 3, cacheRead: 4, cacheWrite: 2, reasoning: 0 });
    expect(c.histograms(METRIC.timeToFirstChunk)).toEqual([]);
    expect(c.total(METRIC.activeRequests)).toBe(0);
  });

  it('server.address/port: the endpoint the client resolved, from its second call on', async () => {
    instrument();
    const client = simClient(mod, sim.url);
    await client.send(new mod.ConverseCommand({ modelId: MODEL, messages: MESSAGES }));
    await client.send(new mod.ConverseCommand({ modelId: MODEL, messages: MESSAGES }));
    const points = (await t.collect()).sums(METRIC.requests);
    expect(points.map((p) => [p.attributes[ATTR.serverAddress], p.attributes[ATTR.serverPort], p.value])).toEqual([
      [undefined, undefined, 1],
      ['127.0.0.1', sim.port, 1],
    ]);
  });

  it('the aggregated BedrockRuntime client: converse() recorded once, through send', async () => {
    instrument();
    const client = simClient(mod, sim.url, { aggregated: true, behavior: { chunks: 2 } });
    const out = await (client as unknown as InstanceType<typeof mod.BedrockRuntime>).converse({ modelId: MODEL, messages: MESSAGES });
    expect(out.output?.message?.content?.[0]?.text).toBe('tok1 tok2 ');
    const c = await t.collect();
    expect(c.total(METRIC.requests)).toBe(1);
    expect(c.histogram(METRIC.tokenUsage, { [ATTR.tokenType]: 'output' }).sum).toBe(2);
  });

  it('the callback form of send: recorded, the callback gets what the SDK gives', async () => {
    instrument();
    const client = simClient(mod, sim.url, { behavior: { chunks: 2 } });
    const out = await new Promise<unknown>((resolve, reject) => {
      client.send(new mod.ConverseCommand({ modelId: MODEL, messages: MESSAGES }), (err: unknown, data?: unknown) =>
        err ? reject(err as Error) : resolve(data),
      );
    });
    expect(out).toMatchObject({ usage: { outputTokens: 2 } });
    client.setBehavior({ status: 429 });
    const error = await new Promise<unknown>((resolve) => {
      client.send(new mod.ConverseCommand({ modelId: MODEL, messages: MESSAGES }), {}, (err: unknown) => resolve(err));
    });
    expect(error).toBeInstanceOf(mod.ThrottlingException);
    const c = await t.collect();
    expect(c.total(METRIC.requests, { [ATTR.outcome]: 'success' })).toBe(1);
    expect(c.total(METRIC.requests, { [ATTR.outcome]: 'error', [ATTR.errorType]: '429' })).toBe(1);
  });

  // 3.587.0 has no command but the four.
  it.skipIf(typeof mod.GetAsyncInvokeCommand !== 'function')('other commands pass through untouched and unrecorded', async () => {
    instrument();
    const client = simClient(mod, sim.url);
    const error = await client.send(new mod.GetAsyncInvokeCommand({ invocationArn: 'arn:aws:bedrock:x' })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect((await t.collect()).total(METRIC.requests)).toBe(0);
  });

  it('service exceptions: error.type is the HTTP status; the same error object reaches the caller', async () => {
    instrument();
    const client = simClient(mod, sim.url, { behavior: { status: 400 } });
    const seen = await client.send(new mod.ConverseCommand({ modelId: MODEL, messages: MESSAGES })).catch((e: unknown) => e);
    expect(seen).toBeInstanceOf(mod.ValidationException);
    client.setBehavior({ status: 429 });
    await client.send(new mod.InvokeModelCommand({ modelId: MODEL, body: ANTHROPIC_BODY })).catch(() => undefined);
    client.setBehavior({ status: 503 });
    await client.send(new mod.ConverseStreamCommand({ modelId: MODEL, messages: MESSAGES })).catch(() => undefined);
    const c = await t.collect();
    expect(c.total(METRIC.requests, { [ATTR.errorType]: '400', [ATTR.operationName]: 'chat' })).toBe(1);
    expect(c.total(METRIC.requests, { [ATTR.errorType]: '429' })).toBe(1);
    expect(c.total(METRIC.requests, { [ATTR.errorType]: '503', [ATTR.requestStream]: true })).toBe(1);
    expect(c.total(METRIC.activeRequests)).toBe(0);
    expect(c.histograms(METRIC.tokenUsage)).toEqual([]);
  });

  it('an abortSignal aborted before the answer: cancelled', async () => {
    instrument();
    const client = simClient(mod, sim.url, { behavior: { ttftMs: 2000 } });
    const controller = new AbortController();
    const pending = client.send(new mod.ConverseCommand({ modelId: MODEL, messages: MESSAGES }), { abortSignal: controller.signal });
    setTimeout(() => controller.abort(), 20);
    await expect(pending).rejects.toThrow();
    const c = await t.collect();
    expect(c.total(METRIC.requests, { [ATTR.outcome]: 'cancelled' })).toBe(1);
    expect(c.total(METRIC.activeRequests)).toBe(0);
  });

  describe('ConverseStream', () => {
    it('TTFT to the first delta (reasoning included), one gap per later delta, usage from metadata', async () => {
      instrument();
      const client = simClient(mod, sim.url, {
        behavior: { ttftMs: TTFT_MS, chunkMs: CHUNK_MS, chunks: 3, reasoningChunks: 1, promptTokens: 9, cacheReadTokens: 5 },
      });
      const out = await client.send(new mod.ConverseStreamCommand({ modelId: MODEL, messages: MESSAGES }));
      const stream = out.stream!;
      const events = await drain(stream);
      expect(out.stream).toBe(stream);
      expect(events).toHaveLength(10);
      const c = await t.collect();
      expect(c.total(METRIC.requests, { [ATTR.outcome]: 'success', [ATTR.requestStream]: true })).toBe(1);
      const ttft = c.histogram(METRIC.timeToFirstChunk);
      expect(ttft.sum).toBeGreaterThanOrEqual(TTFT_MS / 1000 - EARLY);
      expect(ttft.sum).toBeLessThan(TTFT_MS / 1000 + 0.5);
      const gaps = c.histogram(METRIC.timePerOutputChunk);
      expect(gaps.count).toBe(3);
      expect(c.histogram(METRIC.tokenUsage, { [ATTR.tokenType]: 'input' }).sum).toBe(9);
      expect(c.histogram(METRIC.tokenUsage, { [ATTR.tokenType]: 'output' }).sum).toBe(4);
      // Reasoning is part of outputTokens; Bedrock does not report it apart, so its counter adds 0.
      expect(usageCounters(c)).toEqual({ input: 9, output: 4, cacheRead: 5, cacheWrite: 0, reasoning: 0 });
      expect(c.total(METRIC.activeRequests)).toBe(0);
    });

    it('tool use: the tool start and its input deltas are output', async () => {
      instrument();
      const client = simClient(mod, sim.url, { behavior: { chunks: 3, toolCall: true } });
      const out = await client.send(new mod.ConverseStreamCommand({ modelId: MODEL, messages: MESSAGES }));
      await drain(out.stream!);
      // contentBlockStart (toolUse) + 3 toolUse deltas: 4 output chunks, 3 gaps.
      expect((await t.collect()).histogram(METRIC.timePerOutputChunk).count).toBe(3);
    });

    it('noUsage: no token record, the request still counted', async () => {
      instrument();
      const client = simClient(mod, sim.url, { behavior: { chunks: 2, noUsage: true } });
      await drain((await client.send(new mod.ConverseStreamCommand({ modelId: MODEL, messages: MESSAGES }))).stream!);
      const c = await t.collect();
      expect(c.total(METRIC.requests, { [ATTR.outcome]: 'success' })).toBe(1);
      expect(c.histograms(METRIC.tokenUsage)).toEqual([]);
      expect(usageCounters(c)).toEqual({ input: 0, output: 0, cacheRead: 0, cacheWrite: 0, reasoning: 0 });
    });

    it('an exception event mid-stream: error.type is the exception name; the caller gets the same error', async () => {
      instrument();
      const client = simClient(mod, sim.url, { behavior: { chunks: 3, errorAfterChunks: 1 } });
      const out = await client.send(new mod.ConverseStreamCommand({ modelId: MODEL, messages: MESSAGES }));
      const error = await drain(out.stream!).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(mod.ModelStreamErrorException);
      const c = await t.collect();
      expect(c.total(METRIC.requests, { [ATTR.outcome]: 'error', [ATTR.errorType]: 'ModelStreamErrorException' })).toBe(1);
      expect(c.histogram(METRIC.timeToFirstChunk).count).toBe(1);
      expect(c.total(METRIC.activeRequests)).toBe(0);
    });

    it('a connection dropped mid-stream: error', async () => {
      instrument();
      const client = simClient(mod, sim.url, { behavior: { chunks: 3, dropAfterChunks: 1 } });
      const out = await client.send(new mod.ConverseStreamCommand({ modelId: MODEL, messages: MESSAGES }));
      await drain(out.stream!).catch(() => undefined);
      const c = await t.collect();
      expect(c.total(METRIC.requests, { [ATTR.outcome]: 'error' })).toBe(1);
      expect(c.total(METRIC.activeRequests)).toBe(0);
    });

    it('broken off with break: cancelled', async () => {
      instrument();
      const client = simClient(mod, sim.url, { behavior: { chunks: 5, chunkMs: CHUNK_MS } });
      const out = await client.send(new mod.ConverseStreamCommand({ modelId: MODEL, messages: MESSAGES }));
      for await (const event of out.stream!) if (event.contentBlockDelta !== undefined) break;
      const c = await t.collect();
      expect(c.total(METRIC.requests, { [ATTR.outcome]: 'cancelled' })).toBe(1);
      expect(c.total(METRIC.activeRequests)).toBe(0);
    });

    it('aborted mid-stream through the abortSignal: cancelled', async () => {
      instrument();
      const client = simClient(mod, sim.url, { behavior: { chunks: 5, chunkMs: 100 } });
      const controller = new AbortController();
      const out = await client.send(new mod.ConverseStreamCommand({ modelId: MODEL, messages: MESSAGES }), {
        abortSignal: controller.signal,
      });
      const error = await (async () => {
        for await (const event of out.stream!) if (event.contentBlockDelta !== undefined) controller.abort();
      })().catch((e: unknown) => e);
      const c = await t.collect();
      expect(c.total(METRIC.requests, { [ATTR.outcome]: 'cancelled' }), String(error)).toBe(1);
      expect(c.total(METRIC.activeRequests)).toBe(0);
    });

    it('never iterated: cancelled once garbage-collected', async () => {
      instrument();
      const client = simClient(mod, sim.url, { behavior: { chunks: 3, ttftMs: 2000 } });
      await (async () => {
        await client.send(new mod.ConverseStreamCommand({ modelId: MODEL, messages: MESSAGES }));
      })();
      expect((await t.collect()).total(METRIC.activeRequests)).toBe(1);
      await collectGarbage();
      const c = await t.collect();
      expect(c.total(METRIC.requests, { [ATTR.outcome]: 'cancelled' })).toBe(1);
      expect(c.total(METRIC.activeRequests)).toBe(0);
    });
  });

  describe('InvokeModel', () => {
    it('Anthropic Messages body: chat, usage read from a copy, the body still readable by the caller', async () => {
      instrument();
      const client = simClient(mod, sim.url, { behavior: { chunks: 2, promptTokens: 8, cacheWriteTokens: 5 } });
      const out = await client.send(new mod.InvokeModelCommand({ modelId: MODEL, body: ANTHROPIC_BODY }));
      expect(JSON.parse(out.body.transformToString())).toMatchObject({ usage: { input_tokens: 3, output_tokens: 2 } });
      expect(JSON.parse(new TextDecoder().decode(out.body))).toMatchObject({ type: 'message' });
      const c = await t.collect();
      expect(c.total(METRIC.requests, { [ATTR.operationName]: 'chat', [ATTR.requestStream]: false })).toBe(1);
      expect(c.histogram(METRIC.tokenUsage, { [ATTR.tokenType]: 'input' }).sum).toBe(8);
      expect(c.histogram(METRIC.tokenUsage, { [ATTR.tokenType]: 'output' }).sum).toBe(2);
      expect(usageCounters(c)).toEqual({ input: 8, output: 2, cacheRead: 0, cacheWrite: 5, reasoning: 0 });
    });

    it('operation from the body: prompt → text_completion, an embed model → embeddings', async () => {
      instrument();
      const client = simClient(mod, sim.url, { behavior: { noUsage: true } });
      const prompt = new TextEncoder().encode(JSON.stringify({ prompt: 'hi', max_gen_len: 8 }));
      await client.send(new mod.InvokeModelCommand({ modelId: 'meta.llama3-8b-instruct-v1:0', body: prompt }));
      await client.send(new mod.InvokeModelCommand({ modelId: 'amazon.titan-embed-text-v2:0', body: JSON.stringify({ inputText: 'hi' }) }));
      const c = await t.collect();
      expect(c.total(METRIC.requests, { [ATTR.operationName]: 'text_completion', [ATTR.requestModel]: 'meta.llama3-8b-instruct-v1:0' })).toBe(1);
      expect(c.total(METRIC.requests, { [ATTR.operationName]: 'embeddings' })).toBe(1);
      expect(c.histograms(METRIC.tokenUsage)).toEqual([]);
    });
  });

  describe('InvokeModelWithResponseStream', () => {
    it('content_block_delta chunks are output; usage from the invocation metrics of the last chunk', async () => {
      instrument();
      const client = simClient(mod, sim.url, {
        behavior: { ttftMs: TTFT_MS, chunkMs: CHUNK_MS, chunks: 3, reasoningChunks: 1, promptTokens: 12, cacheReadTokens: 4 },
      });
      const out = await client.send(new mod.InvokeModelWithResponseStreamCommand({ modelId: MODEL, body: ANTHROPIC_BODY }));
      const chunks = await drain(out.body!);
      expect(chunks.every((c) => c.chunk?.bytes instanceof Uint8Array)).toBe(true);
      const c = await t.collect();
      expect(c.total(METRIC.requests, { [ATTR.outcome]: 'success', [ATTR.requestStream]: true, [ATTR.operationName]: 'chat' })).toBe(1);
      expect(c.histogram(METRIC.timeToFirstChunk).sum).toBeGreaterThanOrEqual(TTFT_MS / 1000 - EARLY);
      expect(c.histogram(METRIC.timePerOutputChunk).count).toBe(3);
      expect(c.histogram(METRIC.tokenUsage, { [ATTR.tokenType]: 'input' }).sum).toBe(12);
      expect(c.histogram(METRIC.tokenUsage, { [ATTR.tokenType]: 'output' }).sum).toBe(4);
      expect(usageCounters(c)).toEqual({ input: 12, output: 4, cacheRead: 4, cacheWrite: 0, reasoning: 0 });
    });

    it('an exception event mid-stream, and a stream broken off', async () => {
      instrument();
      const client = simClient(mod, sim.url, { behavior: { chunks: 3, errorAfterChunks: 2 } });
      const out = await client.send(new mod.InvokeModelWithResponseStreamCommand({ modelId: MODEL, body: ANTHROPIC_BODY }));
      await expect(drain(out.body!)).rejects.toBeInstanceOf(mod.ModelStreamErrorException);
      client.setBehavior({ chunks: 3, chunkMs: CHUNK_MS });
      const second = await client.send(new mod.InvokeModelWithResponseStreamCommand({ modelId: MODEL, body: ANTHROPIC_BODY }));
      for await (const _chunk of second.body!) break;
      const c = await t.collect();
      expect(c.total(METRIC.requests, { [ATTR.errorType]: 'ModelStreamErrorException' })).toBe(1);
      expect(c.total(METRIC.requests, { [ATTR.outcome]: 'cancelled' })).toBe(1);
      expect(c.total(METRIC.activeRequests)).toBe(0);
    });
  });

  it('uninstall restores send: later calls are not recorded, and no own send is left behind', async () => {
    instrument();
    expect(Object.prototype.hasOwnProperty.call(mod.BedrockRuntimeClient.prototype, 'send')).toBe(true);
    uninstall!();
    uninstall = undefined;
    expect(Object.prototype.hasOwnProperty.call(mod.BedrockRuntimeClient.prototype, 'send')).toBe(false);
    const client = simClient(mod, sim.url);
    await client.send(new mod.ConverseCommand({ modelId: MODEL, messages: MESSAGES }));
    await sleep(1);
    expect((await t.collect()).total(METRIC.requests)).toBe(0);
  });
});
