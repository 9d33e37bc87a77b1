/**
 * The simulated OpenAI-compatible server (sim/): its wire protocol as the openai clients see it,
 * the x-sim behaviours, and profiles.
 */
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import OpenAIv4 from 'openai-v4';
import OpenAIv5 from 'openai-v5';
import { startSimServer, type SimBehavior, type SimModel, type SimProfile, type SimServer } from '../../sim/index.js';

let server: SimServer;

beforeAll(async () => {
  server = await startSimServer({ port: 0, host: '127.0.0.1' });
});

afterAll(async () => {
  await server.close();
});

const sim = (behavior: SimBehavior, key?: string) => ({
  headers: { 'x-sim': JSON.stringify(behavior), ...(key ? { 'x-sim-key': key } : {}) },
});

function v6(opts: { maxRetries?: number } = {}) {
  return new OpenAI({ baseURL: server.url, apiKey: 'sk-test', ...opts });
}

// The three major versions differ in their types; the cross-version tests only use the shared surface.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyClient = any;
const VERSIONS: Array<[string, (opts?: { maxRetries?: number }) => AnyClient]> = [
  ['v4', (opts = {}) => new OpenAIv4({ baseURL: server.url, apiKey: 'sk-test', ...opts })],
  ['v5', (opts = {}) => new OpenAIv5({ baseURL: server.url, apiKey: 'sk-test', ...opts })],
  ['v6', (opts = {}) => new OpenAI({ baseURL: server.url, apiKey: 'sk-test', ...opts })],
];

const CHAT_BODY = { model: 'sim-model', messages: [{ role: 'user' as const, content: 'hi' }] };

async function collect<T>(stream: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const chunk of stream) out.push(chunk);
  return out;
}

function lastRequest() {
  const r = server.requests[server.requests.length - 1];
  if (!r) throw new Error('no request recorded');
  return r;
}

describe.each(VERSIONS)('chat completions streaming with openai %s', (_name, makeClient) => {
  it('sends role chunk, content chunks and a finish chunk, with no usage key without include_usage', async () => {
    const client = makeClient();
    const stream = await client.chat.completions.create({ ...CHAT_BODY, stream: true }, sim({ chunks: 4 }));
    const chunks: AnyClient[] = await collect(stream);
    expect(chunks).toHaveLength(6);
    expect(chunks[0].choices[0].delta).toEqual({ role: 'assistant', content: '' });
    expect(chunks.slice(1, 5).map((c) => c.choices[0].delta.content)).toEqual(['tok1 ', 'tok2 ', 'tok3 ', 'tok4 ']);
    expect(chunks[5].choices[0]).toEqual({ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' });
    for (const c of chunks) {
      expect(c.object).toBe('chat.completion.chunk');
      expect(c.model).toBe('sim-model');
      expect('usage' in c).toBe(false);
    }
    expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
  });

  it('with include_usage: usage null on every chunk, then a choices:[] usage chunk', async () => {
    const client = makeClient();
    const stream = await client.chat.completions.create(
      { ...CHAT_BODY, stream: true, stream_options: { include_usage: true } },
      sim({ chunks: 3, tokensPerChunk: 2, promptTokens: 11 }),
    );
    const chunks: AnyClient[] = await collect(stream);
    expect(chunks).toHaveLength(1 + 3 + 1 + 1);
    expect(chunks.slice(1, 4).map((c) => c.choices[0].delta.content)).toEqual(['tok1 tok2 ', 'tok3 tok4 ', 'tok5 tok6 ']);
    for (const c of chunks.slice(0, -1)) {
      expect(c.usage).toBeNull();
      expect(c.choices).toHaveLength(1);
    }
    const last = chunks[chunks.length - 1];
    expect(last.choices).toEqual([]);
    expect(last.usage).toMatchObject({ prompt_tokens: 11, completion_tokens: 6, total_tokens: 17 });
  });

  it('dropAfterChunks makes the for-await throw after exactly that many content chunks', async () => {
    const client = makeClient({ maxRetries: 0 });
    const stream = await client.chat.completions.create({ ...CHAT_BODY, stream: true }, sim({ chunks: 5, dropAfterChunks: 2, chunkMs: 5 }));
    const contents: string[] = [];
    let error: unknown;
    try {
      for await (const c of stream) {
        const content = c.choices[0]?.delta?.content;
        if (content) contents.push(content);
      }
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(Error);
    expect(contents).toEqual(['tok1 ', 'tok2 ']);
  });

  it('errors surface as APIError with the status; failTimes lets internal retries succeed', async () => {
    const client = makeClient({ maxRetries: 0 });
    await expect(client.chat.completions.create(CHAT_BODY, sim({ status: 429 }))).rejects.toMatchObject({ status: 429 });
    const err = await client.chat.completions.create(CHAT_BODY, sim({ status: 500 })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(err.constructor.name).toBe('InternalServerError');
    expect(err.status).toBe(500);

    const key = `retry-${_name}-${Math.random()}`;
    const retrying = makeClient({ maxRetries: 2 });
    const before = server.requests.length;
    const res = await retrying.chat.completions.create(CHAT_BODY, sim({ status: 500, failTimes: 1, retryAfterMs: 1, chunks: 2 }, key));
    expect(res.choices[0].message.content).toBe('tok1 tok2 ');
    const attempts = server.requests.slice(before);
    expect(attempts).toHaveLength(2);
    expect(attempts.every((r) => r.headers['x-sim-key'] === key)).toBe(true);
  });

  it('responses streaming yields all events and the final usage', async () => {
    const client = makeClient();
    const stream = await client.responses.create({ model: 'sim-model', input: 'hi', stream: true }, sim({ chunks: 3, promptTokens: 9 }));
    const events: AnyClient[] = await collect(stream);
    expect(events.map((e) => e.type)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.delta',
      'response.output_text.delta',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ]);
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_e, i) => i));
    expect(events.filter((e) => e.type === 'response.output_text.delta').map((e) => e.delta).join('')).toBe('tok1 tok2 tok3 ');
    const completed = events[events.length - 1];
    expect(completed.response.status).toBe('completed');
    expect(completed.response.usage).toMatchObject({ input_tokens: 9, output_tokens: 3, total_tokens: 12 });
    expect(completed.response.output[0].content[0].text).toBe('tok1 tok2 tok3 ');
  });

  it('embeddings decode with the default (base64) encoding', async () => {
    const client = makeClient();
    const res = await client.embeddings.create({ model: 'emb', input: ['alpha', 'beta', 'gamma'] });
    expect(lastRequest().body.encoding_format).toBe('base64');
    expect(res.data).toHaveLength(3);
    for (const [i, d] of res.data.entries()) {
      expect(d.index).toBe(i);
      expect(d.embedding).toHaveLength(8);
      expect(d.embedding.every((x: unknown) => typeof x === 'number' && Number.isFinite(x))).toBe(true);
    }
    expect(res.usage).toEqual({ prompt_tokens: 7, total_tokens: 7 });
  });
});

describe('chat completions (openai v6)', () => {
  it('non-streaming returns a chat.completion with usage', async () => {
    const res = await v6().chat.completions.create(CHAT_BODY, sim({ chunks: 3, promptTokens: 4 }));
    expect(res.object).toBe('chat.completion');
    expect(res.model).toBe('sim-model');
    expect(res.choices).toHaveLength(1);
    expect(res.choices[0]).toMatchObject({
      index: 0,
      finish_reason: 'stop',
      logprobs: null,
      message: { role: 'assistant', content: 'tok1 tok2 tok3 ', refusal: null },
    });
    expect(res.usage).toMatchObject({ prompt_tokens: 4, completion_tokens: 3, total_tokens: 7 });
    const req = lastRequest();
    expect(req.method).toBe('POST');
    expect(req.path).toBe('/v1/chat/completions');
    expect(req.body).toEqual(CHAT_BODY);
    expect(req.headers['x-sim']).toBe(JSON.stringify({ chunks: 3, promptTokens: 4 }));
  });

  it('noUsage: no usage chunk even with include_usage, and no usage in the non-streaming body', async () => {
    const stream = await v6().chat.completions.create(
      { ...CHAT_BODY, stream: true, stream_options: { include_usage: true } },
      sim({ chunks: 2, noUsage: true }),
    );
    const chunks = await collect(stream);
    expect(chunks).toHaveLength(4);
    expect(chunks.every((c) => c.usage == null && c.choices.length === 1)).toBe(true);
    const res = await v6().chat.completions.create(CHAT_BODY, sim({ noUsage: true }));
    expect('usage' in res).toBe(false);
  });

  it('emptyChoicesChunk inserts a choices:[] chunk and a chunk without choices before the content', async () => {
    const stream = await v6().chat.completions.create({ ...CHAT_BODY, stream: true }, sim({ chunks: 2, emptyChoicesChunk: true }));
    const chunks = await collect(stream);
    expect(chunks).toHaveLength(1 + 2 + 2 + 1);
    expect(chunks[1]?.choices).toEqual([]);
    expect(chunks[1] && 'usage' in chunks[1]).toBe(false);
    expect(chunks[2] && 'choices' in chunks[2]).toBe(false);
    expect(chunks[3]?.choices[0]?.delta.content).toBe('tok1 ');
  });

  it('toolCall streams delta.tool_calls that the stream helper assembles into valid JSON arguments', async () => {
    const runner = v6().chat.completions.stream(
      {
        ...CHAT_BODY,
        tools: [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object', properties: {} } } }],
      },
      sim({ chunks: 4, toolCall: true }),
    );
    const final = await runner.finalChatCompletion();
    const choice = final.choices[0];
    expect(choice?.finish_reason).toBe('tool_calls');
    const call = choice?.message.tool_calls?.[0];
    expect(call?.type).toBe('function');
    if (call?.type !== 'function') throw new Error('expected a function tool call');
    expect(call.function.name).toBe('lookup');
    expect(JSON.parse(call.function.arguments)).toEqual({ q: 'tok2 tok3 tok4 ' });
    expect(choice?.message.content).toBeNull();

    const raw = await collect(await v6().chat.completions.create({ ...CHAT_BODY, stream: true }, sim({ chunks: 3, toolCall: true })));
    expect(raw[1]?.choices[0]?.delta.tool_calls?.[0]?.function?.name).toBe('get_weather');
    expect(raw[2]?.choices[0]?.delta.tool_calls?.[0]?.function?.arguments).toBe('{"q":"tok2 ');
    expect(raw.every((c) => c.choices[0]?.delta.content == null || c.choices[0]?.delta.content === '')).toBe(true);
  });

  it('refusal and reasoningChunks change the delta fields and the token counts', async () => {
    const refusal = await collect(
      await v6().chat.completions.create({ ...CHAT_BODY, stream: true }, sim({ chunks: 2, refusal: true })),
    );
    expect(refusal.slice(1, 3).map((c) => c.choices[0]?.delta.refusal)).toEqual(['tok1 ', 'tok2 ']);
    expect(refusal.slice(1, 3).every((c) => c.choices[0]?.delta.content === undefined)).toBe(true);

    const reasoning = await collect(
      await v6().chat.completions.create(
        { ...CHAT_BODY, stream: true, stream_options: { include_usage: true } },
        sim({ chunks: 2, reasoningChunks: 3 }),
      ),
    );
    const deltas = reasoning.map((c) => c.choices[0]?.delta as Record<string, unknown> | undefined);
    expect(deltas.slice(1, 4).map((d) => d?.reasoning_content)).toEqual(['think1 ', 'think2 ', 'think3 ']);
    expect(deltas.slice(4, 6).map((d) => d?.content)).toEqual(['tok1 ', 'tok2 ']);
    const usage = reasoning[reasoning.length - 1]?.usage;
    expect(usage?.completion_tokens).toBe(5);
    expect(usage?.completion_tokens_details?.reasoning_tokens).toBe(3);
  });

  it('maps 400/429/500 to the client error classes, with retry-after-ms: 0 on 429', async () => {
    const client = v6({ maxRetries: 0 });
    const e400 = await client.chat.completions.create(CHAT_BODY, sim({ status: 400 })).catch((e: unknown) => e);
    expect(e400).toBeInstanceOf(OpenAI.BadRequestError);
    const e429 = await client.chat.completions.create(CHAT_BODY, sim({ status: 429 })).catch((e: unknown) => e);
    expect(e429).toBeInstanceOf(OpenAI.RateLimitError);
    if (!(e429 instanceof OpenAI.APIError)) throw new Error('expected APIError');
    expect(e429.headers?.get('retry-after-ms')).toBe('0');
    expect(e429.code).toBe('rate_limit_exceeded');
    const e500 = await client.chat.completions.create(CHAT_BODY, sim({ status: 500 })).catch((e: unknown) => e);
    expect(e500).toBeInstanceOf(OpenAI.InternalServerError);

    // Default retries (2) with a 429 on every attempt: 3 requests, then the error.
    const before = server.requests.length;
    await expect(v6().chat.completions.create(CHAT_BODY, sim({ status: 429 }))).rejects.toBeInstanceOf(OpenAI.RateLimitError);
    expect(server.requests.length - before).toBe(3);
  });

  it('rejectStreamOptions answers 400 only when stream_options is present', async () => {
    const client = v6({ maxRetries: 0 });
    const err = await client.chat.completions
      .create({ ...CHAT_BODY, stream: true, stream_options: { include_usage: true } }, sim({ rejectStreamOptions: true }))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    if (!(err instanceof OpenAI.APIError)) throw new Error('expected APIError');
    expect(err.error).toEqual({
      message: 'Unrecognized request argument supplied: stream_options',
      type: 'invalid_request_error',
      param: 'stream_options',
      code: null,
    });
    const ok = await collect(await client.chat.completions.create({ ...CHAT_BODY, stream: true }, sim({ rejectStreamOptions: true, chunks: 1 })));
    expect(ok).toHaveLength(3);
  });

  it('timing: first content chunk at ttftMs, then one every chunkMs', async () => {
    const client = v6();
    // Warm up the connection so connection setup does not count.
    await client.chat.completions.create(CHAT_BODY, sim({ chunks: 1 }));
    const t0 = performance.now();
    const stream = await client.chat.completions.create({ ...CHAT_BODY, stream: true }, sim({ ttftMs: 200, chunkMs: 50, chunks: 5 }));
    const tHeaders = performance.now() - t0;
    const times: number[] = [];
    for await (const c of stream) {
      if (c.choices[0]?.delta.content) times.push(performance.now() - t0);
    }
    expect(tHeaders).toBeLessThan(60); // headers + role chunk are sent immediately
    expect(times).toHaveLength(5);
    expect(times[0]).toBeGreaterThanOrEqual(200 - 60);
    expect(times[0]).toBeLessThanOrEqual(200 + 60);
    for (let i = 1; i < times.length; i++) {
      const gap = times[i]! - times[i - 1]!;
      expect(gap).toBeGreaterThanOrEqual(50 - 30);
      expect(gap).toBeLessThanOrEqual(50 + 30);
    }
    // No accumulated drift: the last chunk is at ttft + 4 * chunkMs.
    expect(Math.abs(times[4]! - 400)).toBeLessThan(60);

    const n0 = performance.now();
    await client.chat.completions.create(CHAT_BODY, sim({ ttftMs: 100, chunkMs: 50, chunks: 3 }));
    const nonStreaming = performance.now() - n0;
    expect(nonStreaming).toBeGreaterThanOrEqual(200 - 10);
    expect(nonStreaming).toBeLessThan(200 + 80);
  });

  it('headerDelayMs delays the response headers', async () => {
    const client = v6();
    const t0 = performance.now();
    const stream = await client.chat.completions.create({ ...CHAT_BODY, stream: true }, sim({ headerDelayMs: 150, chunks: 1 }));
    expect(performance.now() - t0).toBeGreaterThanOrEqual(140);
    expect(await collect(stream)).toHaveLength(3);
  });
});

describe('server robustness', () => {
  it('survives the client aborting mid-stream and keeps serving', async () => {
    const client = v6();
    const stream = await client.chat.completions.create({ ...CHAT_BODY, stream: true }, sim({ chunks: 50, chunkMs: 20 }));
    let seen = 0;
    for await (const c of stream) {
      if (c.choices[0]?.delta.content) seen++;
      if (seen === 2) break; // aborts the request
    }
    expect(seen).toBe(2);
    await new Promise((r) => setTimeout(r, 60));
    const res = await client.chat.completions.create(CHAT_BODY, sim({ chunks: 1 }));
    expect(res.choices[0]?.message.content).toBe('tok1 ');
  });

  it('close() does not hang with keep-alive sockets and in-flight streams', async () => {
    const own = await startSimServer({ chunkMs: 100, chunks: 100 });
    const client = new OpenAI({ baseURL: own.url, apiKey: 'sk-test', maxRetries: 0 });
    await client.chat.completions.create({ ...CHAT_BODY }, sim({ chunkMs: 0, chunks: 1 })); // leaves an idle keep-alive socket
    const stream = await client.chat.completions.create({ ...CHAT_BODY, stream: true });
    const consumed = collect(stream).then(
      () => 'completed',
      () => 'errored',
    );
    const t0 = performance.now();
    await own.close();
    expect(performance.now() - t0).toBeLessThan(500);
    expect(await consumed).toBe('errored');
  });

  it('answers 404 for unknown paths and 400 for an invalid x-sim header', async () => {
    const client = v6({ maxRetries: 0 });
    const err = await client.get('/nope').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
    const bad = await client.chat.completions
      .create(CHAT_BODY, { headers: { 'x-sim': '{not json' } })
      .catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(OpenAI.BadRequestError);
  });
});

describe('legacy completions (openai v6)', () => {
  it('streams text_completion chunks with the include_usage rules', async () => {
    const client = v6();
    const plain = await collect(await client.completions.create({ model: 'sim-model', prompt: 'hi', stream: true }, sim({ chunks: 3 })));
    expect(plain.map((c) => c.choices[0]?.text)).toEqual(['tok1 ', 'tok2 ', 'tok3 ', '']);
    expect(plain[3]?.choices[0]?.finish_reason).toBe('stop');
    expect(plain.every((c) => c.object === 'text_completion' && !('usage' in c))).toBe(true);

    const withUsage = await collect(
      await client.completions.create(
        { model: 'sim-model', prompt: 'hi', stream: true, stream_options: { include_usage: true } },
        sim({ chunks: 3 }),
      ),
    );
    expect(withUsage).toHaveLength(5);
    expect(withUsage.slice(0, 4).every((c) => c.usage === null)).toBe(true);
    expect(withUsage[4]?.choices).toEqual([]);
    expect(withUsage[4]?.usage).toEqual({ prompt_tokens: 7, completion_tokens: 3, total_tokens: 10 });
  });

  it('non-streaming returns a text_completion with usage', async () => {
    const res = await v6().completions.create({ model: 'sim-model', prompt: 'hi' }, sim({ chunks: 2 }));
    expect(res.object).toBe('text_completion');
    expect(res.choices[0]?.text).toBe('tok1 tok2 ');
    expect(res.usage).toEqual({ prompt_tokens: 7, completion_tokens: 2, total_tokens: 9 });
  });
});

describe('responses API (openai v6)', () => {
  it('non-streaming returns a completed response with usage', async () => {
    const res = await v6().responses.create({ model: 'sim-model', input: 'hi' }, sim({ chunks: 2, promptTokens: 5 }));
    expect(res.object).toBe('response');
    expect(res.status).toBe('completed');
    expect(res.output_text).toBe('tok1 tok2 ');
    expect(res.usage).toMatchObject({
      input_tokens: 5,
      output_tokens: 2,
      total_tokens: 7,
      input_tokens_details: { cached_tokens: 0 },
      output_tokens_details: { reasoning_tokens: 0 },
    });
  });

  it('the responses.stream() helper accumulates the final response', async () => {
    const stream = v6().responses.stream({ model: 'sim-model', input: 'hi' }, sim({ chunks: 3, reasoningChunks: 2 }));
    const final = await stream.finalResponse();
    expect(final.output_text).toBe('tok1 tok2 tok3 ');
    expect(final.output.map((o) => o.type)).toEqual(['reasoning', 'message']);
    expect(final.usage?.output_tokens).toBe(5);
    expect(final.usage?.output_tokens_details.reasoning_tokens).toBe(2);
  });

  it('dropAfterChunks cuts a responses stream', async () => {
    const stream = await v6({ maxRetries: 0 }).responses.create(
      { model: 'sim-model', input: 'hi', stream: true },
      sim({ chunks: 4, dropAfterChunks: 1 }),
    );
    const types: string[] = [];
    await expect(
      (async () => {
        for await (const e of stream) types.push(e.type);
      })(),
    ).rejects.toThrow();
    expect(types.filter((t) => t === 'response.output_text.delta')).toHaveLength(1);
    expect(types).not.toContain('response.completed');
  });
});

describe('embeddings (openai v6)', () => {
  it('float and base64 encodings carry the same vectors; dimensions is honoured', async () => {
    const client = v6();
    const b64 = await client.embeddings.create({ model: 'emb', input: 'same text' });
    const flt = await client.embeddings.create({ model: 'emb', input: 'same text', encoding_format: 'float' });
    expect(lastRequest().body.encoding_format).toBe('float');
    expect(b64.data).toHaveLength(1);
    expect(flt.data[0]?.embedding).toEqual(b64.data[0]?.embedding);
    const norm = Math.hypot(...(flt.data[0]?.embedding ?? []));
    expect(norm).toBeCloseTo(1, 4);
    const dims = await client.embeddings.create({ model: 'emb', input: ['x', 'y'], dimensions: 16 });
    expect(dims.data.map((d) => d.embedding.length)).toEqual([16, 16]);
  });
});

describe('profiles', () => {
  // The numbers of a small model: TTFT ~150 ms ±30 %, ~15 ms/token, 20..120 tokens, 2 % 429, 1 % 500.
  const SMALL: SimModel = {
    name: 'small-model',
    ttftMs: 150,
    msPerToken: 15,
    tokensPerChunk: 1,
    minTokens: 20,
    maxTokens: 120,
    jitter: 0.3,
    rate429: 0.02,
    rate500: 0.01,
  };
  const PROFILE: SimProfile = {
    models: [SMALL, { ...SMALL, name: 'chunky-model', ttftMs: 10, msPerToken: 1, tokensPerChunk: 2, rate429: 0, rate500: 0 }],
    fallbackModel: { ...SMALL, name: '*', ttftMs: 0, msPerToken: 0, minTokens: 3, maxTokens: 3, rate429: 0, rate500: 0 },
    embeddingModels: [{ name: 'small-embedding', latencyMs: 5, jitter: 0.3, dimensions: 12, rate429: 0, rate500: 0 }],
  };

  it('streams with the model\'s latency and reports usage; same seed gives the same output', async () => {
    const a = await startSimServer({ profile: PROFILE, seed: 42 });
    const b = await startSimServer({ profile: PROFILE, seed: 42 });
    try {
      const run = async (url: string) => {
        const client = new OpenAI({ baseURL: url, apiKey: 'sk-test', maxRetries: 0 });
        const t0 = performance.now();
        const stream = await client.chat.completions.create({
          model: 'small-model',
          messages: [{ role: 'user', content: 'tell me something' }],
          stream: true,
          stream_options: { include_usage: true },
        });
        let ttft = 0;
        let text = '';
        let usage: OpenAI.CompletionUsage | null | undefined;
        for await (const c of stream) {
          const content = c.choices[0]?.delta.content;
          if (content && !ttft) ttft = performance.now() - t0;
          text += content ?? '';
          if (c.usage) usage = c.usage;
        }
        return { ttft, text, usage, total: performance.now() - t0 };
      };
      const [ra, rb] = await Promise.all([run(a.url), run(b.url)]);
      expect(ra.text).toBe(rb.text);
      expect(ra.text).not.toMatch(/tok\d/); // random words, not the fixed tok1 tok2 ...
      expect(ra.usage).toEqual(rb.usage);
      expect(ra.usage?.completion_tokens).toBeGreaterThanOrEqual(20);
      expect(ra.usage?.completion_tokens).toBeLessThanOrEqual(120);
      expect(ra.usage?.prompt_tokens).toBeGreaterThan(0);
      expect(ra.ttft).toBeGreaterThanOrEqual(100);
      expect(ra.ttft).toBeLessThan(300);
      const tokens = ra.usage?.completion_tokens ?? 0;
      expect(ra.total).toBeGreaterThan(100 + (tokens - 1) * 15 * 0.7);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('fails about 2% of requests with 429 and 1% with 500; x-sim still overrides', async () => {
    const profiled = await startSimServer({ profile: PROFILE, seed: 7 });
    try {
      const N = 1000;
      const statuses: number[] = [];
      const fast = JSON.stringify({ ttftMs: 0, chunkMs: 0, chunks: 1 });
      for (let i = 0; i < N; i += 100) {
        const batch = await Promise.all(
          Array.from({ length: 100 }, () =>
            fetch(`${profiled.url}/chat/completions`, {
              method: 'POST',
              headers: { 'content-type': 'application/json', 'x-sim': fast },
              body: JSON.stringify({ model: 'small-model', messages: [{ role: 'user', content: 'x' }] }),
            }).then(async (r) => {
              await r.arrayBuffer();
              return r.status;
            }),
          ),
        );
        statuses.push(...batch);
      }
      const n429 = statuses.filter((s) => s === 429).length;
      const n500 = statuses.filter((s) => s === 500).length;
      const n200 = statuses.filter((s) => s === 200).length;
      expect(n200 + n429 + n500).toBe(N);
      expect(n429).toBeGreaterThanOrEqual(5);
      expect(n429).toBeLessThanOrEqual(40);
      expect(n500).toBeGreaterThanOrEqual(2);
      expect(n500).toBeLessThanOrEqual(25);

      const forced = await fetch(`${profiled.url}/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-sim': JSON.stringify({ status: 503, chunks: 1 }) },
        body: JSON.stringify({ model: 'small-model', messages: [] }),
      });
      expect(forced.status).toBe(503);
      expect(await forced.json()).toMatchObject({ error: { type: 'server_error' } });
    } finally {
      await profiled.close();
    }
  });

  it('lists its models; unknown names get the fallback model or the first embedding model; max_tokens caps the output', async () => {
    const profiled = await startSimServer({ profile: PROFILE, seed: 3 });
    try {
      const client = new OpenAI({ baseURL: profiled.url, apiKey: 'sk-test', maxRetries: 0 });
      const models = await client.models.list();
      expect(models.data.map((m) => m.id)).toEqual(['small-model', 'chunky-model', 'small-embedding']);

      const unknown = await client.chat.completions.create({ model: 'not-in-the-profile', messages: [{ role: 'user', content: 'x' }] });
      expect(unknown.usage?.completion_tokens).toBe(3);

      const capped = await client.chat.completions.create({ model: 'chunky-model', messages: [{ role: 'user', content: 'x' }], max_tokens: 6 });
      expect(capped.usage?.completion_tokens).toBe(6);
      const chunks = await collect(
        await client.chat.completions.create({ model: 'chunky-model', messages: [{ role: 'user', content: 'x' }], stream: true, max_tokens: 6 }),
      );
      const contents = chunks.map((c) => c.choices[0]?.delta.content).filter((t): t is string => !!t);
      expect(contents).toHaveLength(3);
      for (const t of contents) expect(t.trim().split(' ')).toHaveLength(2);

      for (const model of ['small-embedding', 'another-embedding']) {
        const res = await client.embeddings.create({ model, input: 'x', encoding_format: 'float' });
        expect(res.data[0]?.embedding).toHaveLength(12);
      }
    } finally {
      await profiled.close();
    }
  });

  it('a profile must be a SimProfile object', async () => {
    await expect(startSimServer({ profile: 'demo' as unknown as SimProfile })).rejects.toThrow(/profile must be a SimProfile/);
  });
});
