/**
 * Token usage and output from LangChain's own shapes: an LLMResult's AIMessage `usage_metadata`
 * (LangChain's standard, the same for every provider) and a streamed chunk.
 */
import { isRecord } from '../../core/guards.js';
import type { TokenUsage } from '../../core/shapes.js';

function field(value: unknown, key: string): unknown {
  return isRecord(value) ? value[key] : undefined;
}

/**
 * LangChain's `UsageMetadata` as a {@link TokenUsage}. Its meanings are already ours:
 * `input_tokens` counts every input token (LangChain adds Anthropic's cache reads and writes in),
 * `output_tokens` every output token (reasoning included), and `input_token_details.cache_read`,
 * `.cache_creation` and `output_token_details.reasoning` are parts of them.
 */
export function usageFromMetadata(metadata: unknown): TokenUsage | undefined {
  if (!isRecord(metadata)) return undefined;
  const usage: TokenUsage = {};
  const set = (key: keyof TokenUsage, value: unknown) => {
    if (value !== undefined && value !== null) usage[key] = value as number;
  };
  set('inputTokens', metadata.input_tokens);
  set('outputTokens', metadata.output_tokens);
  set('cacheReadInputTokens', field(metadata.input_token_details, 'cache_read'));
  set('cacheWriteInputTokens', field(metadata.input_token_details, 'cache_creation'));
  set('reasoningOutputTokens', field(metadata.output_token_details, 'reasoning'));
  return Object.keys(usage).length > 0 ? usage : undefined;
}

/**
 * The usage of one run from its LLMResult: the `usage_metadata` of the first generation's message
 * that has one, else `llmOutput.tokenUsage` (`promptTokens`, `completionTokens`: LLMs such as
 * OpenAI completions). Never `llmOutput.estimatedTokenUsage`: LangChain counted those tokens
 * itself, the provider did not report them.
 */
export function usageOfResult(output: unknown): TokenUsage | undefined {
  const generations = field(output, 'generations');
  if (Array.isArray(generations)) {
    for (const list of generations) {
      if (!Array.isArray(list)) continue;
      for (const generation of list) {
        const usage = usageFromMetadata(field(field(generation, 'message'), 'usage_metadata'));
        if (usage !== undefined) return usage;
      }
    }
  }
  const tokenUsage = field(field(output, 'llmOutput'), 'tokenUsage');
  if (!isRecord(tokenUsage)) return undefined;
  const usage: TokenUsage = {};
  if (tokenUsage.promptTokens !== undefined && tokenUsage.promptTokens !== null) usage.inputTokens = tokenUsage.promptTokens as number;
  if (tokenUsage.completionTokens !== undefined && tokenUsage.completionTokens !== null) {
    usage.outputTokens = tokenUsage.completionTokens as number;
  }
  return Object.keys(usage).length > 0 ? usage : undefined;
}

/** `response_metadata.model_name` (or `model`) of the first generation's message, or its `generationInfo`. */
export function responseModelOfResult(output: unknown): string | undefined {
  const generations = field(output, 'generations');
  const first = Array.isArray(generations) ? generations[0] : undefined;
  const generation = Array.isArray(first) ? first[0] : undefined;
  const metadata = field(field(generation, 'message'), 'response_metadata');
  for (const value of [field(metadata, 'model_name'), field(metadata, 'model'), field(field(generation, 'generationInfo'), 'model_name')]) {
    if (typeof value === 'string' && value !== '') return value;
  }
  return undefined;
}

function nonEmpty(value: unknown): boolean {
  return (typeof value === 'string' && value !== '') || (Array.isArray(value) && value.length > 0);
}

const BLOCK_TEXT_KEYS = ['text', 'thinking', 'reasoning', 'partial_json', 'args', 'refusal'] as const;

function blockCarriesOutput(block: unknown): boolean {
  if (typeof block === 'string') return block !== '';
  if (!isRecord(block)) return false;
  if (BLOCK_TEXT_KEYS.some((key) => nonEmpty(block[key]))) return true;
  return typeof block.type === 'string' && /tool|function/.test(block.type);
}

/**
 * Whether a `handleLLMNewToken` call carries output: text, or a chunk whose message carries
 * content, reasoning, a tool call or a refusal. The role-only first chunk and the usage-only last
 * one of an OpenAI stream do not.
 */
export function tokenCarriesOutput(token: unknown, fields: unknown): boolean {
  if (typeof token === 'string' && token !== '') return true;
  const message = field(field(fields, 'chunk'), 'message');
  if (!isRecord(message)) return false;
  const content = message.content;
  if (typeof content === 'string' ? content !== '' : Array.isArray(content) && content.some(blockCarriesOutput)) return true;
  if (nonEmpty(message.tool_call_chunks)) return true;
  const extra = message.additional_kwargs;
  return (
    isRecord(extra) &&
    (nonEmpty(extra.reasoning_content) || nonEmpty(extra.reasoning) || nonEmpty(extra.refusal) || nonEmpty(extra.tool_calls) || isRecord(extra.function_call))
  );
}
