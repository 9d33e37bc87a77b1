import { describe, expect, it } from 'vitest';
import { langchainProvider } from '../../../../packages/instrumentation/src/instrumentations/langchain/providers.js';
import {
  responseModelOfResult,
  tokenCarriesOutput,
  usageFromMetadata,
  usageOfResult,
} from '../../../../packages/instrumentation/src/instrumentations/langchain/usage.js';

const message = (kwargs: Record<string, unknown>) => ({ message: kwargs });

describe('LangChain usage → TokenUsage', () => {
  it('usage_metadata: totals as they are, cache read / creation and reasoning as their parts', () => {
    expect(
      usageFromMetadata({
        input_tokens: 120,
        output_tokens: 40,
        total_tokens: 160,
        input_token_details: { cache_read: 100, cache_creation: 15, audio: 0 },
        output_token_details: { reasoning: 25 },
      }),
    ).toEqual({ inputTokens: 120, outputTokens: 40, cacheReadInputTokens: 100, cacheWriteInputTokens: 15, reasoningOutputTokens: 25 });
    expect(usageFromMetadata({ input_tokens: 7, output_tokens: 3 })).toEqual({ inputTokens: 7, outputTokens: 3 });
    expect(usageFromMetadata({})).toBeUndefined();
    expect(usageFromMetadata(null)).toBeUndefined();
    expect(usageFromMetadata('7')).toBeUndefined();
  });

  it('an LLMResult: the message usage first, then llmOutput.tokenUsage, never estimatedTokenUsage', () => {
    const withMetadata = {
      generations: [[message({ usage_metadata: { input_tokens: 9, output_tokens: 3 } })]],
      llmOutput: { tokenUsage: { promptTokens: 1, completionTokens: 1 } },
    };
    expect(usageOfResult(withMetadata)).toEqual({ inputTokens: 9, outputTokens: 3 });
    expect(usageOfResult({ generations: [[{ text: 'x' }]], llmOutput: { tokenUsage: { promptTokens: 5, completionTokens: 2, totalTokens: 7 } } })).toEqual({
      inputTokens: 5,
      outputTokens: 2,
    });
    expect(usageOfResult({ generations: [[{ text: 'x' }]], llmOutput: { estimatedTokenUsage: { promptTokens: 5, completionTokens: 2 } } })).toBeUndefined();
    expect(usageOfResult({ generations: [[{ text: 'x' }]] })).toBeUndefined();
    expect(usageOfResult(undefined)).toBeUndefined();
    expect(usageOfResult({ generations: 'odd', llmOutput: 3 })).toBeUndefined();
  });

  it('the response model from response_metadata', () => {
    expect(responseModelOfResult({ generations: [[message({ response_metadata: { model_name: 'gpt-4o-2024' } })]] })).toBe('gpt-4o-2024');
    expect(responseModelOfResult({ generations: [[message({ response_metadata: { model: 'llama3' } })]] })).toBe('llama3');
    expect(responseModelOfResult({ generations: [] })).toBeUndefined();
  });

  it('output chunks: text, reasoning, tool calls, content blocks; not a role-only or usage-only chunk', () => {
    const chunk = (kwargs: Record<string, unknown>) => ({ chunk: message(kwargs) });
    expect(tokenCarriesOutput('tok', undefined)).toBe(true);
    expect(tokenCarriesOutput('', chunk({ content: '' }))).toBe(false);
    expect(tokenCarriesOutput('', chunk({ content: '', usage_metadata: { input_tokens: 1 } }))).toBe(false);
    expect(tokenCarriesOutput('', chunk({ content: '', additional_kwargs: { reasoning_content: 'think' } }))).toBe(true);
    expect(tokenCarriesOutput('', chunk({ content: '', tool_call_chunks: [{ name: 'f', args: '' }] }))).toBe(true);
    expect(tokenCarriesOutput('', chunk({ content: [{ type: 'thinking', thinking: 'hmm' }] }))).toBe(true);
    expect(tokenCarriesOutput('', chunk({ content: [{ type: 'text', text: '' }] }))).toBe(false);
    expect(tokenCarriesOutput('', 'odd')).toBe(false);
  });
});

describe('LangChain provider names', () => {
  it.each([
    ['openai', 'openai', 'openai'],
    ['azure', 'azure.ai.openai', 'openai'],
    ['anthropic', 'anthropic', '@anthropic-ai/sdk'],
    ['ollama', 'ollama', 'ollama'],
    ['amazon_bedrock', 'aws.bedrock', '@aws-sdk/client-bedrock-runtime'],
    ['google_vertexai', 'gcp.vertex_ai', undefined],
    ['groq', 'groq', 'groq-sdk'],
    ['mistral', 'mistral_ai', '@mistralai/mistralai'],
    ['deepseek', 'deepseek', 'openai'],
    ['xai', 'x_ai', 'openai'],
  ])('ls_provider %s → %s (client %s)', (ls, provider, clientModule) => {
    expect(langchainProvider(ls, 'Whatever')).toEqual(clientModule === undefined ? { provider } : { provider, clientModule });
  });

  it('unknown names as given when clean, the class name without "Chat" when there is none, else _OTHER', () => {
    expect(langchainProvider('FakeListChatModel', undefined)).toEqual({ provider: 'FakeListChatModel' });
    expect(langchainProvider(undefined, 'ChatOpenAI')).toEqual({ provider: 'openai', clientModule: 'openai' });
    expect(langchainProvider(undefined, 'ChatSomething')).toEqual({ provider: 'Something' });
    expect(langchainProvider('has spaces', undefined)).toEqual({ provider: '_OTHER' });
    expect(langchainProvider(undefined, undefined)).toEqual({ provider: '_OTHER' });
  });
});
