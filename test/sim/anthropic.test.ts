/**
 * The simulated server's Anthropic Messages API (sim/handlers/anthropic.ts), as the real
 * @anthropic-ai/sdk clients see it: the Message, the SSE events, thinking, tool use, cache
 * usage, Anthropic's error body, an error event inside the stream and a dropped connection.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimServer, type SimServer } from '../../sim/index.js';
import {
  anthropicClient,
  ANTHROPIC_BETA_VERSIONS,
  ANTHROPIC_VERSIONS,
  MESSAGE_BODY,
  origin,
  sim,
  type AnyClient,
} from '../helpers/anthropic.js';

let server: SimServer;

beforeAll(async () => {
  server = await startSimServer({ port: 0 });
});
afterAll(async () => {
  await server.close();
});

async function collect<T>(stream: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const event of stream) out.push(event);
  return out;
}

describe.concurrent.each(ANTHROPIC_VERSIONS)('%s against the sim', (name, Anthropic) => {
  const client = (): AnyClient => anthropicClient(Anthropic, server.url);

  it('answers a Message with text and usage, input_tokens excluding the cached part', async () => {
    const message = await client().messages.create(
      MESSAGE_BODY,
      sim({ chunks: 3, tokensPerChunk: 2, promptTokens: 100, cacheReadTokens: 60, cacheWriteTokens: 15 }),
    );
    expect(message).toMatchObject({
      type: 'message',
      role: 'assistant',
      model: 'claude-sim',
      content: [{ type: 'text', text: 'tok1 tok2 tok3 tok4 tok5 tok6 ' }],
      stop_reason: 'end_turn',
      stop_sequence: null,
      usage: { input_tokens: 25, cache_creation_input_tokens: 15, cache_read_input_tokens: 60, output_tokens: 6 },
    });
    expect(message.id).toMatch(/^msg_/);
  });

  it('streams message_start, a text block with ping, deltas, message_delta with usage, message_stop', async () => {
    const stream = await client().messages.create(
      { ...MESSAGE_BODY, stream: true },
      sim({ chunks: 3, promptTokens: 20, cacheReadTokens: 5 }),
    );
    const events: AnyClient[] = await collect(stream);
    // The SDK drops `ping` before the caller sees it; the raw wire is checked below.
    expect(events.map((e) => e.type)).toEqual([
      'message_start',
      'content_block_start',
      'content_block_delta',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    expect(events[0].message).toMatchObject({
      model: 'claude-sim',
      content: [],
      stop_reason: null,
      usage: { input_tokens: 15, cache_creation_input_tokens: 0, cache_read_input_tokens: 5, output_tokens: 1 },
    });
    expect(events[1]).toEqual({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } });
    expect(events.slice(2, 5).map((e) => e.delta)).toEqual([
      { type: 'text_delta', text: 'tok1 ' },
      { type: 'text_delta', text: 'tok2 ' },
      { type: 'text_delta', text: 'tok3 ' },
    ]);
    expect(events[6]).toEqual({
      type: 'message_delta',
      delta: { stop_reason: 'end_turn', stop_sequence: null },
      usage: { input_tokens: 15, cache_creation_input_tokens: 0, cache_read_input_tokens: 5, output_tokens: 3 },
    });
  });

  it('messages.stream(): text events and the final message', async () => {
    const texts: string[] = [];
    const stream = client().messages.stream(MESSAGE_BODY, sim({ chunks: 4, cacheWriteTokens: 3 }));
    stream.on('text', (text: string) => texts.push(text));
    const final = await stream.finalMessage();
    expect(texts).toEqual(['tok1 ', 'tok2 ', 'tok3 ', 'tok4 ']);
    expect(final.content).toEqual([{ type: 'text', text: 'tok1 tok2 tok3 tok4 ', citations: undefined }].map(stripUndefined));
    expect(final.usage).toMatchObject({ input_tokens: 4, cache_creation_input_tokens: 3, cache_read_input_tokens: 0, output_tokens: 4 });
  });

  it('thinking: a thinking block of thinking_delta and signature_delta before the text', async () => {
    const events: AnyClient[] = await collect(
      await client().messages.create({ ...MESSAGE_BODY, stream: true }, sim({ chunks: 2, reasoningChunks: 2 })),
    );
    const deltas = events.filter((e) => e.type === 'content_block_delta').map((e) => [e.index, e.delta.type]);
    expect(deltas).toEqual([
      [0, 'thinking_delta'],
      [0, 'thinking_delta'],
      [0, 'signature_delta'],
      [1, 'text_delta'],
      [1, 'text_delta'],
    ]);
    expect(events.find((e) => e.type === 'message_delta').usage.output_tokens).toBe(4);
    const message = await client().messages.create(MESSAGE_BODY, sim({ chunks: 2, reasoningChunks: 1 }));
    expect(message.content.map((block: AnyClient) => block.type)).toEqual(['thinking', 'text']);
    expect(message.content[0].thinking).toBe('think1 ');
  });

  it('tool use: input_json_delta fragments that join to the Message input', async () => {
    const events: AnyClient[] = await collect(
      await client().messages.create({ ...MESSAGE_BODY, stream: true }, sim({ chunks: 3, toolCall: true })),
    );
    expect(events[1].content_block).toMatchObject({ type: 'tool_use', name: 'get_weather', input: {} });
    const json = events
      .filter((e) => e.type === 'content_block_delta')
      .map((e) => {
        expect(e.delta.type).toBe('input_json_delta');
        return e.delta.partial_json as string;
      });
    expect(json[0]).toBe('');
    expect(JSON.parse(json.join(''))).toEqual({ q: 'tok2 tok3 ' });
    const message = await client().messages.create(MESSAGE_BODY, sim({ chunks: 3, toolCall: true }));
    expect(message.stop_reason).toBe('tool_use');
    expect(message.content[0]).toMatchObject({ type: 'tool_use', name: 'get_weather', input: { q: 'tok2 tok3 ' } });
  });

  it('noUsage: no usage in the Message', async () => {
    const message = await client().messages.create(MESSAGE_BODY, sim({ noUsage: true }));
    expect(message.usage).toBeUndefined();
  });

  it("errors: Anthropic's error body, status and retry-after", async () => {
    const overloaded: AnyClient = await client()
      .messages.create(MESSAGE_BODY, sim({ status: 529 }))
      .catch((error: unknown) => error);
    expect(overloaded).toBeInstanceOf(Anthropic.APIError);
    expect(overloaded.status).toBe(529);
    expect(overloaded.error).toEqual({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded (simulated).' } });
    expect(overloaded.headers.get?.('retry-after') ?? overloaded.headers['retry-after']).toBe('0');

    const limited: AnyClient = await client()
      .messages.create(MESSAGE_BODY, sim({ status: 429, retryAfterMs: 2000 }))
      .catch((error: unknown) => error);
    expect(limited).toBeInstanceOf(Anthropic.RateLimitError);
    expect(limited.error.error.type).toBe('rate_limit_error');
    expect(limited.headers.get?.('retry-after') ?? limited.headers['retry-after']).toBe('2');
  });

  it('errorAfterChunks: an `event: error` after that many deltas, thrown by the SDK mid-stream', async () => {
    const stream = await client().messages.create({ ...MESSAGE_BODY, stream: true }, sim({ chunks: 5, errorAfterChunks: 2 }));
    const seen: string[] = [];
    const error: AnyClient = await (async () => {
      for await (const event of stream) seen.push(event.type);
    })().catch((e: unknown) => e);
    expect(seen).toEqual(['message_start', 'content_block_start', 'content_block_delta', 'content_block_delta']);
    expect(error).toBeInstanceOf(Anthropic.AnthropicError);
    expect(error.status).toBeUndefined();
    // 0.25 turns the event into an APIConnectionError that keeps nothing of it.
    if (name === '@anthropic-ai/sdk 0.25') expect(error).toBeInstanceOf(Anthropic.APIConnectionError);
    else expect(JSON.stringify(error.error ?? error.message)).toContain('overloaded_error');
  });

  it('dropAfterChunks: the connection is reset after that many deltas', async () => {
    const stream = await client().messages.create({ ...MESSAGE_BODY, stream: true }, sim({ chunks: 5, dropAfterChunks: 1 }));
    const seen: string[] = [];
    const error = await (async () => {
      for await (const event of stream) seen.push(event.type);
    })().catch((e: unknown) => e);
    // node-fetch (0.4x and older) may lose the last delta sent before the reset.
    expect(['message_start', 'content_block_start', 'content_block_delta'].slice(0, Math.max(2, seen.length))).toEqual(seen);
    expect(error).toBeInstanceOf(Error);
  });

  it('countTokens answers the input tokens', async () => {
    const c = client();
    if (typeof c.messages.countTokens !== 'function') return;
    expect(await c.messages.countTokens(MESSAGE_BODY, sim({ promptTokens: 33 }))).toEqual({ input_tokens: 33 });
  });
});

describe.concurrent.each(ANTHROPIC_BETA_VERSIONS)('%s beta.messages against the sim', (_name, Anthropic) => {
  it('beta.messages.create posts to /v1/messages?beta=true, answered like messages', async () => {
    const message = await anthropicClient(Anthropic, server.url).beta.messages.create(MESSAGE_BODY, sim({ chunks: 2 }));
    expect(message.content[0]).toMatchObject({ type: 'text', text: 'tok1 tok2 ' });
  });
});

describe('the wire', () => {
  it('sends the events with their `event:` names, a ping after the first block start', async () => {
    const response = await fetch(`${origin(server.url)}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-sim': JSON.stringify({ chunks: 1, promptTokens: 9 }) },
      body: JSON.stringify({ ...MESSAGE_BODY, stream: true }),
    });
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const text = await response.text();
    const names = [...text.matchAll(/^event: (\w+)$/gm)].map((m) => m[1]);
    expect(names).toEqual([
      'message_start',
      'content_block_start',
      'ping',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    for (const block of text.trim().split('\n\n')) {
      const [event, data] = block.split('\n');
      expect(JSON.parse(data!.replace(/^data: /, '')).type).toBe(event!.replace(/^event: /, ''));
    }
  });

  it('an error event is `event: error` with the error body, and ends the stream', async () => {
    const response = await fetch(`${origin(server.url)}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-sim': JSON.stringify({ chunks: 3, errorAfterChunks: 0 }) },
      body: JSON.stringify({ ...MESSAGE_BODY, stream: true }),
    });
    const text = await response.text();
    expect(text.endsWith(
      'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded (simulated)."}}\n\n',
    )).toBe(true);
    expect(text).not.toContain('content_block_delta');
  });
});

function stripUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
