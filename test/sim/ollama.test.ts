/**
 * The simulated server's Ollama wire protocol (sim/handlers/ollama.ts), as the real `ollama`
 * client and a plain fetch see it: NDJSON streams ending in a `done: true` object with the
 * counts and durations, single JSON answers, `{"error": …}` bodies and lines, drops.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ollama } from 'ollama';
import { startSimServer, type SimBehavior, type SimServer } from '../../sim/index.js';

let server: SimServer;
let host: string;

beforeAll(async () => {
  server = await startSimServer({ port: 0, host: '127.0.0.1' });
  host = `http://127.0.0.1:${server.port}`;
});

afterAll(async () => {
  await server.close();
});

const client = (behavior: SimBehavior = {}) => new Ollama({ host, headers: { 'x-sim': JSON.stringify(behavior) } });

async function collect<T>(stream: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const part of stream) out.push(part);
  return out;
}

async function raw(path: string, body: unknown, behavior: SimBehavior = {}): Promise<Response> {
  return fetch(`${host}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-sim': JSON.stringify(behavior) },
    body: JSON.stringify(body),
  });
}

const lines = (text: string) =>
  text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

const MESSAGES = [{ role: 'user', content: 'hi' }];

describe.concurrent('ollama wire protocol', () => {
  it('streams chat as NDJSON: one object a line, content chunks, then done with the counts and durations', async () => {
    const res = await raw('/api/chat', { model: 'llama3.2', messages: MESSAGES }, { chunks: 3, promptTokens: 11 });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/x-ndjson');
    const objects = lines(await res.text());
    expect(objects).toHaveLength(4);
    expect(objects.slice(0, 3).map((o) => o.message)).toEqual([
      { role: 'assistant', content: 'tok1 ' },
      { role: 'assistant', content: 'tok2 ' },
      { role: 'assistant', content: 'tok3 ' },
    ]);
    expect(objects.slice(0, 3).every((o) => o.done === false && o.model === 'llama3.2')).toBe(true);
    const last = objects[3]!;
    expect(last).toMatchObject({ model: 'llama3.2', done: true, done_reason: 'stop', message: { role: 'assistant', content: '' } });
    expect(last.prompt_eval_count).toBe(11);
    expect(last.eval_count).toBe(3);
    for (const key of ['total_duration', 'load_duration', 'prompt_eval_duration', 'eval_duration']) {
      expect(Number.isInteger(last[key])).toBe(true);
    }
    expect(last).not.toHaveProperty('prompt_eval_cached_count');
  });

  it('answers chat in one JSON object with stream: false, through the real client and its headers option', async () => {
    const response = await client({ chunks: 4, tokensPerChunk: 2, promptTokens: 9 }).chat({ model: 'm', messages: MESSAGES, stream: false });
    expect(response.message).toEqual({ role: 'assistant', content: 'tok1 tok2 tok3 tok4 tok5 tok6 tok7 tok8 ' });
    expect(response).toMatchObject({ model: 'm', done: true, done_reason: 'stop', prompt_eval_count: 9, eval_count: 8 });
    expect(server.requests.some((r) => r.path === '/api/chat' && r.headers['x-sim'] !== undefined)).toBe(true);
  });

  it('streams thinking before the content, counted in eval_count, for chat and generate', async () => {
    const chat = await collect(await client({ chunks: 2, reasoningChunks: 2 }).chat({ model: 'm', messages: MESSAGES, stream: true }));
    expect(chat.map((c) => [c.message.thinking ?? null, c.message.content])).toEqual([
      ['think1 ', ''],
      ['think2 ', ''],
      [null, 'tok1 '],
      [null, 'tok2 '],
      [null, ''],
    ]);
    expect(chat.at(-1)!.eval_count).toBe(4);
    const generate = await collect(await client({ chunks: 2, reasoningChunks: 1 }).generate({ model: 'm', prompt: 'p', stream: true }));
    expect(generate.map((c) => [c.thinking ?? null, c.response])).toEqual([
      ['think1 ', ''],
      [null, 'tok1 '],
      [null, 'tok2 '],
      [null, ''],
    ]);
    expect(generate.at(-1)).toMatchObject({ done: true, eval_count: 3, prompt_eval_count: 7, context: [1, 2, 3] });
  });

  it('answers generate in one object, with thinking, context and counts', async () => {
    const response = await client({ chunks: 2, reasoningChunks: 1 }).generate({ model: 'm', prompt: 'p' });
    expect(response).toMatchObject({ response: 'tok1 tok2 ', thinking: 'think1 ', done: true, eval_count: 3, prompt_eval_count: 7 });
  });

  it('streams a tool call whole, in one object', async () => {
    const chunks = await collect(await client({ chunks: 3, toolCall: true }).chat({ model: 'm', messages: MESSAGES, stream: true }));
    expect(chunks).toHaveLength(2);
    expect(chunks[0]!.message.tool_calls).toEqual([{ function: { name: 'get_weather', arguments: { q: 'tok1 tok2 tok3 ' } } }]);
    expect(chunks[1]!.done).toBe(true);
    expect(chunks[1]!.message.tool_calls).toBeUndefined();
  });

  it('streams by default, as Ollama does when the body has no stream field', async () => {
    const res = await raw('/api/generate', { model: 'm', prompt: 'p' }, { chunks: 2 });
    expect(lines(await res.text()).map((o) => o.done)).toEqual([false, false, true]);
  });

  it('leaves the counts out with noUsage, and reports prompt_eval_cached_count with cacheReadTokens', async () => {
    const bare = await client({ noUsage: true }).chat({ model: 'm', messages: MESSAGES });
    expect(bare).not.toHaveProperty('prompt_eval_count');
    expect(bare).not.toHaveProperty('eval_count');
    expect(bare.total_duration).toBeGreaterThan(0);
    const cached = await client({ promptTokens: 20, cacheReadTokens: 16 }).generate({ model: 'm', prompt: 'p' });
    expect(cached).toMatchObject({ prompt_eval_count: 20, prompt_eval_cached_count: 16 });
  });

  it('embeds with /api/embed (counts) and the legacy /api/embeddings (none)', async () => {
    const embed = await client({ promptTokens: 5, embeddingDim: 4 }).embed({ model: 'nomic', input: ['a', 'b'] });
    expect(embed.model).toBe('nomic');
    expect(embed.embeddings).toHaveLength(2);
    expect(embed.embeddings[0]).toHaveLength(4);
    expect(embed.prompt_eval_count).toBe(5);
    const legacy = await client({ embeddingDim: 3 }).embeddings({ model: 'nomic', prompt: 'a' });
    expect(legacy).toEqual({ embedding: expect.any(Array) });
    expect(legacy.embedding).toHaveLength(3);
  });

  it('answers an error status with Ollama\'s {"error": …} body, which the client throws as a ResponseError', async () => {
    const res = await raw('/api/chat', { model: 'm', messages: MESSAGES, stream: false }, { status: 404 });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: 'model not found, try pulling it first (simulated)' });
    const error = await client({ status: 429 }).generate({ model: 'm', prompt: 'p' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'ResponseError', status_code: 429, error: 'server busy, please try again (simulated)' });
  });

  it('errorAfterChunks: an {"error": …} line after that many chunks; before the first, an HTTP 500', async () => {
    const res = await raw('/api/chat', { model: 'm', messages: MESSAGES }, { chunks: 4, errorAfterChunks: 2 });
    expect(res.status).toBe(200);
    const objects = lines(await res.text());
    expect(objects).toHaveLength(3);
    expect(objects[2]).toEqual({ error: 'an error was encountered while running the model (simulated)' });

    const seen: string[] = [];
    const stream = await client({ chunks: 4, errorAfterChunks: 2 }).chat({ model: 'm', messages: MESSAGES, stream: true });
    const error = await (async () => {
      for await (const part of stream) seen.push(part.message.content);
    })().catch((e: unknown) => e);
    expect(seen).toEqual(['tok1 ', 'tok2 ']);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toBe('an error was encountered while running the model (simulated)');

    const early = await client({ chunks: 4, errorAfterChunks: 0 }).chat({ model: 'm', messages: MESSAGES, stream: true }).catch((e: unknown) => e);
    expect(early).toMatchObject({ name: 'ResponseError', status_code: 500 });
  });

  it('dropAfterChunks resets the connection after that many chunks', async () => {
    const seen: string[] = [];
    const stream = await client({ chunks: 4, dropAfterChunks: 1 }).generate({ model: 'm', prompt: 'p', stream: true });
    const error = await (async () => {
      for await (const part of stream) seen.push(part.response ?? '');
    })().catch((e: unknown) => e);
    expect(seen).toEqual(['tok1 ']);
    expect(error).toBeInstanceOf(TypeError);
    const refused = await client({ dropAfterChunks: 0 }).embed({ model: 'm', input: 'a' }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(TypeError);
  });

  it('sends nothing before the first object: time to headers is the time to the first chunk', async () => {
    const started = performance.now();
    const stream = await client({ ttftMs: 60, chunks: 1 }).chat({ model: 'm', messages: MESSAGES, stream: true });
    expect(performance.now() - started).toBeGreaterThanOrEqual(55);
    await collect(stream);
  });
});
