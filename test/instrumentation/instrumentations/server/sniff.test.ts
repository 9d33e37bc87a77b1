import { describe, expect, it } from 'vitest';
import {
  JSON_FULL_PARSE_LIMIT,
  JsonSniffer,
  SSE_MAX_EVENT,
  SseSniffer,
  findKeyValue,
  streamErrorType,
  type Piece,
} from '../../../../packages/instrumentation/src/instrumentations/server/sniff.js';

const chatCompletion = {
  id: 'chatcmpl-1',
  object: 'chat.completion',
  created: 1,
  model: 'gpt-4o-mini-2024-07-18',
  choices: [{ index: 0, message: { role: 'assistant', content: 'héllo "model": "nope", wörld' }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 12, completion_tokens: 7, total_tokens: 19, prompt_tokens_details: { cached_tokens: 0 } },
};

/** `text` cut at every position in `at`, as bytes or as text. */
function cut(text: string, at: number[], bytes: boolean): Piece[] {
  const whole = bytes ? Buffer.from(text) : text;
  const out: Piece[] = [];
  let from = 0;
  for (const i of [...at, whole.length]) {
    out.push(whole.slice(from, i));
    from = i;
  }
  return out;
}

function json(pieces: Piece[]) {
  const sniffer = new JsonSniffer();
  for (const p of pieces) sniffer.write(p);
  return sniffer.facts();
}

describe('JsonSniffer', () => {
  it('reads model and usage of a body parsed whole, in one piece or cut anywhere (bytes cut inside a character too)', () => {
    const text = JSON.stringify(chatCompletion);
    const expected = { model: 'gpt-4o-mini-2024-07-18', usage: { inputTokens: 12, outputTokens: 7, cacheReadInputTokens: 0 } };
    expect(json([text])).toEqual(expected);
    for (let i = 1; i < Buffer.byteLength(text); i += 7) {
      expect(json(cut(text, [i], true))).toEqual(expected);
      if (i < text.length) expect(json(cut(text, [i], false))).toEqual(expected);
    }
  });

  it('reads input_tokens/output_tokens (Responses API) and an embeddings body without completion tokens', () => {
    expect(json([JSON.stringify({ id: 'r', object: 'response', model: 'gpt-4.1', output: [], usage: { input_tokens: 5, output_tokens: 9 } })])).toEqual({
      model: 'gpt-4.1',
      usage: { inputTokens: 5, outputTokens: 9 },
    });
    expect(json([JSON.stringify({ object: 'list', data: [], model: 'text-embedding-3-small', usage: { prompt_tokens: 8, total_tokens: 8 } })])).toEqual({
      model: 'text-embedding-3-small',
      usage: { inputTokens: 8 },
    });
  });

  it('a body larger than the full-parse limit: model from the head (or the tail), usage from the tail', () => {
    const embedding = Array.from({ length: 1536 }, (_, i) => Math.sin(i));
    const body = JSON.stringify({
      object: 'list',
      data: Array.from({ length: 8 }, (_, index) => ({ object: 'embedding', index, embedding })),
      model: 'text-embedding-3-large',
      usage: { prompt_tokens: 40, total_tokens: 40 },
    });
    expect(body.length).toBeGreaterThan(4 * JSON_FULL_PARSE_LIMIT);
    const expected = { model: 'text-embedding-3-large', usage: { inputTokens: 40 } };
    expect(json([body])).toEqual(expected);
    expect(json([Buffer.from(body)])).toEqual(expected);
    expect(json(cut(body, [10, 5000, 70_000, body.length - 30], true))).toEqual(expected);
    expect(json(cut(body, Array.from({ length: 200 }, (_, i) => i * 997 + 1).filter((i) => i < body.length), false))).toEqual(expected);

    const chat = JSON.stringify({ ...chatCompletion, choices: [{ index: 0, message: { role: 'assistant', content: 'x'.repeat(100_000) } }] });
    expect(json(cut(chat, [3, 40_000], true))).toEqual({ model: 'gpt-4o-mini-2024-07-18', usage: { inputTokens: 12, outputTokens: 7, cacheReadInputTokens: 0 } });
  });

  it('a key that only appears inside a string is not a key; a nested usage past the limit is read where the scan finds it', () => {
    const text = `{"a":"x\\",\\"model\\":\\"fake\\"","b":{"model" :  "real"}}`;
    expect(JSON.parse(text)).toEqual({ a: 'x","model":"fake"', b: { model: 'real' } });
    expect(text.slice(findKeyValue(text, '"model"', false))).toBe('"real"}}');
    expect(findKeyValue('{"say \\"model": 1}', '"model"', false)).toBe(-1);
    expect(findKeyValue('["model", "x"]', '"model"', false)).toBe(-1);
    expect(findKeyValue('{"object":"model"}', '"model"', false)).toBe(-1);
  });

  it('malformed, empty or foreign bodies give what can be read and never throw', () => {
    expect(json([])).toEqual({});
    expect(json(['{"model": "m1", "usage": {"prompt_tokens": 3'])).toEqual({ model: 'm1' });
    expect(json(['not json at all'])).toEqual({});
    expect(json(['[1,2,3]'])).toEqual({});
    expect(json(['{"model": 42, "usage": {"prompt_tokens": -1, "completion_tokens": 1.5}}'])).toEqual({});
    expect(json([`{"model":"${'m'.repeat(40_000)}"}`])).toEqual({});
    expect(json([Buffer.from([0xff, 0xfe, 0x00, 0x7b])])).toEqual({});
  });
});

const chunk = (delta: object, extra: object = {}) =>
  `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'llama-3.1-8b', choices: [{ index: 0, delta, finish_reason: null }], ...extra })}\n\n`;
const usageChunk = `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', model: 'llama-3.1-8b', choices: [], usage: { prompt_tokens: 11, completion_tokens: 5, total_tokens: 16 } })}\n\n`;
const chatStream = [
  chunk({ role: 'assistant', content: '' }),
  ...['Hél', 'lo', ' wö', 'rld', '!'].map((content) => chunk({ content })),
  chunk({}, { choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }),
  usageChunk,
  'data: [DONE]\n\n',
].join('');

function sse(pieces: Piece[]) {
  const sniffer = new SseSniffer();
  const perWrite = pieces.map((p) => sniffer.write(p));
  const atEnd = sniffer.end();
  return { model: sniffer.model, usage: sniffer.usage, errorType: sniffer.errorType, outputChunks: sniffer.outputChunks, perWrite, atEnd };
}

describe('SseSniffer', () => {
  it('counts output-carrying chunks (not the role, finish or usage chunks), reads model and usage', () => {
    const r = sse([chatStream]);
    expect(r).toMatchObject({ model: 'llama-3.1-8b', usage: { inputTokens: 11, outputTokens: 5 }, errorType: undefined, outputChunks: 5, perWrite: [5], atEnd: 0 });
  });

  it('gives the same result however the stream is cut: at every position, as text or bytes (inside a UTF-8 character too)', () => {
    const bytes = Buffer.byteLength(chatStream);
    for (let i = 1; i < bytes; i++) {
      const r = sse(cut(chatStream, [i], true));
      expect([r.model, r.usage, r.outputChunks]).toEqual(['llama-3.1-8b', { inputTokens: 11, outputTokens: 5 }, 5]);
    }
    for (let i = 1; i < chatStream.length; i += 3) {
      const r = sse(cut(chatStream, [i, Math.min(chatStream.length, i + 17)], false));
      expect(r.outputChunks).toBe(5);
      expect(r.perWrite.reduce((a, b) => a + b, 0) + r.atEnd).toBe(5);
    }
    const oneByteAtATime = sse(cut(chatStream, Array.from({ length: bytes - 1 }, (_, i) => i + 1), true));
    expect(oneByteAtATime.outputChunks).toBe(5);
    expect(oneByteAtATime.usage).toEqual({ inputTokens: 11, outputTokens: 5 });
  });

  it('counts a chunk when the write completing its event arrives', () => {
    const text = chunk({ content: 'a' });
    const r = sse([text.slice(0, -1), text.slice(-1), chunk({ content: 'b' })]);
    expect(r.perWrite).toEqual([0, 1, 1]);
  });

  it('CRLF line ends, comments, id/retry fields, multi-line data, and an event left open at the end', () => {
    const event = JSON.stringify({ model: 'm', choices: [{ index: 0, delta: { content: 'x' } }] });
    const r = sse([`: keep-alive\r\n\r\nid: 1\r\nretry: 10\r\ndata: ${event}\r\n\r\n`, `data: {"model":"m",\ndata: "choices":[{"index":0,"delta":{"content":"y"}}]}\n\n`, `data: ${event}`]);
    expect(r.outputChunks).toBe(3);
    expect(r.atEnd).toBe(1);
  });

  it('a server that ends events with one newline: each data line is still an event', () => {
    const lines = chatStream.replaceAll('\n\n', '\n');
    const r = sse([lines]);
    expect(r.outputChunks).toBe(5);
    expect(r.usage).toEqual({ inputTokens: 11, outputTokens: 5 });
  });

  it('the Responses API: deltas are output, usage from response.completed, model from response.created', () => {
    const ev = (type: string, body: object) => `event: ${type}\ndata: ${JSON.stringify({ type, ...body })}\n\n`;
    const r = sse([
      ev('response.created', { response: { id: 'r', model: 'gpt-4.1', usage: null } }),
      ev('response.output_text.delta', { delta: 'Hi' }),
      ev('response.output_text.delta', { delta: ' there' }),
      ev('response.output_text.done', { text: 'Hi there' }),
      ev('response.completed', { response: { id: 'r', model: 'gpt-4.1', usage: { input_tokens: 4, output_tokens: 2 } } }),
    ]);
    expect(r).toMatchObject({ model: 'gpt-4.1', usage: { inputTokens: 4, outputTokens: 2 }, outputChunks: 2, errorType: undefined });
  });

  it('usage reported in parts (Anthropic-style message_start then message_delta) is merged', () => {
    const r = sse([
      `data: ${JSON.stringify({ type: 'message_start', message: { model: 'claude', usage: { input_tokens: 9, output_tokens: 1 } } })}\n\n`,
      `data: ${JSON.stringify({ type: 'content_block_delta', delta: { type: 'text_delta', text: 'x' } })}\n\n`,
      `data: ${JSON.stringify({ type: 'message_delta', usage: { output_tokens: 14 } })}\n\n`,
    ]);
    expect(r).toMatchObject({ model: 'claude', usage: { inputTokens: 9, outputTokens: 14 }, outputChunks: 1 });
  });

  it.each([
    [{ error: { message: 'boom', type: 'server_error', code: null } }, undefined, 'server_error'],
    [{ error: { message: 'x', type: 'BadRequestError', code: 400 } }, undefined, '400'],
    [{ error: { message: 'x', code: '503' } }, undefined, '503'],
    [{ type: 'error', code: 'rate_limit_exceeded', message: 'x' }, undefined, 'rate_limit_exceeded'],
    [{ type: 'response.failed', response: { error: { code: 'server_error', message: 'x' } } }, undefined, 'server_error'],
    [{ type: 'error', error: { type: 'overloaded_error', message: 'x' } }, 'error', 'overloaded_error'],
    [{ error: { message: 'x', type: 'has spaces and a secret sk-123' } }, undefined, '_OTHER'],
    [{ message: 'anything' }, 'error', '_OTHER'],
    ['not an object', 'error', '_OTHER'],
    [{ error: null, choices: [] }, undefined, undefined],
    [{ type: 'response.incomplete', response: {} }, undefined, undefined],
  ])('error event %j (event: %s) → error.type %s', (event, eventName, expected) => {
    expect(streamErrorType(event, eventName)).toBe(expected);
  });

  it('keeps the first error event; output before it is counted', () => {
    const r = sse([chunk({ content: 'a' }), 'data: {"error":{"type":"server_error"}}\n\n', 'event: error\ndata: oops\n\n']);
    expect(r).toMatchObject({ outputChunks: 1, errorType: 'server_error' });
  });

  it('non-JSON data, [DONE], empty data and binary garbage are skipped', () => {
    const r = sse(['data: hello\n\n', 'data:\n\n', 'data: [DONE]\n\n', Buffer.from([0xff, 0x0a, 0x0a]), chunk({ content: 'z' })]);
    expect(r).toMatchObject({ outputChunks: 1, errorType: undefined });
  });

  it('a line longer than the cap stops the parsing, keeping what was read', () => {
    const r = sse([chunk({ content: 'a' }), 'data: "', 'x'.repeat(SSE_MAX_EVENT), '"\n\n', chunk({ content: 'b' })]);
    expect(r.outputChunks).toBe(1);
    expect(r.model).toBe('llama-3.1-8b');
    const long = sse([chunk({ content: 'a' }), `data: ${'x'.repeat(SSE_MAX_EVENT + 10)}\n\n`, chunk({ content: 'b' })]);
    expect(long.outputChunks).toBe(1);
  });
});

describe('SseSniffer fast path', () => {
  /** Events of every shape the fast path must agree on with a full parse. */
  const shapes: string[] = [
    chunk({ role: 'assistant', content: '' }),
    chunk({ content: 'x' }),
    chunk({ content: ' ' }),
    chunk({ content: '"quoted"' }),
    chunk({ content: 'an "error" and "usage": 1' }),
    chunk({ content: 'error' }),
    chunk({ content: '' }),
    chunk({ content: null } as object),
    chunk({ reasoning_content: 'think' }),
    chunk({ reasoning: 'think' }),
    chunk({ refusal: 'no' }),
    chunk({ tool_calls: [{ index: 0, id: 't', type: 'function', function: { name: 'f', arguments: '{"content":"x"}' } }] }),
    chunk({ tool_calls: [] }),
    chunk({ function_call: { name: 'f', arguments: '' } }),
    chunk({}, { choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }),
    chunk({ content: 'u' }, { usage: null }),
    chunk({ content: 'u' }, { usage: { prompt_tokens: 3, completion_tokens: 4 } }),
    chunk({ content: 'v' }, { model: 'another-model' }),
    usageChunk,
    `data: ${JSON.stringify({ id: 'c', object: 'text_completion', model: 'llama-3.1-8b', choices: [{ index: 0, text: 'completion text', finish_reason: null }] })}\n\n`,
    `data: ${JSON.stringify({ id: 'c', object: 'text_completion', model: 'llama-3.1-8b', choices: [{ index: 0, text: '', finish_reason: 'length' }] })}\n\n`,
    `data: ${JSON.stringify({ model: 'llama-3.1-8b', choices: [{ index: 0, delta: { content: 'x' } }], error: { type: 'server_error' } })}\n\n`,
    `data: {"model": "llama-3.1-8b", "choices": [{"index": 0, "delta": {"content": "spaced"}}]}\n\n`,
    `event: error\ndata: ${JSON.stringify({ model: 'llama-3.1-8b', choices: [{ index: 0, delta: { content: 'x' } }] })}\n\n`,
    `data: ${JSON.stringify({ type: 'response.output_text.delta', delta: 'r' })}\n\n`,
    ': comment\n\n',
    'data: [DONE]\n\n',
  ];

  it('agrees with a full parse on every shape, in any order', () => {
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let run = 0; run < 300; run++) {
      const events = Array.from({ length: 1 + Math.floor(random() * 12) }, () => shapes[Math.floor(random() * shapes.length)]!);
      const text = chunk({ content: 'first' }) + events.join('');
      const at = Array.from({ length: Math.floor(random() * 4) }, () => 1 + Math.floor(random() * (text.length - 1))).sort((a, b) => a - b);
      const fast = new SseSniffer();
      const slow = new SseSniffer(false);
      const pieces = cut(text, at, run % 2 === 0);
      expect(pieces.map((p) => fast.write(p))).toEqual(pieces.map((p) => slow.write(p)));
      expect(fast.end()).toBe(slow.end());
      expect([fast.model, fast.usage, fast.errorType, fast.outputChunks]).toEqual([slow.model, slow.usage, slow.errorType, slow.outputChunks]);
    }
  });
});
