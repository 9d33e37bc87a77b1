/**
 * Readers for the response and chunk shapes of common inference APIs: OpenAI chat and
 * legacy completions, the OpenAI Responses API and its stream events, Anthropic messages
 * and stream events, and Gemini. Each reader is total: any input, however malformed,
 * yields `undefined`/`false` and is never modified.
 */

import { diag } from '@opentelemetry/api';
import { isRecord, type Obj } from './guards.js';

/**
 * Token counts as the provider reported them. A missing field (undefined or null) stays
 * missing; a value that is not a token count (a non-negative safe integer: not NaN, ±Infinity,
 * -1, 1.5, 1e308, "12", …) is not recorded, with one `diag.debug` line.
 */
export interface TokenUsage {
  /** Every input (prompt) token, cached ones included (for Anthropic: input + cache read + cache write). */
  inputTokens?: number;
  /** Every output token, reasoning ones included (for Gemini: candidates + thoughts). */
  outputTokens?: number;
  /** The part of `inputTokens` served from the provider's prompt cache. */
  cacheReadInputTokens?: number;
  /** The part of `inputTokens` written to the provider's prompt cache. */
  cacheWriteInputTokens?: number;
  /** The part of `outputTokens` spent on reasoning (thinking). */
  reasoningOutputTokens?: number;
}

/** Reads provider-reported token usage from a response or a stream chunk. */
export type UsageExtractor = (value: unknown) => TokenUsage | undefined;

/** Tells whether a stream chunk carries output (content, reasoning, tool call, refusal). */
export type OutputChunkPredicate = (chunk: unknown) => boolean;

/** Reads the model that actually answered from a response or a stream chunk. */
export type ResponseModelExtractor = (value: unknown) => string | undefined;

/**
 * Says at debug level that `value` was not recorded as `what`. Names the value's type, and a
 * number's value, never a string's or an object's content.
 */
export function reportRejected(what: string, value: unknown, rule: string): void {
  const described = typeof value === 'number' ? `the number ${value}` : typeof value === 'object' ? 'an object' : `a ${typeof value}`;
  diag.debug(`otel-inference: ${what} not recorded: ${described} is not ${rule}`);
}

/**
 * `value` if it is a token count, a non-negative safe integer; otherwise undefined, with one
 * debug line unless the value is simply missing (undefined or null).
 */
export function tokenCount(value: unknown, what: string): number | undefined {
  if (Number.isSafeInteger(value) && (value as number) >= 0) return value as number;
  if (value !== undefined && value !== null) reportRejected(what, value, 'a non-negative safe integer');
  return undefined;
}

function nonEmpty(value: unknown): boolean {
  return typeof value === 'string' && value.length > 0;
}

function usageObject(value: Obj): Obj | undefined {
  const usage = value.usage;
  if (isRecord(usage)) return usage;
  // Responses API stream events wrap the response; Anthropic's message_start wraps the message.
  const inner = isRecord(value.response) ? value.response : isRecord(value.message) ? value.message : undefined;
  if (inner !== undefined && isRecord(inner.usage)) return inner.usage;
  return undefined;
}

/** `details[key]` when `details` is an object: OpenAI's `*_tokens_details`. */
function detail(details: unknown, key: string, what: string): number | undefined {
  return isRecord(details) ? tokenCount(details[key], what) : undefined;
}

function usageOf(fields: {
  input: number | undefined;
  output: number | undefined;
  cacheRead?: number | undefined;
  cacheWrite?: number | undefined;
  reasoning?: number | undefined;
}): TokenUsage | undefined {
  const { input, output, cacheRead, cacheWrite, reasoning } = fields;
  if (input === undefined && output === undefined) return undefined;
  const result: TokenUsage = {};
  if (input !== undefined) result.inputTokens = input;
  if (output !== undefined) result.outputTokens = output;
  if (cacheRead !== undefined) result.cacheReadInputTokens = cacheRead;
  if (cacheWrite !== undefined) result.cacheWriteInputTokens = cacheWrite;
  if (reasoning !== undefined) result.reasoningOutputTokens = reasoning;
  return result;
}

/**
 * Anthropic's `usage` object, as a Message, `message_start`'s message or `message_delta` carry
 * it (values unchecked).
 */
export interface AnthropicUsage {
  input_tokens?: unknown;
  cache_creation_input_tokens?: unknown;
  cache_read_input_tokens?: unknown;
  output_tokens?: unknown;
}

function missing(value: unknown): boolean {
  return value === undefined || value === null;
}

/**
 * Anthropic's usage as {@link TokenUsage}. Anthropic's `input_tokens` excludes the tokens read
 * from and written to the prompt cache, so `inputTokens` = input_tokens +
 * cache_creation_input_tokens + cache_read_input_tokens (a cache field not reported counts 0:
 * no cache used); a field that is not a token count leaves `inputTokens` out, since the total
 * would be wrong. `cacheReadInputTokens` and `cacheWriteInputTokens` are the cache fields as
 * reported. Anthropic does not report thinking tokens apart from `output_tokens`, so
 * `reasoningOutputTokens` is never set. Undefined when nothing is reported.
 */
export function anthropicTokenUsage(usage: AnthropicUsage): TokenUsage | undefined {
  const input = tokenCount(usage.input_tokens, 'usage.input_tokens');
  const cacheWrite = tokenCount(usage.cache_creation_input_tokens, 'usage.cache_creation_input_tokens');
  const cacheRead = tokenCount(usage.cache_read_input_tokens, 'usage.cache_read_input_tokens');
  const output = tokenCount(usage.output_tokens, 'usage.output_tokens');
  const result: TokenUsage = {};
  const cachesKnown =
    (cacheWrite !== undefined || missing(usage.cache_creation_input_tokens)) &&
    (cacheRead !== undefined || missing(usage.cache_read_input_tokens));
  if (input !== undefined && cachesKnown) {
    const total = input + (cacheWrite ?? 0) + (cacheRead ?? 0);
    if (Number.isSafeInteger(total)) result.inputTokens = total;
  }
  if (cacheRead !== undefined) result.cacheReadInputTokens = cacheRead;
  if (cacheWrite !== undefined) result.cacheWriteInputTokens = cacheWrite;
  if (output !== undefined) result.outputTokens = output;
  return Object.keys(result).length === 0 ? undefined : result;
}

/**
 * Gemini's `usageMetadata` in {@link TokenUsage} terms. Gemini's counts add up as
 * `totalTokenCount = promptTokenCount + toolUsePromptTokenCount + candidatesTokenCount +
 * thoughtsTokenCount`:
 * - `promptTokenCount` already includes `cachedContentTokenCount`;
 * - `toolUsePromptTokenCount` (the results of server-side tools, e.g. Google Search or code
 *   execution, fed back to the model) is input the prompt count leaves out;
 * - `candidatesTokenCount` leaves out `thoughtsTokenCount`.
 *
 * So inputTokens = prompt + toolUsePrompt, cacheReadInputTokens = cachedContent,
 * outputTokens = candidates + thoughts, reasoningOutputTokens = thoughts. Gemini's JSON leaves a
 * zero count out, so a missing addend counts as 0 once its sum has one reported part; a sum with
 * no reported part stays missing.
 */
export function geminiUsage(usageMetadata: unknown): TokenUsage | undefined {
  if (!isRecord(usageMetadata)) return undefined;
  const prompt = tokenCount(usageMetadata.promptTokenCount, 'usageMetadata.promptTokenCount');
  const toolUse = tokenCount(usageMetadata.toolUsePromptTokenCount, 'usageMetadata.toolUsePromptTokenCount');
  const cached = tokenCount(usageMetadata.cachedContentTokenCount, 'usageMetadata.cachedContentTokenCount');
  const candidates = tokenCount(usageMetadata.candidatesTokenCount, 'usageMetadata.candidatesTokenCount');
  const thoughts = tokenCount(usageMetadata.thoughtsTokenCount, 'usageMetadata.thoughtsTokenCount');
  const usage: TokenUsage = {};
  if (prompt !== undefined || toolUse !== undefined) usage.inputTokens = (prompt ?? 0) + (toolUse ?? 0);
  if (cached !== undefined) usage.cacheReadInputTokens = cached;
  if (candidates !== undefined || thoughts !== undefined) usage.outputTokens = (candidates ?? 0) + (thoughts ?? 0);
  if (thoughts !== undefined) usage.reasoningOutputTokens = thoughts;
  return Object.keys(usage).length > 0 ? usage : undefined;
}

/**
 * The default usage extractor, normalised to {@link TokenUsage}'s meanings:
 * - `usage.prompt_tokens`/`completion_tokens` with `prompt_tokens_details.cached_tokens` and
 *   `completion_tokens_details.reasoning_tokens` (OpenAI chat and completions, vLLM, Ollama's
 *   OpenAI API);
 * - `usage.input_tokens`/`output_tokens` with `input_tokens_details.cached_tokens` and
 *   `output_tokens_details.reasoning_tokens` (Responses API, also inside its stream events'
 *   `response`);
 * - Anthropic's `usage` (also inside `message` of `message_start`), recognised by its cache
 *   fields, input = input + cache read + cache write;
 * - Gemini's `usageMetadata`, output = candidates + thoughts.
 * A field that is not a non-negative safe integer is left out, with one debug line.
 */
export const extractUsage: UsageExtractor = (value) => {
  if (!isRecord(value)) return undefined;
  const usage = usageObject(value);
  if (usage !== undefined) {
    if (usage.prompt_tokens !== undefined || usage.completion_tokens !== undefined) {
      return usageOf({
        input: tokenCount(usage.prompt_tokens, 'usage.prompt_tokens'),
        output: tokenCount(usage.completion_tokens, 'usage.completion_tokens'),
        cacheRead: detail(usage.prompt_tokens_details, 'cached_tokens', 'usage.prompt_tokens_details.cached_tokens'),
        reasoning: detail(usage.completion_tokens_details, 'reasoning_tokens', 'usage.completion_tokens_details.reasoning_tokens'),
      });
    }
    if ('cache_read_input_tokens' in usage || 'cache_creation_input_tokens' in usage) return anthropicTokenUsage(usage);
    return usageOf({
      input: tokenCount(usage.input_tokens, 'usage.input_tokens'),
      output: tokenCount(usage.output_tokens, 'usage.output_tokens'),
      cacheRead: detail(usage.input_tokens_details, 'cached_tokens', 'usage.input_tokens_details.cached_tokens'),
      reasoning: detail(usage.output_tokens_details, 'reasoning_tokens', 'usage.output_tokens_details.reasoning_tokens'),
    });
  }
  return geminiUsage(value.usageMetadata);
  return undefined;
};

function deltaHasOutput(delta: Obj): boolean {
  return (
    nonEmpty(delta.content) ||
    nonEmpty(delta.refusal) ||
    nonEmpty(delta.reasoning_content) ||
    nonEmpty(delta.reasoning) ||
    (Array.isArray(delta.tool_calls) && delta.tool_calls.length > 0) ||
    isRecord(delta.function_call) ||
    isRecord(delta.audio)
  );
}

function choicesHaveOutput(choices: unknown[]): boolean {
  for (const choice of choices) {
    if (!isRecord(choice)) continue;
    if (isRecord(choice.delta) ? deltaHasOutput(choice.delta) : nonEmpty(choice.text)) return true;
  }
  return false;
}

function candidatesHaveOutput(candidates: unknown[]): boolean {
  for (const candidate of candidates) {
    const parts = isRecord(candidate) && isRecord(candidate.content) ? candidate.content.parts : undefined;
    if (!Array.isArray(parts)) continue;
    for (const part of parts) {
      if (isRecord(part) && (nonEmpty(part.text) || isRecord(part.functionCall))) return true;
    }
  }
  return false;
}

/**
 * The default output-chunk predicate. A role-only or empty framing chunk, a keep-alive,
 * a usage-only chunk and any shape it does not recognise are not output; a non-empty
 * string or byte chunk is.
 */
export const isOutputChunk: OutputChunkPredicate = (chunk) => {
  if (typeof chunk === 'string') return chunk.length > 0;
  if (!isRecord(chunk)) return false;
  const choices = chunk.choices;
  if (Array.isArray(choices)) return choicesHaveOutput(choices);
  const type = chunk.type;
  if (typeof type === 'string') {
    // Responses API: every `response.*.delta` event carries generated output.
    if (type.startsWith('response.') && type.endsWith('.delta')) return nonEmpty(chunk.delta);
    // Anthropic: text, tool-input and thinking deltas.
    return type === 'content_block_delta';
  }
  if (Array.isArray(chunk.candidates)) return candidatesHaveOutput(chunk.candidates);
  if (chunk instanceof Uint8Array) return chunk.byteLength > 0;
  return false;
};

/** The default response-model extractor: `model`, or the `model` of a wrapped response/message. */
export const extractResponseModel: ResponseModelExtractor = (value) => {
  if (!isRecord(value)) return undefined;
  if (nonEmpty(value.model)) return value.model as string;
  const inner = isRecord(value.response) ? value.response : isRecord(value.message) ? value.message : undefined;
  if (inner !== undefined && nonEmpty(inner.model)) return inner.model as string;
  return nonEmpty(value.modelVersion) ? (value.modelVersion as string) : undefined;
};
