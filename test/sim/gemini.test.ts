/**
 * The sim's Gemini API and Vertex AI wire protocol (sim/handlers/gemini.ts), on the wire: raw
 * fetch, so that what is checked is the bytes a client gets.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimServer, type SimBehavior, type SimServer } from '../../sim/index.js';

// Wire JSON, read as the tests need it.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;

let server: SimServer;
beforeAll(async () => {
  server = await startSimServer({ port: 0 });
});
afterAll(async () => {
  await server.close();
});

function post(path: string, body: unknown, behavior: SimBehavior = {}) {
  return fetch(`http://127.0.0.1:${server.port}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-sim': JSON.stringify(behavior) },
    body: JSON.stringify(body),
  });
}

const CONTENTS = { contents: [{ role: 'user', parts: [{ text: 'hi' }] }] };

/** The JSON of each SSE `data:` event. */
function events(text: string): Any[] {
  expect(text.endsWith('\r\n\r\n')).toBe(true);
  return text
    .split('\r\n\r\n')
    .filter((event) => event !== '')
    .map((event) => {
      expect(event.startsWith('data: ')).toBe(true);
      return JSON.parse(event.slice('data: '.length));
    });
}

describe.concurrent('sim: Gemini wire protocol', () => {
  it('generateContent: thought and answer parts, usageMetadata with cached and thoughts counts, modelVersion', async () => {
    const res = await post('/v1beta/models/gemini-2.5-flash:generateContent', CONTENTS, { chunks: 2, reasoningChunks: 1, promptTokens: 9, cacheReadTokens: 3, tokensPerChunk: 2 });
    expect(res.status).toBe(200);
    const body: Any = await res.json();
    expect(body.candidates).toEqual([
      { content: { parts: [{ text: 'think1 think2 ', thought: true }, { text: 'tok1 tok2 tok3 tok4 ' }], role: 'model' }, index: 0, finishReason: 'STOP' },
    ]);
    expect(body.usageMetadata).toEqual({
      promptTokenCount: 9,
      candidatesTokenCount: 4,
      thoughtsTokenCount: 2,
      cachedContentTokenCount: 3,
      totalTokenCount: 15,
      promptTokensDetails: [{ modality: 'TEXT', tokenCount: 9 }],
      cacheTokensDetails: [{ modality: 'TEXT', tokenCount: 3 }],
    });
    expect(body.modelVersion).toBe('gemini-2.5-flash');
    expect(typeof body.responseId).toBe('string');
  });

  it('streamGenerateContent?alt=sse: one event per chunk, usage so far on each, zero counts left out, the finish last', async () => {
    const res = await post('/v1/models/gemini-2.5-flash:streamGenerateContent?alt=sse', CONTENTS, { chunks: 2 });
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const all = events(await res.text());
    expect(all.map((e) => e.candidates[0].content.parts[0].text)).toEqual(['tok1 ', 'tok2 ', '']);
    expect(all.map((e) => e.usageMetadata.candidatesTokenCount)).toEqual([1, 2, 2]);
    expect(all.every((e) => !('thoughtsTokenCount' in e.usageMetadata) && !('cachedContentTokenCount' in e.usageMetadata))).toBe(true);
    expect(all.map((e) => e.candidates[0].finishReason)).toEqual([undefined, undefined, 'STOP']);
  });

  it('streamGenerateContent without alt=sse: one JSON array', async () => {
    const res = await post('/v1beta/models/m:streamGenerateContent', CONTENTS, { chunks: 2, noUsage: true });
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const array: Any = await res.json();
    expect(array).toHaveLength(3);
    expect(array.some((e: Any) => 'usageMetadata' in e)).toBe(false);
  });

  it('an error inside the stream: Google’s error object as one more event, then the end', async () => {
    const res = await post('/v1beta/models/m:streamGenerateContent?alt=sse', CONTENTS, { chunks: 4, errorAfterChunks: 1 });
    const all = events(await res.text());
    expect(all).toHaveLength(2);
    expect(all[1]).toEqual({ error: { code: 500, message: expect.any(String), status: 'INTERNAL' } });
  });

  it('a function call streams whole, in one event', async () => {
    const res = await post(
      '/v1beta/models/m:streamGenerateContent?alt=sse',
      { ...CONTENTS, tools: [{ functionDeclarations: [{ name: 'lookup' }] }] },
      { chunks: 3, toolCall: true },
    );
    const all = events(await res.text());
    expect(all[0].candidates[0].content.parts[0].functionCall).toEqual({ name: 'lookup', args: { q: 'tok1 tok2 tok3' } });
    expect(all).toHaveLength(2);
  });

  it.each([
    [429, 'RESOURCE_EXHAUSTED'],
    [400, 'INVALID_ARGUMENT'],
    [503, 'UNAVAILABLE'],
  ])('status %i: Google’s error body', async (status, name) => {
    const res = await post('/v1beta/models/m:generateContent', CONTENTS, { status });
    expect(res.status).toBe(status);
    expect(await res.json()).toEqual({ error: { code: status, message: expect.any(String), status: name } });
  });

  it('embedContent, batchEmbedContents and Vertex predict', async () => {
    const one: Any = await (await post('/v1beta/models/e:embedContent', { content: { parts: [{ text: 'a' }] }, outputDimensionality: 4 }, { promptTokens: 3 })).json();
    expect(one.embedding.values).toHaveLength(4);
    expect(one.usageMetadata).toEqual({ promptTokenCount: 3, totalTokenCount: 3 });
    const batch: Any = await (
      await post('/v1beta/models/e:batchEmbedContents', { requests: [{ model: 'models/e', content: { parts: [{ text: 'a' }] } }, { model: 'models/e', content: { parts: [{ text: 'b' }] } }] })
    ).json();
    expect(batch.embeddings).toHaveLength(2);
    expect(batch.embeddings.map((e: Any) => e.values.length)).toEqual([8, 8]);
    const predict: Any = await (
      await post('/v1beta1/projects/p/locations/us-central1/publishers/google/models/text-embedding-005:predict', { instances: [{ content: 'a' }, { content: 'b' }] }, { promptTokens: 5 })
    ).json();
    expect(predict.predictions.map((p: Any) => p.embeddings.statistics.token_count)).toEqual([3, 2]);
  });

  it.each([
    '/v1beta1/publishers/google/models/gemini-2.5-flash:generateContent',
    '/v1/projects/p/locations/global/publishers/google/models/gemini-2.5-flash:generateContent',
    '/v1alpha/models/gemini-2.5-flash:generateContent',
  ])('Vertex AI and other API versions: %s', async (path) => {
    const body: Any = await (await post(path, CONTENTS)).json();
    expect(body.modelVersion).toBe('gemini-2.5-flash');
  });

  it('an unknown method is a 404', async () => {
    expect((await post('/v1beta/models/m:countTokens', CONTENTS)).status).toBe(404);
  });
});
