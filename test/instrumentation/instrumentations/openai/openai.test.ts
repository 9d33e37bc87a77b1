import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { diag, DiagLogLevel } from '@opentelemetry/api';
import OpenAI from 'openai';
import { startSimServer, type SimServer } from '../../../../sim/index.js';
import { instrumentOpenAI } from '../../../../packages/instrumentation/src/index.js';
import { ATTR, METRIC } from '../../../../packages/instrumentation/src/semconv.js';
import { client, OPENAI_VERSIONS, sim } from '../../../helpers/openai.js';
import {
  captureDiag,
  collectGarbage,
  createTestMetrics,
  drain,
  drainTimed,
  sleep,
  type TestMetrics,
} from '../../../helpers/metrics.js';

let server: SimServer;
let t: TestMetrics;
let uninstall: (() => void) | undefined;
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
  uninstall?.();
  uninstall = undefined;
  while (uninstalls.length > 0) uninstalls.pop()!();
  await t.shutdown();
});

const TTFT_MS = 120;
const CHUNK_MS = 40;
/** How early a timing may look next to the delay the server was given (clock and timer rounding), in seconds. */
const EARLY = 0.002;

/**
 * Usage a server may report, as raw JSON text: `input` and `output` are what is recorded from
 * it (undefined: nothing), `said` how the debug line names a value that is not a count.
 */
interface ReportedUsage {
  name: string;
  prompt: string;
  completion: string;
  input?: number;
  output?: number;
  said?: string;
}
const SERVER_USAGE: readonly ReportedUsage[] = [
  { name: 'control: real counts', prompt: '7', completion: '12', input: 7, output: 12 },
  { name: 'completion_tokens 1e308 next to a real prompt_tokens', prompt: '7', completion: '1e308', input: 7, said: 'the number 1e+308' },
  { name: '1e308', prompt: '1e308', completion: '1e308', said: 'the number 1e+308' },
  { name: '1e400 (JSON.parse gives Infinity)', prompt: '1e400', completion: '1e400', said: 'the number Infinity' },
  { name: '-1e400', prompt: '-1e400', completion: '-1e400', said: 'the number -Infinity' },
  { name: '-1', prompt: '-1', completion: '-1', said: 'the number -1' },
  { name: '1.5', prompt: '1.5', completion: '1.5', said: 'the number 1.5' },
  { name: '2^53', prompt: '9007199254740992', completion: '9007199254740992', said: 'the number 9007199254740992' },
  { name: 'the string "12"', prompt: '"12"', completion: '"12"', said: 'a string' },
  { name: 'true', prompt: 'true', completion: 'true', said: 'a boolean' },
  { name: 'an object', prompt: '{"n":12}', completion: '{"n":12}', said: 'an object' },
  { name: 'an array', prompt: '[12]', completion: '[12]', said: 'an object' },
  { name: 'null', prompt: 'null', completion: 'null' },
];

/** The debug lines a row's usage should give. */
function linesFor(row: ReportedUsage): string[] {
  if (row.said === undefined) return [];
  const fields = row.input === undefined ? ['prompt_tokens', 'completion_tokens'] : ['completion_tokens'];
  return fields.map((field) => `otel-inference: usage.${field} not recorded: ${row.said} is not a non-negative safe integer`);
}

/** Content the chunks carry, which no log line may show. */
const CONTENT = 'CONTENT-NOT-FOR-LOGS';

/**
 * A `fetch` for the openai client answering like an OpenAI server, with the usage of the row
 * named by the request's model written into the body as raw JSON text. Streams make their
 * events 5 ms apart.
 */
function craftedFetch(rows: readonly ReportedUsage[]) {
  return async (_url: unknown, init?: { body?: unknown }): Promise<Response> => {
    const body = JSON.parse(String(init?.body)) as { model: string; stream?: boolean };
    const row = rows[Number(body.model.replace('row-', ''))]!;
    const usage = `{"prompt_tokens":${row.prompt},"completion_tokens":${row.completion},"total_tokens":${row.completion}}`;
    const head = `"id":"chatcmpl-1","created":0,"model":"${body.model}"`;
    if (body.stream !== true) {
      const message = `{"role":"assistant","content":"${CONTENT}"}`;
      return new Response(
        `{${head},"object":"chat.completion","choices":[{"index":0,"message":${message},"finish_reason":"stop"}],"usage":${usage}}`,
        { headers: { 'content-type': 'application/json' } },
      );
    }
    const chunk = (choices: string, extra = '') => `{${head},"object":"chat.completion.chunk","choices":${choices}${extra}}`;
    const delta = (d: string, finish = 'null') => `[{"index":0,"delta":${d},"finish_reason":${finish}}]`;
    const events = [
      chunk(delta('{"role":"assistant","content":""}')),
      ...[1, 2, 3].map((i) => chunk(delta(`{"content":"${CONTENT} ${i}"}`))),
      chunk(delta('{}', '"stop"')),
      chunk('[]', `,"usage":${usage}`),
      '[DONE]',
    ];
    const encoder = new TextEncoder();
    let next = 0;
    const sse = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (next === events.length) return controller.close();
        if (next > 0) await sleep(5);
        controller.enqueue(encoder.encode(`data: ${events[next++]}\n\n`));
      },
    });
    return new Response(sse, { headers: { 'content-type': 'text/event-stream' } });
  };
}

function serverAttrs() {
  return { [ATTR.serverAddress]: '127.0.0.1', [ATTR.serverPort]: server.port };
}

describe.each(OPENAI_VERSIONS)('%s', (_name, OpenAI) => {
  beforeEach(() => {
    uninstall = instrumentOpenAI(OpenAI, { metrics: t.metrics, streamUsage: 'always' });
  });

  it('records a non-streaming chat call and returns the client APIPromise', async () => {
    const openai = client(OpenAI, server.url);
    const promise = openai.chat.completions.create(
      { model: 'llama', messages: [{ role: 'user', content: 'secret prompt' }] },
      sim({ ttftMs: 60, chunks: 6, promptTokens: 9 }),
    );
    expect(promise.constructor.name).toBe('APIPromise');
    const completion = await promise;
    expect(completion.choices[0]!.message.content).toContain('tok');
    const c = await t.collect();
    const attrs = {
      [ATTR.operationName]: 'chat',
      [ATTR.providerName]: 'openai_compatible',
      [ATTR.requestModel]: 'llama',
      [ATTR.responseModel]: 'llama',
      [ATTR.requestStream]: false,
      ...serverAttrs(),
    };
    const duration = c.histogram(METRIC.operationDuration);
    expect(duration.attributes).toEqual({ ...attrs, [ATTR.outcome]: 'success' });
    expect(duration.sum).toBeGreaterThanOrEqual(0.058);
    expect(c.histogram(METRIC.tokenUsage, { [ATTR.tokenType]: 'input' }).sum).toBe(9);
    expect(c.histogram(METRIC.tokenUsage, { [ATTR.tokenType]: 'output' }).sum).toBe(6);
    expect(c.histogram(METRIC.outputTokenRate).sum).toBeCloseTo(6 / duration.sum, 6);
    expect(c.total(METRIC.activeRequests)).toBe(0);
    expect(JSON.stringify(c.metrics)).not.toContain('secret prompt');
  });

  it('times a stream: TTFT and per-chunk gaps match the server delays; usage via include_usage', async () => {
    const openai = client(OpenAI, server.url);
    const before = performance.now();
    const stream = await openai.chat.completions.create(
      { model: 'llama', messages: [{ role: 'user', content: 'hi' }], stream: true },
      sim({ ttftMs: TTFT_MS, chunkMs: CHUNK_MS, chunks: 6, promptTokens: 4 }),
    );
    const timed = await drainTimed(stream);
    const chunks = timed.map(({ chunk }) => chunk);
    // Role chunk + 6 content + finish; the injected usage chunk is withheld.
    expect(chunks).toHaveLength(8);
    expect(chunks.every((chunk) => !('usage' in chunk))).toBe(true);
    expect(chunks.map((chunk) => chunk.choices[0]?.delta.content)).toEqual(['', ...[1, 2, 3, 4, 5, 6].map((i) => `tok${i} `), undefined]);
    expect(server.requests.at(-1)!.body.stream_options).toEqual({ include_usage: true });
    const first = timed[1]!;
    const last = timed[6]!;

    // Lower bounds: the server's delays, counted from when it got the request, after ours
    // started. Upper bounds: what the consumer itself saw in the same run (each output is
    // stamped between the consumer asking for its chunk and getting it), so a loaded machine
    // slows both sides alike.
    const c = await t.collect();
    const ttfc = c.histogram(METRIC.timeToFirstChunk);
    expect(ttfc.attributes[ATTR.requestStream]).toBe(true);
    expect(ttfc.sum).toBeGreaterThanOrEqual(TTFT_MS / 1000 - EARLY);
    expect(ttfc.sum * 1000).toBeLessThanOrEqual(first.receivedAt - before);
    const tpoc = c.histogram(METRIC.timePerOutputChunk);
    expect(tpoc.count).toBe(5);
    // First to last content chunk.
    expect(tpoc.sum * 1000).toBeGreaterThanOrEqual(last.requestedAt - first.receivedAt);
    expect(tpoc.sum * 1000).toBeLessThanOrEqual(last.receivedAt - first.requestedAt);
    // The last content chunk was due TTFT + 5 gaps after the server got the request.
    expect(ttfc.sum + tpoc.sum).toBeGreaterThanOrEqual((TTFT_MS + 5 * CHUNK_MS) / 1000 - EARLY);
    expect(c.histogram(METRIC.tokenUsage, { [ATTR.tokenType]: 'output' }).sum).toBe(6);
    expect(c.histogram(METRIC.tokenUsage, { [ATTR.tokenType]: 'input' }).sum).toBe(4);
    // Decode rate: 5 tokens over the 5 gaps (~25 tokens/s unloaded).
    expect(c.histogram(METRIC.outputTokenRate).sum).toBeCloseTo(5 / tpoc.sum, 6);
    expect(c.total(METRIC.requests, { [ATTR.outcome]: 'success' })).toBe(1);
    expect(c.total(METRIC.activeRequests)).toBe(0);
  });

  it('gives the consumer exactly the chunks it gets uninstrumented', async () => {
    const openai = client(OpenAI, server.url);
    const behaviour = sim({ chunks: 4, emptyChoicesChunk: true });
    const body = { model: 'llama', messages: [{ role: 'user' as const, content: 'hi' }], stream: true as const };
    const normalize = (chunks: unknown[]) => JSON.parse(JSON.stringify(chunks).replace(/"(id|created)":("[^"]*"|\d+)/g, '"$1":0'));
    const instrumented = normalize(await drain(await openai.chat.completions.create(body, behaviour)));
    uninstall!();
    const plain = normalize(await drain(await openai.chat.completions.create(body, behaviour)));
    expect(instrumented).toEqual(plain);
    // The framing chunks (choices [] and no choices) reached the consumer but are not output.
    expect(plain.filter((chunk: { choices?: unknown[] }) => !chunk.choices?.length)).toHaveLength(2);
    const c = await t.collect();
    expect(c.histogram(METRIC.timePerOutputChunk).count).toBe(3);
  });

  it('records a mid-stream connection drop as an error and passes the error through', async () => {
    const openai = client(OpenAI, server.url);
    const stream = await openai.chat.completions.create(
      { model: 'llama', messages: [{ role: 'user', content: 'hi' }], stream: true },
      sim({ chunks: 10, chunkMs: 5, dropAfterChunks: 3 }),
    );
    const seen: unknown[] = [];
    let thrown: unknown;
    try {
      for await (const chunk of stream) seen.push(chunk);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(Error);
    const c = await t.collect();
    const errors = c.sums(METRIC.requests, { [ATTR.outcome]: 'error' });
    expect(errors).toHaveLength(1);
    expect(errors[0]!.attributes[ATTR.errorType]).toBe((thrown as Error).constructor.name);
    expect(c.histogram(METRIC.timePerOutputChunk).count).toBe(2);
    expect(c.total(METRIC.activeRequests)).toBe(0);
  });

  it('records 429 as error.type=429 and the client error passes through', async () => {
    const openai = client(OpenAI, server.url);
    const error = await openai.chat.completions
      .create({ model: 'llama', messages: [{ role: 'user', content: 'hi' }] }, sim({ status: 429, retryAfterMs: 1 }))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    const c = await t.collect();
    expect(c.total(METRIC.requests, { [ATTR.outcome]: 'error', [ATTR.errorType]: '429' })).toBe(1);
    expect(c.histogram(METRIC.operationDuration, { [ATTR.errorType]: '429' }).count).toBe(1);
    expect(c.total(METRIC.activeRequests)).toBe(0);
  });

  it('counts a call the client retried once, with the retries in its duration', async () => {
    const openai = client(OpenAI, server.url, { maxRetries: 2 });
    const key = `retry-${Math.random()}`;
    const before = server.requests.length;
    await openai.chat.completions.create(
      { model: 'llama', messages: [{ role: 'user', content: 'hi' }] },
      sim({ status: 500, failTimes: 1, retryAfterMs: 80 }, { headers: { 'x-sim': JSON.stringify({ status: 500, failTimes: 1, retryAfterMs: 80 }), 'x-sim-key': key } }),
    );
    expect(server.requests.length - before).toBe(2);
    const c = await t.collect();
    expect(c.total(METRIC.requests)).toBe(1);
    expect(c.total(METRIC.requests, { [ATTR.outcome]: 'success' })).toBe(1);
    expect(c.histogram(METRIC.operationDuration).sum).toBeGreaterThanOrEqual(0.078);
  });

  it('records cancelled when the consumer breaks out of for await', async () => {
    const openai = client(OpenAI, server.url);
    const stream = await openai.chat.completions.create(
      { model: 'llama', messages: [{ role: 'user', content: 'hi' }], stream: true },
      sim({ chunks: 50, chunkMs: 5 }),
    );
    let n = 0;
    for await (const _ of stream) if (++n === 4) break;
    const c = await t.collect();
    expect(c.total(METRIC.requests)).toBe(1);
    expect(c.total(METRIC.requests, { [ATTR.outcome]: 'cancelled' })).toBe(1);
    expect(c.metric(METRIC.tokenUsage)).toBeUndefined();
    expect(c.total(METRIC.activeRequests)).toBe(0);
  });

  it('records cancelled when stream.controller.abort() ends the stream', async () => {
    const openai = client(OpenAI, server.url);
    const stream = await openai.chat.completions.create(
      { model: 'llama', messages: [{ role: 'user', content: 'hi' }], stream: true },
      sim({ chunks: 50, chunkMs: 5 }),
    );
    let n = 0;
    const seen = [];
    for await (const chunk of stream) {
      seen.push(chunk);
      if (++n === 3) stream.controller.abort();
    }
    expect(seen.length).toBeGreaterThanOrEqual(3);
    const c = await t.collect();
    expect(c.total(METRIC.requests, { [ATTR.outcome]: 'cancelled' })).toBe(1);
    expect(c.total(METRIC.activeRequests)).toBe(0);
  });

  it('records cancelled when the request signal aborts before the response', async () => {
    const openai = client(OpenAI, server.url);
    const controller = new AbortController();
    const pending = openai.chat.completions.create(
      { model: 'llama', messages: [{ role: 'user', content: 'hi' }] },
      sim({ headerDelayMs: 500 }, { signal: controller.signal }),
    );
    setTimeout(() => controller.abort(), 30);
    const error = await pending.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.APIUserAbortError);
    const c = await t.collect();
    expect(c.total(METRIC.requests, { [ATTR.outcome]: 'cancelled' })).toBe(1);
    expect(c.total(METRIC.activeRequests)).toBe(0);
  });

  it('leaves a second iteration to the client, which rejects it as uninstrumented', async () => {
    const openai = client(OpenAI, server.url);
    const stream = await openai.chat.completions.create(
      { model: 'llama', messages: [{ role: 'user', content: 'hi' }], stream: true },
      sim({ chunks: 3 }),
    );
    await drain(stream);
    await expect(drain(stream)).rejects.toThrow(/Cannot iterate over a consumed stream/);
    const c = await t.collect();
    expect(c.total(METRIC.requests)).toBe(1);
    expect(c.total(METRIC.requests, { [ATTR.outcome]: 'success' })).toBe(1);
    expect(c.total(METRIC.activeRequests)).toBe(0);
  });

  it('records the Responses API event stream', async () => {
    const openai = client(OpenAI, server.url);
    const stream = await openai.responses.create(
      { model: 'llama', input: 'hi', stream: true },
      sim({ ttftMs: 50, chunkMs: 10, chunks: 4, promptTokens: 3 }),
    );
    const events = await drain(stream);
    expect(events.filter((e) => e.type === 'response.output_text.delta')).toHaveLength(4);
    expect(server.requests.at(-1)!.body).not.toHaveProperty('stream_options');
    const c = await t.collect();
    expect(c.histogram(METRIC.timeToFirstChunk).sum).toBeGreaterThanOrEqual(0.048);
    expect(c.histogram(METRIC.timePerOutputChunk).count).toBe(3);
    expect(c.histogram(METRIC.tokenUsage, { [ATTR.tokenType]: 'output' }).sum).toBe(4);
    expect(c.histogram(METRIC.tokenUsage, { [ATTR.tokenType]: 'input' }).sum).toBe(3);
    expect(c.total(METRIC.requests, { [ATTR.operationName]: 'chat', [ATTR.outcome]: 'success' })).toBe(1);
  });

  it.each([
    ['a response', false],
    ['a stream', true],
  ])('records only token counts from usage the server reports in %s; the rest of the request always', async (_mode, stream) => {
    const openai = client(OpenAI, 'http://crafted.invalid/v1', { fetch: craftedFetch(SERVER_USAGE) });
    const diagnostics = captureDiag();
    try {
      for (const [i, row] of SERVER_USAGE.entries()) {
        const params = { model: `row-${i}`, messages: [{ role: 'user' as const, content: 'hi' }] };
        if (stream) {
          const chunks = await drain(await openai.chat.completions.create({ ...params, stream: true }));
          // The usage chunk the instrumentation asked for is withheld; the content is untouched.
          expect(chunks.map((chunk) => chunk.choices[0]?.delta.content), row.name).toEqual(['', `${CONTENT} 1`, `${CONTENT} 2`, `${CONTENT} 3`, undefined]);
        } else {
          const completion = await openai.chat.completions.create(params);
          expect(completion.choices[0]!.message.content, row.name).toBe(CONTENT);
        }
      }
      await sleep(0);
      const c = await t.collect();
      for (const [i, row] of SERVER_USAGE.entries()) {
        const model = { [ATTR.requestModel]: `row-${i}` };
        const tokens = (type: string) => c.histograms(METRIC.tokenUsage, { ...model, [ATTR.tokenType]: type }).map((p) => p.sum);
        expect(tokens('input'), row.name).toEqual(row.input === undefined ? [] : [row.input]);
        expect(tokens('output'), row.name).toEqual(row.output === undefined ? [] : [row.output]);
        const rates = c.histograms(METRIC.outputTokenRate, model);
        if (row.output === undefined) {
          expect(rates, row.name).toEqual([]);
        } else {
          expect(rates, row.name).toHaveLength(1);
          const rate = rates[0]!.sum;
          expect(Number.isFinite(rate) && rate > 0, row.name).toBe(true);
          // Streams: (12 − 1) tokens over the 2 gaps; responses: 12 tokens over the duration.
          const over = stream ? c.histogram(METRIC.timePerOutputChunk, model).sum : c.histogram(METRIC.operationDuration, model).sum;
          expect(rate, row.name).toBeCloseTo((stream ? row.output - 1 : row.output) / over, 6);
        }
        // The rest of the request is recorded whatever the usage.
        expect(c.total(METRIC.requests, { ...model, [ATTR.outcome]: 'success' }), row.name).toBe(1);
        expect(c.histogram(METRIC.operationDuration, model).count, row.name).toBe(1);
        if (stream) {
          expect(c.histogram(METRIC.timeToFirstChunk, model).count, row.name).toBe(1);
          expect(c.histogram(METRIC.timePerOutputChunk, model).count, row.name).toBe(2);
        }
      }
      expect(c.total(METRIC.requests)).toBe(SERVER_USAGE.length);
      expect(c.total(METRIC.activeRequests)).toBe(0);
      expect(diagnostics.ours('debug')).toEqual(SERVER_USAGE.flatMap(linesFor));
      const everything = Object.values(diagnostics.lines).flat();
      expect(everything.filter((line) => line.includes(CONTENT))).toEqual([]);
      expect(diagnostics.lines.warn).toEqual([]);
      expect(diagnostics.lines.error).toEqual([]);
    } finally {
      diagnostics.stop();
    }
  });

  it('records embeddings with input tokens only', async () => {
    const openai = client(OpenAI, server.url);
    const result = await openai.embeddings.create({ model: 'bge', input: ['a', 'b'] }, sim({ promptTokens: 6 }));
    expect(result.data).toHaveLength(2);
    const c = await t.collect();
    expect(c.histogram(METRIC.tokenUsage, { [ATTR.operationName]: 'embeddings', [ATTR.tokenType]: 'input' }).sum).toBe(6);
    expect(c.histograms(METRIC.tokenUsage, { [ATTR.tokenType]: 'output' })).toHaveLength(0);
    expect(c.metric(METRIC.outputTokenRate)).toBeUndefined();
  });
});

describe('openai v6 features', () => {
  beforeEach(() => {
    uninstall = instrumentOpenAI(OpenAI, { metrics: t.metrics, streamUsage: 'always' });
  });

  function chat(stream: true): { model: string; messages: Array<{ role: 'user'; content: string }>; stream: true };
  function chat(stream: false): { model: string; messages: Array<{ role: 'user'; content: string }>; stream: false };
  function chat(stream: boolean) {
    return { model: 'llama', messages: [{ role: 'user' as const, content: 'hi' }], stream };
  }

  it('.withResponse() gives data and the raw response', async () => {
    const openai = client(OpenAI, server.url);
    const { data, response } = await openai.chat.completions.create(chat(false), sim({ chunks: 2 })).withResponse();
    expect(data.usage?.completion_tokens).toBe(2);
    expect(response.status).toBe(200);
    const c = await t.collect();
    expect(c.histogram(METRIC.tokenUsage, { [ATTR.tokenType]: 'output' }).sum).toBe(2);
  });

  it('.asResponse() leaves the body unread for the caller and ends the call at the headers', async () => {
    const openai = client(OpenAI, server.url);
    const response = await openai.chat.completions.create(chat(false), sim({ chunks: 2 })).asResponse();
    const body = (await response.json()) as { usage: { completion_tokens: number } };
    expect(body.usage.completion_tokens).toBe(2);
    await sleep(5);
    const c = await t.collect();
    expect(c.total(METRIC.requests, { [ATTR.outcome]: 'success' })).toBe(1);
    expect(c.metric(METRIC.tokenUsage)).toBeUndefined();
    expect(c.total(METRIC.activeRequests)).toBe(0);
  });

  it('a call nobody awaits still ends, at the response headers', async () => {
    const openai = client(OpenAI, server.url);
    void openai.chat.completions.create(chat(false), sim({ chunks: 2 }));
    await sleep(100);
    const c = await t.collect();
    expect(c.total(METRIC.requests, { [ATTR.outcome]: 'success' })).toBe(1);
    expect(c.total(METRIC.activeRequests)).toBe(0);
  });

  it('stream.tee(): both branches see every chunk, the request is recorded once', async () => {
    const openai = client(OpenAI, server.url);
    const stream = await openai.chat.completions.create(chat(true), sim({ chunks: 5, chunkMs: 5 }));
    const [left, right] = stream.tee();
    const [a, b] = await Promise.all([drain(left), drain(right)]);
    expect(a).toHaveLength(7);
    expect(b).toEqual(a);
    const c = await t.collect();
    expect(c.total(METRIC.requests)).toBe(1);
    expect(c.total(METRIC.requests, { [ATTR.outcome]: 'success' })).toBe(1);
    expect(c.histogram(METRIC.timePerOutputChunk).count).toBe(4);
    expect(c.histogram(METRIC.tokenUsage, { [ATTR.tokenType]: 'output' }).sum).toBe(5);
  });

  it('stream.toReadableStream(): the bytes carry the same chunks and the request is recorded', async () => {
    const openai = client(OpenAI, server.url);
    const stream = await openai.chat.completions.create(chat(true), sim({ chunks: 3 }));
    const text = await new Response(stream.toReadableStream()).text();
    const lines = text.trim().split('\n').map((line) => JSON.parse(line) as { choices: unknown[]; usage?: unknown });
    expect(lines).toHaveLength(5);
    expect(lines.some((line) => 'usage' in line)).toBe(false);
    const c = await t.collect();
    expect(c.histogram(METRIC.timePerOutputChunk).count).toBe(2);
    expect(c.total(METRIC.requests, { [ATTR.outcome]: 'success' })).toBe(1);
  });

  it('a stream that is never iterated is recorded as cancelled once garbage-collected', async () => {
    const openai = client(OpenAI, server.url);
    await (async () => {
      await openai.chat.completions.create(chat(true), sim({ chunks: 3, ttftMs: 2000 }));
    })();
    expect((await t.collect()).total(METRIC.activeRequests)).toBe(1);
    await collectGarbage();
    const c = await t.collect();
    expect(c.total(METRIC.requests, { [ATTR.outcome]: 'cancelled' })).toBe(1);
    expect(c.total(METRIC.activeRequests)).toBe(0);
  });

  it('a never-iterated stream that is collected later lasts until its response headers, not the collection', async () => {
    const HEADER_MS = 150;
    const openai = client(OpenAI, server.url);
    let before = 0;
    let headersSeen = 0;
    await (async () => {
      before = performance.now();
      await openai.chat.completions.create(chat(true), sim({ chunks: 3, headerDelayMs: HEADER_MS, ttftMs: 5000 }));
      // The caller has the Stream once the headers are in: after the instrumentation saw them.
      headersSeen = performance.now();
    })();
    await sleep(100);
    await collectGarbage();
    const collectedAt = performance.now();
    const c = await t.collect();
    expect(c.total(METRIC.requests)).toBe(1);
    const duration = c.histogram(METRIC.operationDuration, { [ATTR.outcome]: 'cancelled' });
    expect(duration.count).toBe(1);
    expect(duration.sum).toBeGreaterThanOrEqual(HEADER_MS / 1000 - EARLY);
    expect(duration.sum * 1000).toBeLessThanOrEqual(headersSeen - before);
    // The collection came 100 ms and more later: a duration up to it would be that much longer.
    expect(collectedAt - headersSeen).toBeGreaterThanOrEqual(100);
    expect(c.metric(METRIC.timeToFirstChunk)).toBeUndefined();
    expect(c.total(METRIC.activeRequests)).toBe(0);
  });

  it('does not touch stream_options the caller set, and reports the usage it asked for', async () => {
    const openai = client(OpenAI, server.url);
    const body = { ...chat(true), stream_options: { include_usage: true } };
    const chunks = await drain(await openai.chat.completions.create(body, sim({ chunks: 3 })));
    expect(body.stream_options).toEqual({ include_usage: true });
    expect(chunks.at(-1)!.choices).toEqual([]);
    expect(chunks.at(-1)!.usage?.completion_tokens).toBe(3);
    const c = await t.collect();
    expect(c.histogram(METRIC.tokenUsage, { [ATTR.tokenType]: 'output' }).sum).toBe(3);
  });

  it('counts tool-call, refusal and reasoning chunks as output', async () => {
    const openai = client(OpenAI, server.url);
    await drain(await openai.chat.completions.create(chat(true), sim({ chunks: 3, toolCall: true })));
    await drain(await openai.chat.completions.create(chat(true), sim({ chunks: 3, refusal: true })));
    await drain(await openai.chat.completions.create(chat(true), sim({ chunks: 3, reasoningChunks: 2 })));
    const c = await t.collect();
    expect(c.histogram(METRIC.timeToFirstChunk).count).toBe(3);
    expect(c.histogram(METRIC.timePerOutputChunk).sum).toBeGreaterThan(0);
    expect(c.histogram(METRIC.timePerOutputChunk).count).toBe(2 + 2 + 4);
  });

  it('records a legacy completions stream as text_completion', async () => {
    const openai = client(OpenAI, server.url);
    const chunks = await drain(await openai.completions.create({ model: 'llama', prompt: 'hi', stream: true }, sim({ chunks: 3 })));
    expect(chunks.every((chunk) => !('usage' in chunk))).toBe(true);
    const c = await t.collect();
    const attrs = { [ATTR.operationName]: 'text_completion' };
    expect(c.histogram(METRIC.timePerOutputChunk, attrs).count).toBe(2);
    expect(c.histogram(METRIC.tokenUsage, { ...attrs, [ATTR.tokenType]: 'output' }).sum).toBe(3);
  });

  it('a server that refuses stream_options: the call is resent without it, the caller never sees the 400', async () => {
    const warnings: string[] = [];
    diag.setLogger({ error() {}, warn: (m: string) => warnings.push(m), info() {}, debug() {}, verbose() {} }, DiagLogLevel.WARN);
    try {
      const refusing = await startSimServer({ port: 0, rejectStreamOptions: true, chunks: 3 });
      try {
        const openai = client(OpenAI, refusing.url);
        const first = await drain(await openai.chat.completions.create(chat(true)));
        const second = await drain(await openai.chat.completions.create(chat(true)));
        expect(first).toHaveLength(5);
        expect(second).toHaveLength(5);
        expect(refusing.requests.map((r) => r.body.stream_options)).toEqual([{ include_usage: true }, undefined, undefined]);
        expect(warnings).toHaveLength(1);
      } finally {
        await refusing.close();
      }
      const c = await t.collect();
      expect(c.total(METRIC.requests, { [ATTR.outcome]: 'success' })).toBe(2);
      expect(c.total(METRIC.requests)).toBe(2);
      expect(c.metric(METRIC.tokenUsage)).toBeUndefined();
    } finally {
      diag.disable();
    }
  });
});

describe('openai instrumentation setup', () => {
  it('asks only known hosts for stream usage by default, and never invents counts', async () => {
    uninstall = instrumentOpenAI(OpenAI, { metrics: t.metrics });
    const openai = client(OpenAI, server.url);
    const chunks = await drain(
      await openai.chat.completions.create({ model: 'llama', messages: [], stream: true }, sim({ chunks: 3 })),
    );
    expect(chunks).toHaveLength(5);
    expect(server.requests.at(-1)!.body).not.toHaveProperty('stream_options');
    const c = await t.collect();
    expect(c.metric(METRIC.tokenUsage)).toBeUndefined();
    expect(c.metric(METRIC.outputTokenRate)).toBeUndefined();
    expect(c.histogram(METRIC.timePerOutputChunk).count).toBe(2);
  });

  it('asks hosts in streamUsageHosts, and names the provider as configured', async () => {
    uninstall = instrumentOpenAI(OpenAI, {
      metrics: t.metrics,
      providerName: 'vllm',
      streamUsageHosts: [`127.0.0.1:${server.port}`],
    });
    const openai = client(OpenAI, server.url);
    await drain(await openai.chat.completions.create({ model: 'llama', messages: [], stream: true }, sim({ chunks: 3 })));
    expect(server.requests.at(-1)!.body.stream_options).toEqual({ include_usage: true });
    const c = await t.collect();
    expect(c.histogram(METRIC.tokenUsage, { [ATTR.providerName]: 'vllm', [ATTR.tokenType]: 'output' }).sum).toBe(3);
  });

  it('names api.openai.com "openai" and Azure hosts "azure.ai.openai" without sending anything', async () => {
    uninstall = instrumentOpenAI(OpenAI, { metrics: t.metrics });
    const bad = async (baseURL: string) => {
      const openai = client(OpenAI, baseURL, { fetch: async () => new Response('{"error":{"message":"no"}}', { status: 401 }) });
      await openai.chat.completions.create({ model: 'gpt-4o', messages: [] }).catch(() => {});
    };
    await bad('https://api.openai.com/v1');
    await bad('https://my-res.openai.azure.com/openai');
    const c = await t.collect();
    expect(c.total(METRIC.requests, { [ATTR.providerName]: 'openai', [ATTR.serverPort]: 443, [ATTR.errorType]: '401' })).toBe(1);
    expect(c.total(METRIC.requests, { [ATTR.providerName]: 'azure.ai.openai', [ATTR.serverAddress]: 'my-res.openai.azure.com' })).toBe(1);
  });

  it('patches the ESM and CJS builds separately, each once however often it is called', async () => {
    const { createRequire } = await import('node:module');
    const cjsModule = createRequire(import.meta.url)('openai') as { OpenAI: typeof OpenAI };
    const cjs = cjsModule.OpenAI;
    const esm = (await import('openai')).default;
    expect(cjs).not.toBe(esm);
    expect(cjs.Chat.Completions.prototype).not.toBe(esm.Chat.Completions.prototype);
    uninstalls.push(instrumentOpenAI(esm, { metrics: t.metrics }));
    uninstalls.push(instrumentOpenAI(await import('openai'), { metrics: t.metrics }));
    uninstalls.push(instrumentOpenAI(cjsModule, { metrics: t.metrics }));
    uninstalls.push(instrumentOpenAI(cjsModule, { metrics: t.metrics }));
    for (const OpenAI of [esm, cjs]) {
      await client(OpenAI, server.url).chat.completions.create({ model: 'llama', messages: [] });
    }
    // A client instance works as a target too.
    uninstalls.push(instrumentOpenAI(client(cjs, server.url), { metrics: t.metrics }));
    await client(cjs, server.url).embeddings.create({ model: 'bge', input: 'x' });
    const c = await t.collect();
    expect(c.total(METRIC.requests, { [ATTR.operationName]: 'chat' })).toBe(2);
    expect(c.total(METRIC.requests, { [ATTR.operationName]: 'embeddings' })).toBe(1);
  });

  it('removes itself with the returned function', async () => {
    const create = OpenAI.Chat.Completions.prototype.create;
    const remove = instrumentOpenAI(OpenAI, { metrics: t.metrics });
    expect(OpenAI.Chat.Completions.prototype.create).not.toBe(create);
    remove();
    expect(OpenAI.Chat.Completions.prototype.create).toBe(create);
  });

  it('passes odd targets and odd calls through untouched', async () => {
    expect(() => instrumentOpenAI(undefined)).not.toThrow();
    expect(() => instrumentOpenAI({ chat: 42 })).not.toThrow();
    uninstall = instrumentOpenAI(OpenAI, { metrics: t.metrics });
    const openai = client(OpenAI, server.url);
    // No body at all: the client fails exactly as it does uninstrumented (v4-v6 throw at once,
    // v7 rejects).
    const call = () => (openai.chat.completions.create as (b?: unknown) => unknown)(undefined);
    const settle = async (): Promise<{ sync: boolean; error: unknown }> => {
      let pending: unknown;
      try {
        pending = call();
      } catch (error) {
        return { sync: true, error };
      }
      try {
        await pending;
        return { sync: false, error: undefined };
      } catch (error) {
        return { sync: false, error };
      }
    };
    const instrumented = await settle();
    uninstall();
    uninstall = undefined;
    const plain = await settle();
    expect(instrumented.error).toBeInstanceOf(TypeError);
    expect(instrumented.sync).toBe(plain.sync);
    expect((instrumented.error as Error).message).toBe((plain.error as Error).message);
    expect((await t.collect()).total(METRIC.requests)).toBe(0);
  });
});
