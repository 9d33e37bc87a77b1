/** The AI SDK adapter's pure parts, on values: provider names, usage normalisation, error.type. */
import { describe, expect, it } from 'vitest';
import { languageOperation, providerName, usageFamily } from '../../../../packages/instrumentation/src/instrumentations/ai-sdk/provider.js';
import { embeddingModelUsage, languageModelUsage } from '../../../../packages/instrumentation/src/instrumentations/ai-sdk/usage.js';
import { errorSubject } from '../../../../packages/instrumentation/src/instrumentations/ai-sdk/observe.js';
import { errorTypeOf } from '../../../../packages/instrumentation/src/core/error-type.js';

describe('providerName', () => {
  it.each([
    ['openai.chat', 'openai'],
    ['openai.responses', 'openai'],
    ['openai.embedding', 'openai'],
    ['azure-openai.chat', 'azure.ai.openai'],
    ['azure.responses', 'azure.ai.openai'],
    ['anthropic.messages', 'anthropic'],
    ['google.generative-ai', 'gcp.gemini'],
    ['google.vertex.chat', 'gcp.vertex_ai'],
    ['google.vertex.embedding', 'gcp.vertex_ai'],
    ['vertex.anthropic.messages', 'gcp.vertex_ai'],
    ['amazon-bedrock', 'aws.bedrock'],
    ['mistral.chat', 'mistral_ai'],
    ['groq.chat', 'groq'],
    ['deepseek.chat', 'deepseek'],
    ['xai.chat', 'x_ai'],
    ['perplexity', 'perplexity'],
    ['cohere.chat', 'cohere'],
    ['ollama.chat', 'ollama'],
    ['openai-compatible.chat', 'openai_compatible'],
    ['togetherai.chat', 'togetherai'],
    ['My-Gateway.chat', 'my_gateway'],
    ['gateway', 'gateway'],
    ['', '_OTHER'],
    ['...', '_OTHER'],
    [undefined, '_OTHER'],
    [42, '_OTHER'],
  ])('%s → %s', (provider, expected) => {
    expect(providerName(provider)).toBe(expected);
  });

  it('caps an unknown name at 64 characters', () => {
    expect(providerName(`${'a'.repeat(100)}.chat`)).toBe('a'.repeat(64));
  });

  it('operation: text_completion for legacy completions models, chat otherwise', () => {
    expect(languageOperation('openai.completion')).toBe('text_completion');
    expect(languageOperation('openai.chat')).toBe('chat');
    expect(languageOperation(undefined)).toBe('chat');
  });
});

describe('languageModelUsage', () => {
  it('v3/v4: the totals and their parts as defined', () => {
    const usage = {
      inputTokens: { total: 100, noCache: 20, cacheRead: 70, cacheWrite: 10 },
      outputTokens: { total: 50, text: 30, reasoning: 20 },
      raw: { anything: 1 },
    };
    expect(languageModelUsage(usage, undefined, 'anthropic')).toEqual({
      inputTokens: 100,
      outputTokens: 50,
      cacheReadInputTokens: 70,
      cacheWriteInputTokens: 10,
      reasoningOutputTokens: 20,
    });
  });

  it('v3/v4: missing totals stay missing (never summed from parts)', () => {
    expect(languageModelUsage({ inputTokens: { total: undefined, noCache: 5 }, outputTokens: { total: undefined } }, undefined, 'other')).toBeUndefined();
    expect(languageModelUsage({ inputTokens: { total: 9 }, outputTokens: {} }, undefined, 'other')).toEqual({ inputTokens: 9 });
  });

  it('v2 OpenAI: inputTokens already include the cached ones, outputTokens the reasoning ones', () => {
    const usage = { inputTokens: 100, outputTokens: 50, totalTokens: 150, cachedInputTokens: 60, reasoningTokens: 20 };
    expect(languageModelUsage(usage, undefined, 'openai')).toEqual({
      inputTokens: 100,
      outputTokens: 50,
      cacheReadInputTokens: 60,
      reasoningOutputTokens: 20,
    });
  });

  it('v2 Anthropic: cache reads and writes added to inputTokens, which leaves them out', () => {
    const usage = { inputTokens: 20, outputTokens: 50, totalTokens: 70, cachedInputTokens: 70 };
    const metadata = { anthropic: { cacheCreationInputTokens: 10 } };
    expect(languageModelUsage(usage, metadata, 'anthropic')).toEqual({
      inputTokens: 100,
      outputTokens: 50,
      cacheReadInputTokens: 70,
      cacheWriteInputTokens: 10,
    });
    expect(languageModelUsage({ inputTokens: 20, outputTokens: 5 }, { anthropic: { cacheCreationInputTokens: null } }, 'anthropic')).toEqual({
      inputTokens: 20,
      outputTokens: 5,
    });
  });

  it('v2 Google: the thinking tokens added to outputTokens, which leaves them out', () => {
    const usage = { inputTokens: 100, outputTokens: 30, cachedInputTokens: 40, reasoningTokens: 20 };
    expect(languageModelUsage(usage, undefined, 'google')).toEqual({
      inputTokens: 100,
      outputTokens: 50,
      cacheReadInputTokens: 40,
      reasoningOutputTokens: 20,
    });
  });

  it('v1: promptTokens/completionTokens; NaN and null are no count', () => {
    expect(languageModelUsage({ promptTokens: 7, completionTokens: 3 }, undefined, 'other')).toEqual({ inputTokens: 7, outputTokens: 3 });
    expect(languageModelUsage({ promptTokens: Number.NaN, completionTokens: Number.NaN }, undefined, 'openai')).toBeUndefined();
    expect(languageModelUsage({ promptTokens: null, completionTokens: null }, undefined, 'openai')).toBeUndefined();
  });

  it('v1 OpenAI: cached and reasoning counts from providerMetadata.openai', () => {
    expect(
      languageModelUsage({ promptTokens: 100, completionTokens: 50 }, { openai: { cachedPromptTokens: 60, reasoningTokens: 20 } }, 'openai'),
    ).toEqual({ inputTokens: 100, outputTokens: 50, cacheReadInputTokens: 60, reasoningOutputTokens: 20 });
  });

  it('v1 Anthropic: cache counts from providerMetadata.anthropic, added to promptTokens', () => {
    expect(
      languageModelUsage(
        { promptTokens: 20, completionTokens: 50 },
        { anthropic: { cacheCreationInputTokens: 10, cacheReadInputTokens: 70 } },
        'anthropic',
      ),
    ).toEqual({ inputTokens: 100, outputTokens: 50, cacheReadInputTokens: 70, cacheWriteInputTokens: 10 });
  });

  it('anything else: no usage, no throw', () => {
    for (const odd of [undefined, null, 3, 'x', {}, { tokens: 4 }, { inputTokens: 'a' }]) {
      expect(() => languageModelUsage(odd, odd, 'openai')).not.toThrow();
    }
    expect(languageModelUsage({}, undefined, 'openai')).toBeUndefined();
  });

  it('embeddings: { tokens } as input tokens', () => {
    expect(embeddingModelUsage({ tokens: 12 })).toEqual({ inputTokens: 12 });
    expect(embeddingModelUsage({ tokens: Number.NaN })).toBeUndefined();
    expect(embeddingModelUsage(undefined)).toBeUndefined();
  });

  it('usage families by provider string', () => {
    expect(usageFamily('vertex.anthropic.messages')).toBe('anthropic');
    expect(usageFamily('google.vertex.chat')).toBe('google');
    expect(usageFamily('azure.chat')).toBe('openai');
    expect(usageFamily('mistral.chat')).toBe('other');
  });
});

describe('errorSubject', () => {
  it('an HTTP error status is the error type', () => {
    const error = Object.assign(new Error('x'), { name: 'AI_APICallError', statusCode: 500 });
    expect(errorTypeOf(errorSubject(error))).toBe('500');
  });

  it('a 2xx status (a body that broke off) is not: the cause is', () => {
    const error = Object.assign(new Error('x'), { name: 'AI_APICallError', statusCode: 200, cause: new TypeError('terminated') });
    expect(errorTypeOf(errorSubject(error))).toBe('TypeError');
    expect(errorTypeOf(errorSubject(Object.assign(new Error('x'), { name: 'AI_APICallError', statusCode: 200 })))).toBe('AI_APICallError');
  });

  it('anything else as it is', () => {
    const error = new RangeError('x');
    expect(errorSubject(error)).toBe(error);
    expect(errorSubject('s')).toBe('s');
  });
});
