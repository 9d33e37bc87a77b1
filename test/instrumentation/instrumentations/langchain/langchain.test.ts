/**
 * The real ChatOpenAI (@langchain/openai) against the sim's OpenAI chat route, and LangChain's own
 * FakeListChatModel, on @langchain/core 1.x and 0.3: invoke, batch, stream, streamEvents, errors,
 * an abort, a broken-off stream, and the rule that a call the openai adapter records is not
 * recorded again.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ChatOpenAI as ChatOpenAIv1 } from '@langchain/openai';
import { FakeListChatModel as FakeListChatModelv1 } from '@langchain/core/utils/testing';
import * as chatModelsV1 from '@langchain/core/language_models/chat_models';
import * as llmsV1 from '@langchain/core/language_models/llms';
import * as contextV1 from '@langchain/core/context';
import OpenAIClientV1 from 'openai';
import * as v0 from '@otel-inference/fixture-langchain-v0';
import { startSimServer, type SimBehavior, type SimServer } from '../../../../sim/index.js';
import { InferenceCallbackHandler, instrumentLangChain, instrumentOpenAI } from '../../../../packages/instrumentation/src/index.js';
import { ATTR, METRIC } from '../../../../packages/instrumentation/src/semconv.js';
import { collectGarbage, createTestMetrics, sleep, type Collected, type TestMetrics } from '../../../helpers/metrics.js';

/** What the tests use of one LangChain version (the two majors' types differ in detail). */
interface ChatModel {
  invoke(input: string, options?: Record<string, unknown>): Promise<{ content: unknown }>;
  batch(inputs: string[], options?: Record<string, unknown>): Promise<{ content: unknown }[]>;
  stream(input: string, options?: Record<string, unknown>): Promise<AsyncIterable<{ content: unknown }>>;
  streamEvents(input: string, options: Record<string, unknown>): AsyncIterable<{ event: string }>;
}
interface Version {
  name: string;
  ChatOpenAI: new (fields: Record<string, unknown>) => ChatModel;
  FakeListChatModel: new (fields: Record<string, unknown>) => ChatModel;
  modules: { chatModels: unknown; llms: unknown; context: unknown };
  OpenAIClient: unknown;
  /** Whether its ChatOpenAI passes `delta.reasoning_content` chunks on (0.6 drops them). */
  reasoningChunks: boolean;
}
const VERSIONS: Version[] = [
  {
    name: '@langchain/core 1.x',
    ChatOpenAI: ChatOpenAIv1 as unknown as Version['ChatOpenAI'],
    FakeListChatModel: FakeListChatModelv1 as unknown as Version['FakeListChatModel'],
    modules: { chatModels: chatModelsV1, llms: llmsV1, context: contextV1 },
    OpenAIClient: OpenAIClientV1,
    reasoningChunks: true,
  },
  {
    name: '@langchain/core 0.3',
    ChatOpenAI: v0.ChatOpenAI as unknown as Version['ChatOpenAI'],
    FakeListChatModel: v0.FakeListChatModel as unknown as Version['FakeListChatModel'],
    modules: { chatModels: v0.chatModels, llms: v0.llms, context: v0.context },
    OpenAIClient: v0.OpenAIClient,
    reasoningChunks: false,
  },
];

const TTFT_MS = 40;
const CHUNK_MS = 15;
/** Timer and clock rounding, in seconds. */
const EARLY = 0.002;

let server: SimServer;
let t: TestMetrics;
const undo: (() => void)[] = [];

beforeAll(async () => {
  server = await startSimServer({ port: 0, chunks: 3, promptTokens: 9, recordRequests: false });
  // The first stream of a process loads and compiles the streaming path while its chunks wait
  // in the socket: its chunks then arrive at once. Timings are asserted on later streams.
  for (const version of VERSIONS) for await (const _ of await chat(version).stream('warm up'));
});
afterAll(async () => {
  await server.close();
});
beforeEach(() => {
  t = createTestMetrics();
});
afterEach(async () => {
  while (undo.length > 0) undo.pop()!();
  await t.shutdown();
});

function chat(version: Version, behavior: SimBehavior = {}, fields: Record<string, unknown> = {}): ChatModel {
  return new version.ChatOpenAI({
    model: 'gpt-x',
    apiKey: 'sk-test-not-a-secret',
    maxRetries: 0,
    configuration: { baseURL: server.url, defaultHeaders: { 'x-sim': JSON.stringify(behavior) } },
    ...fields,
  });
}

/**
 * What register does, by hand. Inside the test body: LangChain keeps its configure hook in the
 * AsyncLocalStorage context it was registered in.
 */
function instrument(version: Version): void {
  undo.push(instrumentLangChain(version.modules, { metrics: t.metrics }));
}

function operations(c: Collected): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of c.histograms(METRIC.operationDuration)) {
    const a = p.attributes;
    const key = `${a[ATTR.providerName]} ${a[ATTR.requestStream]} ${a[ATTR.outcome]}${a[ATTR.errorType] !== undefined ? ` ${a[ATTR.errorType]}` : ''}`;
    out[key] = (out[key] ?? 0) + p.count;
  }
  return out;
}

function tokens(c: Collected, match: Record<string, string | boolean> = {}): Record<string, number> {
  return Object.fromEntries(c.histograms(METRIC.tokenUsage, match).map((p) => [String(p.attributes[ATTR.tokenType]), p.sum]));
}

async function expectIdle(): Promise<void> {
  const c = await t.collect();
  expect(c.total(METRIC.activeRequests)).toBe(0);
}

describe.each(VERSIONS)('$name', (version) => {
  it('invoke: one chat operation, provider openai, model and server, reported tokens, no time to first chunk', async () => {
    instrument(version);
    const answer = await chat(version).invoke('hi');
    expect(answer.content).toBe('tok1 tok2 tok3 ');
    const c = await t.collect();
    expect(operations(c)).toEqual({ 'openai false success': 1 });
    const d = c.histogram(METRIC.operationDuration);
    expect(d.attributes).toMatchObject({
      [ATTR.operationName]: 'chat',
      [ATTR.requestModel]: 'gpt-x',
      [ATTR.responseModel]: 'gpt-x',
      [ATTR.serverAddress]: '127.0.0.1',
      [ATTR.serverPort]: server.port,
    });
    expect(tokens(c)).toEqual({ input: 9, output: 3 });
    expect(c.histograms(METRIC.timeToFirstChunk)).toEqual([]);
    expect(c.total(METRIC.activeRequests)).toBe(0);
  });

  it('the usage counters: cache read and reasoning tokens from usage_metadata, streamed or not', async () => {
    instrument(version);
    const behavior = { cacheReadTokens: 4, reasoningChunks: 2 };
    await chat(version, behavior).invoke('hi');
    for await (const _ of await chat(version, behavior).stream('hi'));
    const c = await t.collect();
    expect(operations(c)).toEqual({ 'openai false success': 1, 'openai true success': 1 });
    for (const stream of [false, true]) {
      const match = { [ATTR.requestStream]: stream };
      expect(c.total(METRIC.usageInputTokens, match)).toBe(9);
      expect(c.total(METRIC.usageOutputTokens, match)).toBe(5);
      expect(c.total(METRIC.usageCacheReadInputTokens, match)).toBe(4);
      expect(c.total(METRIC.usageReasoningOutputTokens, match)).toBe(2);
    }
    // Reasoning chunks carry output: 2 reasoning + 3 content chunks, 4 gaps, where ChatOpenAI passes them on.
    expect(c.histogram(METRIC.timePerOutputChunk).count).toBe(version.reasoningChunks ? 4 : 2);
  });

  it('batch: one operation per input', async () => {
    instrument(version);
    const answers = await chat(version).batch(['a', 'b', 'c']);
    expect(answers).toHaveLength(3);
    const c = await t.collect();
    expect(operations(c)).toEqual({ 'openai false success': 3 });
    expect(tokens(c)).toEqual({ input: 27, output: 9 });
  });

  it('stream: time to first chunk from the call, one gap per later output chunk, usage from the stream', async () => {
    instrument(version);
    const chunks: unknown[] = [];
    for await (const chunk of await chat(version, { ttftMs: TTFT_MS, chunkMs: CHUNK_MS }).stream('hi')) chunks.push(chunk.content);
    expect(chunks.join('')).toBe('tok1 tok2 tok3 ');
    const c = await t.collect();
    expect(operations(c)).toEqual({ 'openai true success': 1 });
    const ttft = c.histogram(METRIC.timeToFirstChunk);
    expect(ttft.count).toBe(1);
    expect(ttft.sum).toBeGreaterThanOrEqual(TTFT_MS / 1000 - EARLY);
    const gaps = c.histogram(METRIC.timePerOutputChunk);
    expect(gaps.count).toBe(2);
    // A stalled client reads chunks the server spaced out all at once, so no single gap has a lower
    // bound; the last output chunk, though, cannot come before the server sent it.
    expect(ttft.sum + gaps.sum).toBeGreaterThanOrEqual((TTFT_MS + 2 * CHUNK_MS) / 1000 - EARLY);
    expect(tokens(c)).toEqual({ input: 9, output: 3 });
    expect(c.histogram(METRIC.outputTokenRate).count).toBe(1);
    expect(c.total(METRIC.activeRequests)).toBe(0);
  });

  it('streamEvents: one streamed operation', async () => {
    instrument(version);
    let events = 0;
    for await (const event of chat(version, { chunkMs: 5 }).streamEvents('hi', { version: 'v2' })) {
      if (event.event === 'on_chat_model_stream') events++;
    }
    expect(events).toBeGreaterThanOrEqual(3);
    const c = await t.collect();
    expect(operations(c)).toEqual({ 'openai true success': 1 });
    expect(c.histogram(METRIC.timePerOutputChunk).count).toBe(2);
    expect(tokens(c)).toEqual({ input: 9, output: 3 });
  });

  it('a 500: error, error.type 500, the same error to the caller', async () => {
    instrument(version);
    const error = await chat(version, { status: 500 })
      .invoke('hi')
      .catch((e: unknown) => e);
    expect((error as { status?: number }).status).toBe(500);
    const c = await t.collect();
    expect(operations(c)).toEqual({ 'openai false error 500': 1 });
    expect(c.total(METRIC.activeRequests)).toBe(0);
  });

  it('a stream whose connection drops mid-way: error', async () => {
    instrument(version);
    const seen: unknown[] = [];
    const error = await (async () => {
      for await (const chunk of await chat(version, { dropAfterChunks: 1, chunkMs: 5 }).stream('hi')) seen.push(chunk.content);
    })().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    const c = await t.collect();
    const ops = operations(c);
    expect(Object.keys(ops)).toHaveLength(1);
    expect(Object.keys(ops)[0]).toMatch(/^openai true error \S+$/);
    expect(c.histogram(METRIC.timeToFirstChunk).count).toBe(1);
    expect(c.total(METRIC.activeRequests)).toBe(0);
  });

  it('an abort (AbortSignal) mid-stream: cancelled', async () => {
    instrument(version);
    const controller = new AbortController();
    const error = await (async () => {
      for await (const chunk of await chat(version, { chunkMs: 30 }).stream('hi', { signal: controller.signal })) {
        if (chunk.content !== '') controller.abort();
      }
    })().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    const c = await t.collect();
    expect(operations(c)).toEqual({ 'openai true cancelled': 1 });
    expect(c.total(METRIC.activeRequests)).toBe(0);
  });

  it('a stream broken off (break): cancelled at once, though LangChain calls no callback for it', async () => {
    instrument(version);
    for await (const chunk of await chat(version, { chunkMs: 20, chunks: 5 }).stream('hi')) {
      if (chunk.content !== '') break;
    }
    const c = await t.collect();
    expect(operations(c)).toEqual({ 'openai true cancelled': 1 });
    expect(c.total(METRIC.activeRequests)).toBe(0);
  });

  it('a stream dropped unfinished: cancelled when it is garbage-collected', async () => {
    instrument(version);
    await (async () => {
      const iterator = (await chat(version, { chunkMs: 10 }).stream('hi'))[Symbol.asyncIterator]();
      await iterator.next();
    })();
    await sleep(100); // the rest of the stream arrives, unread
    await collectGarbage();
    const c = await t.collect();
    expect(operations(c)).toEqual({ 'openai true cancelled': 1 });
    expect(c.total(METRIC.activeRequests)).toBe(0);
  });

  it('with the openai adapter on, ChatOpenAI calls are the adapter’s alone', async () => {
    undo.push(instrumentOpenAI(version.OpenAIClient, { metrics: t.metrics }));
    instrument(version);
    await chat(version).invoke('hi');
    for await (const _ of await chat(version).stream('hi'));
    const c = await t.collect();
    // The adapter names the sim on 127.0.0.1 an OpenAI-compatible server; no `openai` record from the handler.
    expect(operations(c)).toEqual({ 'openai_compatible false success': 1, 'openai_compatible true success': 1 });
  });

  it('another kind of model (FakeListChatModel): invoke and a broken-off stream, through the same handler', async () => {
    instrument(version);
    const fake = new version.FakeListChatModel({ responses: ['one two', 'three four'] });
    expect((await fake.invoke('hi')).content).toBe('one two');
    for await (const chunk of await fake.stream('hi')) {
      expect(chunk.content).toBe('t');
      break;
    }
    const c = await t.collect();
    expect(operations(c)).toEqual({ 'FakeListChatModel false success': 1, 'FakeListChatModel true cancelled': 1 });
    expect(c.histogram(METRIC.operationDuration, { [ATTR.requestStream]: false }).attributes[ATTR.operationName]).toBe('chat');
    expect(tokens(c)).toEqual({}); // it reports no usage: none is recorded
    expect(c.total(METRIC.activeRequests)).toBe(0);
  });

  it('the handler alone (no instrumentLangChain): invoke recorded; a broken-off stream ends as cancelled after abandonAfterMs', async () => {
    const handler = new InferenceCallbackHandler({ metrics: t.metrics, abandonAfterMs: 60 });
    const fake = new version.FakeListChatModel({ responses: ['one two'], callbacks: [handler] });
    await fake.invoke('hi');
    for await (const _ of await fake.stream('hi')) break;
    let c = await t.collect();
    expect(operations(c)).toEqual({ 'FakeListChatModel false success': 1 });
    expect(c.total(METRIC.activeRequests)).toBe(1);
    await sleep(150);
    c = await t.collect();
    // LangChain does not say that `.stream()` streams; without the instrumentation the run is not marked as a stream.
    expect(operations(c)).toEqual({ 'FakeListChatModel false success': 1, 'FakeListChatModel false cancelled': 1 });
    expect(handler.activeRuns).toBe(0);
    await expectIdle();
  });
});
