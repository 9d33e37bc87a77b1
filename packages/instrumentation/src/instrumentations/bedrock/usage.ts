/**
 * Bedrock's token reports, normalised to {@link TokenUsage} (inputTokens = every input token,
 * cached ones included). Pure functions of the parsed values: any input, however malformed,
 * gives `undefined` or only the fields that are token counts.
 */
import { isRecord, type Obj } from '../../core/guards.js';
import { anthropicTokenUsage, tokenCount, type TokenUsage } from '../../core/shapes.js';

function build(input: number | undefined, output: number | undefined, cacheRead?: number, cacheWrite?: number): TokenUsage | undefined {
  const usage: TokenUsage = {};
  if (input !== undefined) usage.inputTokens = input + (cacheRead ?? 0) + (cacheWrite ?? 0);
  if (output !== undefined) usage.outputTokens = output;
  if (cacheRead !== undefined) usage.cacheReadInputTokens = cacheRead;
  if (cacheWrite !== undefined) usage.cacheWriteInputTokens = cacheWrite;
  return Object.keys(usage).length === 0 ? undefined : usage;
}

/**
 * Converse's `usage` and ConverseStream's `metadata.usage` (TokenUsage). AWS documents
 * `inputTokens` as the tokens not read from or written to the prompt cache, with
 * `cacheReadInputTokens` and `cacheWriteInputTokens` beside it, so every input token is their
 * sum (docs/libraries/bedrock.md).
 */
export function converseUsage(usage: unknown): TokenUsage | undefined {
  if (!isRecord(usage)) return undefined;
  return build(
    tokenCount(usage.inputTokens, 'usage.inputTokens'),
    tokenCount(usage.outputTokens, 'usage.outputTokens'),
    tokenCount(usage.cacheReadInputTokens, 'usage.cacheReadInputTokens'),
    tokenCount(usage.cacheWriteInputTokens, 'usage.cacheWriteInputTokens'),
  );
}

/**
 * Anthropic Messages `usage` (InvokeModel bodies, `message_start`): `input_tokens` excludes
 * `cache_creation_input_tokens` and `cache_read_input_tokens`.
 */
export function anthropicUsage(usage: Obj, withOutput = true): TokenUsage | undefined {
  // The same normalisation as the Anthropic SDK's responses: one copy, in core/shapes.ts.
  return anthropicTokenUsage(withOutput ? usage : { ...usage, output_tokens: undefined });
}

/**
 * `amazon-bedrock-invocationMetrics` of an InvokeModelWithResponseStream chunk, the same for
 * every model: `inputTokenCount`/`outputTokenCount`, and for models with a prompt cache
 * `cacheReadInputTokenCount`/`cacheWriteInputTokenCount`, which, as in Converse, are not part of
 * `inputTokenCount`.
 */
export function invocationMetricsUsage(metrics: unknown): TokenUsage | undefined {
  if (!isRecord(metrics)) return undefined;
  return build(
    tokenCount(metrics.inputTokenCount, 'invocationMetrics.inputTokenCount'),
    tokenCount(metrics.outputTokenCount, 'invocationMetrics.outputTokenCount'),
    tokenCount(metrics.cacheReadInputTokenCount, 'invocationMetrics.cacheReadInputTokenCount'),
    tokenCount(metrics.cacheWriteInputTokenCount, 'invocationMetrics.cacheWriteInputTokenCount'),
  );
}

function titanOutputTokens(results: unknown): number | undefined {
  if (!Array.isArray(results)) return undefined;
  let total: number | undefined;
  for (const result of results) {
    const count = isRecord(result) ? tokenCount(result.tokenCount, 'results[].tokenCount') : undefined;
    if (count === undefined) return undefined;
    total = (total ?? 0) + count;
  }
  return total;
}

/**
 * The usage of a model-specific InvokeModel response body (or one streamed chunk's JSON), in the
 * formats whose fields are documented: Anthropic Messages (`usage.input_tokens`, with the cache
 * fields), OpenAI chat completions (`usage.prompt_tokens`), Meta Llama (`prompt_token_count`,
 * `generation_token_count`), Amazon Titan text and embeddings (`inputTextTokenCount`,
 * `results[].tokenCount`). Any other body: `undefined`.
 */
export function invokeBodyUsage(body: unknown): TokenUsage | undefined {
  if (!isRecord(body)) return undefined;
  const usage = body.usage;
  if (isRecord(usage)) {
    if ('input_tokens' in usage || 'output_tokens' in usage) return anthropicUsage(usage);
    if ('prompt_tokens' in usage || 'completion_tokens' in usage) {
      const cached = isRecord(usage.prompt_tokens_details) ? usage.prompt_tokens_details.cached_tokens : undefined;
      const reasoning = isRecord(usage.completion_tokens_details) ? usage.completion_tokens_details.reasoning_tokens : undefined;
      const result = build(tokenCount(usage.prompt_tokens, 'usage.prompt_tokens'), tokenCount(usage.completion_tokens, 'usage.completion_tokens'));
      const cacheRead = tokenCount(cached, 'usage.prompt_tokens_details.cached_tokens');
      const reasoningTokens = tokenCount(reasoning, 'usage.completion_tokens_details.reasoning_tokens');
      if (result === undefined) return undefined;
      if (cacheRead !== undefined) result.cacheReadInputTokens = cacheRead;
      if (reasoningTokens !== undefined) result.reasoningOutputTokens = reasoningTokens;
      return result;
    }
    return undefined;
  }
  if ('prompt_token_count' in body || 'generation_token_count' in body) {
    return build(
      tokenCount(body.prompt_token_count, 'prompt_token_count'),
      tokenCount(body.generation_token_count, 'generation_token_count'),
    );
  }
  if ('inputTextTokenCount' in body) {
    return build(tokenCount(body.inputTextTokenCount, 'inputTextTokenCount'), titanOutputTokens(body.results));
  }
  return undefined;
}
