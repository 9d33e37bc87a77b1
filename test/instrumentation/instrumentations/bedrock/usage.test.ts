/** Bedrock's token reports normalised to TokenUsage (inputTokens = every input token), on values. */
import { describe, expect, it } from 'vitest';
import {
  anthropicUsage,
  converseUsage,
  invocationMetricsUsage,
  invokeBodyUsage,
} from '../../../../packages/instrumentation/src/instrumentations/bedrock/usage.js';
import {
  invokeChunkUsage,
  invokeOperation,
  isConverseOutputEvent,
  isInvokeOutputChunk,
} from '../../../../packages/instrumentation/src/instrumentations/bedrock/patch.js';

describe('converseUsage', () => {
  it.each([
    ['no cache', { inputTokens: 7, outputTokens: 5, totalTokens: 12 }, { inputTokens: 7, outputTokens: 5 }],
    [
      'cache read and write beside inputTokens',
      { inputTokens: 3, outputTokens: 5, totalTokens: 18, cacheReadInputTokens: 6, cacheWriteInputTokens: 4 },
      { inputTokens: 13, outputTokens: 5, cacheReadInputTokens: 6, cacheWriteInputTokens: 4 },
    ],
    ['zero cache fields', { inputTokens: 3, outputTokens: 1, cacheReadInputTokens: 0 }, { inputTokens: 3, outputTokens: 1, cacheReadInputTokens: 0 }],
    ['no inputTokens: no input total from the cache alone', { outputTokens: 2, cacheReadInputTokens: 6 }, { outputTokens: 2, cacheReadInputTokens: 6 }],
    ['not counts', { inputTokens: -1, outputTokens: '5', cacheReadInputTokens: 1.5 }, undefined],
    ['not an object', 'usage', undefined],
    ['null', null, undefined],
  ])('%s', (_name, usage, expected) => {
    expect(converseUsage(usage)).toEqual(expected);
  });
});

describe('anthropicUsage (InvokeModel bodies)', () => {
  it('adds cache creation and cache reads to input_tokens', () => {
    expect(anthropicUsage({ input_tokens: 3, cache_creation_input_tokens: 5, cache_read_input_tokens: 2, output_tokens: 9 })).toEqual({
      inputTokens: 10,
      outputTokens: 9,
      cacheReadInputTokens: 2,
      cacheWriteInputTokens: 5,
    });
  });
  it('message_start: input only (its output_tokens is a placeholder)', () => {
    expect(invokeChunkUsage({ type: 'message_start', message: { usage: { input_tokens: 4, output_tokens: 1 } } })).toEqual({ inputTokens: 4 });
    expect(invokeChunkUsage({ type: 'message_delta', usage: { output_tokens: 12 } })).toEqual({ outputTokens: 12 });
  });
});

describe('invocationMetricsUsage', () => {
  it('inputTokenCount plus the cache counts, outputTokenCount', () => {
    expect(invocationMetricsUsage({ inputTokenCount: 8, outputTokenCount: 3, invocationLatency: 100, firstByteLatency: 20 })).toEqual({
      inputTokens: 8,
      outputTokens: 3,
    });
    expect(invocationMetricsUsage({ inputTokenCount: 2, outputTokenCount: 3, cacheReadInputTokenCount: 6 })).toEqual({
      inputTokens: 8,
      outputTokens: 3,
      cacheReadInputTokens: 6,
    });
    expect(invokeChunkUsage({ type: 'message_stop', 'amazon-bedrock-invocationMetrics': { inputTokenCount: 1, outputTokenCount: 2 } })).toEqual({
      inputTokens: 1,
      outputTokens: 2,
    });
  });
});

describe('invokeBodyUsage', () => {
  it.each([
    ['OpenAI chat', { usage: { prompt_tokens: 9, completion_tokens: 4, prompt_tokens_details: { cached_tokens: 3 } } }, { inputTokens: 9, outputTokens: 4, cacheReadInputTokens: 3 }],
    ['Meta Llama', { generation: 'x', prompt_token_count: 11, generation_token_count: 6 }, { inputTokens: 11, outputTokens: 6 }],
    ['Titan text', { inputTextTokenCount: 5, results: [{ tokenCount: 7, outputText: 'x' }] }, { inputTokens: 5, outputTokens: 7 }],
    ['Titan embeddings', { embedding: [0.1], inputTextTokenCount: 5 }, { inputTokens: 5 }],
    ['an unknown format', { generations: [{ text: 'x' }] }, undefined],
    ['an unknown usage shape', { usage: { tokens: 3 } }, undefined],
  ])('%s', (_name, body, expected) => {
    expect(invokeBodyUsage(body)).toEqual(expected);
  });
});

describe('output chunks', () => {
  it.each([
    ['text delta', { contentBlockDelta: { delta: { text: 'a' }, contentBlockIndex: 0 } }, true],
    ['empty text delta', { contentBlockDelta: { delta: { text: '' }, contentBlockIndex: 0 } }, false],
    ['tool input delta', { contentBlockDelta: { delta: { toolUse: { input: '{"' } } } }, true],
    ['reasoning text', { contentBlockDelta: { delta: { reasoningContent: { text: 'hm' } } } }, true],
    ['reasoning signature only', { contentBlockDelta: { delta: { reasoningContent: { signature: 's' } } } }, false],
    ['tool use start', { contentBlockStart: { start: { toolUse: { toolUseId: 't', name: 'f' } } } }, true],
    ['messageStart', { messageStart: { role: 'assistant' } }, false],
    ['metadata', { metadata: { usage: { inputTokens: 1 } } }, false],
    ['garbage', 'x', false],
  ])('ConverseStream %s', (_name, event, expected) => {
    expect(isConverseOutputEvent(event)).toBe(expected);
  });

  it.each([
    ['Anthropic content_block_delta', { type: 'content_block_delta', delta: { text: 'a' } }, true],
    ['Anthropic message_start', { type: 'message_start' }, false],
    ['OpenAI content', { choices: [{ delta: { content: 'a' } }] }, true],
    ['OpenAI role only', { choices: [{ delta: { role: 'assistant' } }] }, false],
    ['Llama generation', { generation: 'a' }, true],
    ['Llama empty generation', { generation: '' }, false],
    ['Titan outputText', { outputText: 'a' }, true],
    ['Nova text delta', { contentBlockDelta: { delta: { text: 'a' } } }, true],
    ['an unknown format', { completion: 'a' }, true],
    ['metrics alone', { 'amazon-bedrock-invocationMetrics': { inputTokenCount: 1 } }, false],
    ['bytes that are not JSON', Symbol('not JSON'), true],
    ['no bytes', undefined, false],
  ])('InvokeModelWithResponseStream %s', (_name, json, expected) => {
    expect(isInvokeOutputChunk(json)).toBe(expected);
  });
});

describe('invokeOperation', () => {
  it.each([
    ['messages', 'anthropic.claude-3', JSON.stringify({ messages: [] }), 'chat'],
    ['messages as bytes', 'x', new TextEncoder().encode(JSON.stringify({ messages: [] })), 'chat'],
    ['prompt', 'meta.llama3', JSON.stringify({ prompt: 'p' }), 'text_completion'],
    ['inputText', 'amazon.titan-text-express-v1', JSON.stringify({ inputText: 'p' }), 'text_completion'],
    ['an embed model', 'cohere.embed-english-v3', JSON.stringify({ texts: ['a'] }), 'embeddings'],
    ['an unknown body', 'x', JSON.stringify({ foo: 1 }), 'chat'],
    ['not JSON', 'x', 'not json', 'chat'],
    ['a body over 256 KiB', 'x', JSON.stringify({ prompt: 'p'.repeat(300 * 1024) }), 'chat'],
  ])('%s', (_name, modelId, body, expected) => {
    expect(invokeOperation(modelId, body)).toBe(expected);
  });
});
