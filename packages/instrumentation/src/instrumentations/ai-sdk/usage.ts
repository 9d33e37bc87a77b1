/**
 * The token usage an AI SDK model call reported, as {@link TokenUsage}. The model's own report
 * is read (the `usage` of `doGenerate`'s result or of the stream's `finish` part), in whichever
 * specification the provider package implements, whatever the `ai` major calling it:
 *
 * - v3 and v4 (`@ai-sdk/provider` 3.x, 4.x): `inputTokens.{total,cacheRead,cacheWrite}`,
 *   `outputTokens.{total,reasoning}`: totals that include the parts, by definition.
 * - v2 (`ai` 5): `inputTokens`, `outputTokens`, `cachedInputTokens`, `reasoningTokens`, whose
 *   meaning was the provider's: Anthropic's `inputTokens` leaves out cache reads and writes (the
 *   writes are in `providerMetadata.anthropic.cacheCreationInputTokens`), Google's
 *   `outputTokens` leaves out the thinking tokens (`reasoningTokens`).
 * - v1 (`ai` 4): `promptTokens`, `completionTokens` (NaN or null when missing); OpenAI's cached
 *   and reasoning counts in `providerMetadata.openai`, Anthropic's cache counts (left out of
 *   `promptTokens`) in `providerMetadata.anthropic`.
 *
 * Only counts the provider reported: a missing part leaves its total missing, never guessed.
 */
import { isRecord } from '../../core/guards.js';
import type { TokenUsage } from '../../core/shapes.js';
import type { UsageFamily } from './provider.js';

/** A reported count: a finite number (NaN and null are how v1 providers say "none"). */
function count(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

function field(value: unknown, ...path: string[]): unknown {
  let current = value;
  for (const key of path) current = isRecord(current) ? current[key] : undefined;
  return current;
}

function sum(base: number | undefined, ...parts: (number | undefined)[]): number | undefined {
  return base === undefined ? undefined : parts.reduce<number>((acc, part) => acc + (part ?? 0), base);
}

function compact(usage: TokenUsage): TokenUsage | undefined {
  const out: TokenUsage = {};
  for (const [key, value] of Object.entries(usage) as [keyof TokenUsage, number | undefined][]) {
    if (value !== undefined) out[key] = value;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/** A language model call's usage (`usage`, with the call's `providerMetadata`), normalised. */
export function languageModelUsage(usage: unknown, providerMetadata: unknown, family: UsageFamily): TokenUsage | undefined {
  if (!isRecord(usage)) return undefined;
  // v3 / v4: nested totals.
  if (isRecord(usage.inputTokens) || isRecord(usage.outputTokens)) {
    return compact({
      inputTokens: count(field(usage, 'inputTokens', 'total')),
      outputTokens: count(field(usage, 'outputTokens', 'total')),
      cacheReadInputTokens: count(field(usage, 'inputTokens', 'cacheRead')),
      cacheWriteInputTokens: count(field(usage, 'inputTokens', 'cacheWrite')),
      reasoningOutputTokens: count(field(usage, 'outputTokens', 'reasoning')),
    });
  }
  // v2: flat, provider-defined.
  if ('inputTokens' in usage || 'outputTokens' in usage) {
    const input = count(usage.inputTokens);
    const output = count(usage.outputTokens);
    const cacheRead = count(usage.cachedInputTokens);
    const reasoning = count(usage.reasoningTokens);
    if (family === 'anthropic') {
      const cacheWrite = count(field(providerMetadata, 'anthropic', 'cacheCreationInputTokens'));
      return compact({
        inputTokens: sum(input, cacheRead, cacheWrite),
        outputTokens: output,
        cacheReadInputTokens: cacheRead,
        cacheWriteInputTokens: cacheWrite,
      });
    }
    return compact({
      inputTokens: input,
      outputTokens: family === 'google' ? sum(output, reasoning) : output,
      cacheReadInputTokens: cacheRead,
      reasoningOutputTokens: reasoning,
    });
  }
  // v1.
  if ('promptTokens' in usage || 'completionTokens' in usage) {
    const input = count(usage.promptTokens);
    const output = count(usage.completionTokens);
    if (family === 'anthropic') {
      const cacheRead = count(field(providerMetadata, 'anthropic', 'cacheReadInputTokens'));
      const cacheWrite = count(field(providerMetadata, 'anthropic', 'cacheCreationInputTokens'));
      return compact({
        inputTokens: sum(input, cacheRead, cacheWrite),
        outputTokens: output,
        cacheReadInputTokens: cacheRead,
        cacheWriteInputTokens: cacheWrite,
      });
    }
    if (family === 'openai') {
      return compact({
        inputTokens: input,
        outputTokens: output,
        cacheReadInputTokens: count(field(providerMetadata, 'openai', 'cachedPromptTokens')),
        reasoningOutputTokens: count(field(providerMetadata, 'openai', 'reasoningTokens')),
      });
    }
    return compact({ inputTokens: input, outputTokens: output });
  }
  return undefined;
}

/** An embedding model call's usage (`{ tokens }`, every spec version). */
export function embeddingModelUsage(usage: unknown): TokenUsage | undefined {
  const tokens = count(field(usage, 'tokens'));
  return tokens === undefined ? undefined : { inputTokens: tokens };
}
