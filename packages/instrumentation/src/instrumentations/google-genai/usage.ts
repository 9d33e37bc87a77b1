/**
 * Readers for @google/genai's responses and stream chunks: usage from `usageMetadata`,
 * output parts, `modelVersion`. Total: any input yields `undefined`/`false`, never a throw.
 */
import { isRecord, type Obj } from '../../core/guards.js';
import { tokenCount, type TokenUsage } from '../../core/shapes.js';

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

/** Usage of a generateContent response or stream chunk. */
export function generateUsage(value: unknown): TokenUsage | undefined {
  return isRecord(value) ? geminiUsage(value.usageMetadata) : undefined;
}

/**
 * Usage of an embedContent response: `usageMetadata.promptTokenCount`, or else (Vertex AI's
 * predict API) the sum of each embedding's `statistics.tokenCount`, when every embedding has one.
 */
export function embedUsage(value: unknown): TokenUsage | undefined {
  if (!isRecord(value)) return undefined;
  if (isRecord(value.usageMetadata)) {
    const input = tokenCount(value.usageMetadata.promptTokenCount, 'usageMetadata.promptTokenCount');
    return input !== undefined ? { inputTokens: input } : undefined;
  }
  const embeddings = value.embeddings;
  if (!Array.isArray(embeddings) || embeddings.length === 0) return undefined;
  let sum = 0;
  for (const embedding of embeddings) {
    const statistics = isRecord(embedding) ? embedding.statistics : undefined;
    const count = isRecord(statistics) ? tokenCount(statistics.tokenCount, 'statistics.tokenCount') : undefined;
    if (count === undefined) return undefined;
    sum += count;
  }
  return Number.isSafeInteger(sum) ? { inputTokens: sum } : undefined;
}

function partHasOutput(part: Obj): boolean {
  return (
    (typeof part.text === 'string' && part.text.length > 0) ||
    isRecord(part.functionCall) ||
    isRecord(part.inlineData) ||
    isRecord(part.executableCode) ||
    isRecord(part.codeExecutionResult)
  );
}

/**
 * Whether a chunk carries generated output: a candidate part with text (answer or thought), a
 * function call, inline data or code execution. Usage-only, finish-only and empty-text chunks
 * do not.
 */
export function isGeminiOutputChunk(chunk: unknown): boolean {
  if (!isRecord(chunk) || !Array.isArray(chunk.candidates)) return false;
  for (const candidate of chunk.candidates) {
    const content = isRecord(candidate) ? candidate.content : undefined;
    const parts = isRecord(content) ? content.parts : undefined;
    if (!Array.isArray(parts)) continue;
    for (const part of parts) if (isRecord(part) && partHasOutput(part)) return true;
  }
  return false;
}

/** `modelVersion`: the model that answered. */
export function geminiResponseModel(value: unknown): string | undefined {
  return isRecord(value) && typeof value.modelVersion === 'string' && value.modelVersion !== '' ? value.modelVersion : undefined;
}
