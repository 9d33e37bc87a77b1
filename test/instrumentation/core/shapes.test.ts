import { describe, expect, it } from 'vitest';
import { extractResponseModel, extractUsage, isOutputChunk } from '../../../packages/instrumentation/src/core/shapes.js';

describe('extractUsage', () => {
  it.each([
    ['OpenAI chat', { usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 } }, { inputTokens: 3, outputTokens: 4 }],
    ['Responses / Anthropic', { usage: { input_tokens: 5, output_tokens: 6 } }, { inputTokens: 5, outputTokens: 6 }],
    ['Responses stream event', { type: 'response.completed', response: { usage: { input_tokens: 1, output_tokens: 2 } } }, { inputTokens: 1, outputTokens: 2 }],
    ['Anthropic message_start', { type: 'message_start', message: { usage: { input_tokens: 9, output_tokens: 1 } } }, { inputTokens: 9, outputTokens: 1 }],
    ['Anthropic message_delta', { type: 'message_delta', usage: { output_tokens: 30 } }, { outputTokens: 30 }],
    ['embeddings', { usage: { prompt_tokens: 8, total_tokens: 8 } }, { inputTokens: 8 }],
    ['Gemini', { usageMetadata: { promptTokenCount: 2, candidatesTokenCount: 3 } }, { inputTokens: 2, outputTokens: 3 }],
    [
      'OpenAI chat with cached and reasoning details',
      { usage: { prompt_tokens: 1200, completion_tokens: 300, prompt_tokens_details: { cached_tokens: 1024, audio_tokens: 0 }, completion_tokens_details: { reasoning_tokens: 256 } } },
      { inputTokens: 1200, outputTokens: 300, cacheReadInputTokens: 1024, reasoningOutputTokens: 256 },
    ],
    [
      'Responses API with cached and reasoning details',
      { type: 'response.completed', response: { usage: { input_tokens: 50, output_tokens: 9, input_tokens_details: { cached_tokens: 32 }, output_tokens_details: { reasoning_tokens: 4 } } } },
      { inputTokens: 50, outputTokens: 9, cacheReadInputTokens: 32, reasoningOutputTokens: 4 },
    ],
    [
      // input_tokens leaves the cache out: the total input is 10 + 2000 + 300.
      'Anthropic with cache read and write',
      { usage: { input_tokens: 10, cache_read_input_tokens: 2000, cache_creation_input_tokens: 300, output_tokens: 5 } },
      { inputTokens: 2310, outputTokens: 5, cacheReadInputTokens: 2000, cacheWriteInputTokens: 300 },
    ],
    [
      'Anthropic message_start with null cache fields',
      { type: 'message_start', message: { usage: { input_tokens: 9, output_tokens: 1, cache_read_input_tokens: null, cache_creation_input_tokens: null } } },
      { inputTokens: 9, outputTokens: 1 },
    ],
    [
      // candidatesTokenCount leaves the thinking out: the output is 40 + 60.
      'Gemini with cached content and thoughts',
      { usageMetadata: { promptTokenCount: 500, cachedContentTokenCount: 400, candidatesTokenCount: 40, thoughtsTokenCount: 60, totalTokenCount: 600 } },
      { inputTokens: 500, outputTokens: 100, cacheReadInputTokens: 400, reasoningOutputTokens: 60 },
    ],
  ])('%s', (_name, value, expected) => {
    expect(extractUsage(value)).toEqual(expected);
  });

  it.each([
    ['null usage', { usage: null }],
    ['no usage', { choices: [] }],
    ['negative or non-numeric counts', { usage: { prompt_tokens: -1, completion_tokens: '4' } }],
    ['NaN', { usage: { prompt_tokens: Number.NaN } }],
    ['Infinity and 1e308', { usage: { prompt_tokens: Infinity, completion_tokens: 1e308 } }],
    ['fractions', { usage: { input_tokens: 1.5, output_tokens: 0.1 } }],
    ['counts beyond 2^53', { usage: { prompt_tokens: 2 ** 53, completion_tokens: Number.MAX_VALUE } }],
    ['Gemini non-integers', { usageMetadata: { promptTokenCount: '2', candidatesTokenCount: 2.5 } }],
    ['null', null],
    ['a string', 'usage'],
  ])('reports nothing for %s', (_name, value) => {
    expect(extractUsage(value)).toBeUndefined();
  });

  it('keeps the real count of a pair and leaves out the other', () => {
    expect(extractUsage({ usage: { prompt_tokens: 7, completion_tokens: 1e308 } })).toEqual({ inputTokens: 7 });
    expect(extractUsage({ usage: { prompt_tokens: -1, completion_tokens: 0 } })).toEqual({ outputTokens: 0 });
    expect(extractUsage({ usage: { prompt_tokens: 2 ** 53 - 1 } })).toEqual({ inputTokens: 2 ** 53 - 1 });
  });
});

describe('isOutputChunk', () => {
  it.each([
    ['content', { choices: [{ delta: { content: 'a' } }] }],
    ['refusal', { choices: [{ delta: { refusal: 'no' } }] }],
    ['tool call', { choices: [{ delta: { tool_calls: [{ index: 0 }] } }] }],
    ['reasoning_content', { choices: [{ delta: { reasoning_content: 'hm' } }] }],
    ['legacy completion text', { choices: [{ text: 'a' }] }],
    ['Responses text delta', { type: 'response.output_text.delta', delta: 'a' }],
    ['Responses function arguments delta', { type: 'response.function_call_arguments.delta', delta: '{' }],
    ['Anthropic content_block_delta', { type: 'content_block_delta', delta: { text: 'a' } }],
    ['Gemini candidate text', { candidates: [{ content: { parts: [{ text: 'a' }] } }] }],
    ['a string', 'a'],
    ['bytes', new Uint8Array([1])],
  ])('%s is output', (_name, chunk) => {
    expect(isOutputChunk(chunk)).toBe(true);
  });

  it.each([
    ['role-only', { choices: [{ delta: { role: 'assistant', content: '' } }] }],
    ['finish', { choices: [{ delta: {}, finish_reason: 'stop' }] }],
    ['empty choices (usage chunk)', { choices: [], usage: { prompt_tokens: 1 } }],
    ['no choices', { id: 'x' }],
    ['choices null', { choices: null }],
    ['Responses created', { type: 'response.created', response: {} }],
    ['Responses empty delta', { type: 'response.output_text.delta', delta: '' }],
    ['Anthropic ping', { type: 'ping' }],
    ['empty string', ''],
    ['empty bytes', new Uint8Array()],
    ['null', null],
    ['a number', 1],
  ])('%s is not output', (_name, chunk) => {
    expect(isOutputChunk(chunk)).toBe(false);
  });
});

describe('extractResponseModel', () => {
  it('reads model, response.model, message.model and modelVersion', () => {
    expect(extractResponseModel({ model: 'a' })).toBe('a');
    expect(extractResponseModel({ response: { model: 'b' } })).toBe('b');
    expect(extractResponseModel({ message: { model: 'c' } })).toBe('c');
    expect(extractResponseModel({ modelVersion: 'd' })).toBe('d');
    expect(extractResponseModel({ model: '' })).toBeUndefined();
    expect(extractResponseModel(undefined)).toBeUndefined();
  });
});
