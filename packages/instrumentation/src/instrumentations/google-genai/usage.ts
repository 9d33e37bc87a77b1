/**
 * Readers for @google/genai's responses and stream chunks: usage from `usageMetadata`,
 * output parts, `modelVersion`. Total: any input yields `undefined`/`false`, never a throw.
 */
import { isRecord, type Obj } from '../../core/guards.js';
import { geminiUsage, tokenCount, type TokenUsage } from '../../core/shapes.js';

export { geminiUsage };

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
