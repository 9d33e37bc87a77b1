/**
 * `gen_ai.provider.name` from an AI SDK model's `provider` string. Each provider package names
 * its models `<provider>.<api>` (`openai.chat`, `anthropic.messages`, `google.vertex.chat`,
 * `amazon-bedrock`, `mistral.chat`, or `<name>.chat` for `createOpenAICompatible({ name })`).
 */
import { ERROR_TYPE, OPERATION, PROVIDER } from '../../semconv.js';

/** By the provider string's first dot-separated segment. */
const BY_FIRST_SEGMENT: Readonly<Record<string, string>> = {
  openai: PROVIDER.openai,
  anthropic: PROVIDER.anthropic,
  'amazon-bedrock': PROVIDER.awsBedrock,
  bedrock: PROVIDER.awsBedrock,
  mistral: PROVIDER.mistralAi,
  groq: PROVIDER.groq,
  deepseek: PROVIDER.deepseek,
  xai: PROVIDER.xAi,
  perplexity: PROVIDER.perplexity,
  cohere: PROVIDER.cohere,
  ollama: PROVIDER.ollama,
  // @ai-sdk/google-vertex's Anthropic models: `vertex.anthropic.messages`.
  vertex: PROVIDER.gcpVertexAi,
  'openai-compatible': PROVIDER.openaiCompatible,
};

/** A label value of at most this many characters, in semconv's alphabet. */
const MAX_LENGTH = 64;

/**
 * The semconv provider name of an AI SDK `provider` string. Well-known providers get their
 * semconv value; any other its first segment, lower-cased, with anything outside
 * `[a-z0-9_.]` as `_` (`together.chat` → `together`, `my-gateway.chat` → `my_gateway`).
 */
export function providerName(provider: unknown): string {
  if (typeof provider !== 'string' || provider === '') return ERROR_TYPE.other;
  const lower = provider.toLowerCase();
  if (lower.startsWith('azure')) return PROVIDER.azureOpenai;
  if (lower.startsWith('google.vertex')) return PROVIDER.gcpVertexAi;
  if (lower.startsWith('google.generative-ai') || lower === 'google') return PROVIDER.gcpGemini;
  if (lower.startsWith('google')) return PROVIDER.gcpGenAi;
  const first = lower.split('.', 1)[0]!;
  const known = BY_FIRST_SEGMENT[first];
  if (known !== undefined) return known;
  const sanitised = first.replace(/[^a-z0-9_]/g, '_').slice(0, MAX_LENGTH);
  return /[a-z0-9]/.test(sanitised) ? sanitised : ERROR_TYPE.other;
}

/**
 * How the provider counts usage, for the v1/v2 specifications whose token fields meant what
 * each provider made them mean (v3 and later define them).
 */
export type UsageFamily = 'anthropic' | 'google' | 'openai' | 'other';

export function usageFamily(provider: unknown): UsageFamily {
  if (typeof provider !== 'string') return 'other';
  const lower = provider.toLowerCase();
  // Anthropic models served by Vertex (`vertex.anthropic.messages`) report Anthropic's usage.
  if (lower.includes('anthropic')) return 'anthropic';
  if (lower.startsWith('google')) return 'google';
  if (lower.startsWith('openai') || lower.startsWith('azure')) return 'openai';
  return 'other';
}

/** `gen_ai.operation.name` of a language model: `text_completion` for OpenAI's legacy completions models. */
export function languageOperation(provider: unknown): string {
  return typeof provider === 'string' && provider.endsWith('.completion') ? OPERATION.textCompletion : OPERATION.chat;
}
