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

/**
 * The default usage extractor: `usage.prompt_tokens`/`completion_tokens` (OpenAI chat and
 * completions, vLLM, Ollama), `usage.input_tokens`/`output_tokens` (Responses API, Anthropic,
 * also inside `response` or `message` of their stream events) and Gemini's `usageMetadata`.
 * A field that is not a non-negative safe integer is left out, with one debug line.
 */
export const extractUsage: UsageExtractor = (value) => {
  if (!isRecord(value)) return undefined;
  const usage = usageObject(value);
  let input: number | undefined;
  let output: number | undefined;
  if (usage !== undefined) {
    input = tokenCount(usage.prompt_tokens, 'usage.prompt_tokens') ?? tokenCount(usage.input_tokens, 'usage.input_tokens');
    output =
      tokenCount(usage.completion_tokens, 'usage.completion_tokens') ?? tokenCount(usage.output_tokens, 'usage.output_tokens');
  } else if (isRecord(value.usageMetadata)) {
    input = tokenCount(value.usageMetadata.promptTokenCount, 'usageMetadata.promptTokenCount');
    output = tokenCount(value.usageMetadata.candidatesTokenCount, 'usageMetadata.candidatesTokenCount');
  }
  if (input === undefined && output === undefined) return undefined;
  const result: TokenUsage = {};
  if (input !== undefined) result.inputTokens = input;
  if (output !== undefined) result.outputTokens = output;
  return result;
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
