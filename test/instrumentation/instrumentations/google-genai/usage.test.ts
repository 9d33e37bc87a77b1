/** Gemini's usageMetadata normalised to TokenUsage, and the other readers, on values. */
import { describe, expect, it } from 'vitest';
import {
  embedUsage,
  geminiResponseModel,
  geminiUsage,
  isGeminiOutputChunk,
} from '../../../../packages/instrumentation/src/instrumentations/google-genai/usage.js';
import { requestModelOf } from '../../../../packages/instrumentation/src/instrumentations/google-genai/patch.js';

describe('geminiUsage', () => {
  it.each([
    ['every count', { promptTokenCount: 100, cachedContentTokenCount: 60, candidatesTokenCount: 20, thoughtsTokenCount: 30, toolUsePromptTokenCount: 5, totalTokenCount: 155 },
      { inputTokens: 105, cacheReadInputTokens: 60, outputTokens: 50, reasoningOutputTokens: 30 }],
    ['no thinking, no cache', { promptTokenCount: 7, candidatesTokenCount: 5, totalTokenCount: 12 }, { inputTokens: 7, outputTokens: 5 }],
    // proto3 JSON leaves zero counts out: cut off while thinking, no candidates count.
    ['thoughts only', { promptTokenCount: 7, thoughtsTokenCount: 9, totalTokenCount: 16 }, { inputTokens: 7, outputTokens: 9, reasoningOutputTokens: 9 }],
    ['an early stream chunk: the prompt only', { promptTokenCount: 7, totalTokenCount: 7 }, { inputTokens: 7 }],
    ['tool-use prompt only', { toolUsePromptTokenCount: 4 }, { inputTokens: 4 }],
    ['zeros reported', { promptTokenCount: 0, candidatesTokenCount: 0 }, { inputTokens: 0, outputTokens: 0 }],
    ['nothing countable', { totalTokenCount: 12, promptTokensDetails: [] }, undefined],
    ['not counts', { promptTokenCount: -1, candidatesTokenCount: 1.5, thoughtsTokenCount: '3', cachedContentTokenCount: null }, undefined],
    ['one bad addend is left out, the reported one kept', { promptTokenCount: 7, candidatesTokenCount: 5, thoughtsTokenCount: Number.NaN }, { inputTokens: 7, outputTokens: 5 }],
  ])('%s', (_name, usageMetadata, expected) => {
    expect(geminiUsage(usageMetadata)).toEqual(expected);
  });

  it.each([undefined, null, 12, 'x', []])('%j is no usage', (value) => {
    expect(geminiUsage(value)).toBeUndefined();
  });
});

describe('embedUsage', () => {
  it('reads usageMetadata.promptTokenCount, else the sum of every embedding’s tokenCount', () => {
    expect(embedUsage({ embeddings: [{ values: [1] }], usageMetadata: { promptTokenCount: 9 } })).toEqual({ inputTokens: 9 });
    expect(embedUsage({ embeddings: [{ statistics: { tokenCount: 3 } }, { statistics: { tokenCount: 4 } }] })).toEqual({ inputTokens: 7 });
    // A sum over part of the inputs would be a lie: none at all then.
    expect(embedUsage({ embeddings: [{ statistics: { tokenCount: 3 } }, { values: [1] }] })).toBeUndefined();
    expect(embedUsage({ embeddings: [] })).toBeUndefined();
    expect(embedUsage(undefined)).toBeUndefined();
  });
});

describe('isGeminiOutputChunk', () => {
  const chunk = (parts: unknown) => ({ candidates: [{ content: { parts, role: 'model' } }] });
  it.each([
    [chunk([{ text: 'a' }]), true],
    [chunk([{ text: 'thinking', thought: true }]), true],
    [chunk([{ functionCall: { name: 'f', args: {} } }]), true],
    [chunk([{ inlineData: { mimeType: 'image/png', data: '' } }]), true],
    [chunk([{ executableCode: { code: 'x' } }]), true],
    [chunk([{ text: '' }]), false],
    [chunk([{ thoughtSignature: 'sig' }]), false],
    [chunk([]), false],
    [{ candidates: [{ finishReason: 'STOP' }] }, false],
    [{ usageMetadata: { promptTokenCount: 1 } }, false],
    [{ candidates: 'x' }, false],
    [null, false],
  ])('%j → %s', (value, expected) => {
    expect(isGeminiOutputChunk(value)).toBe(expected);
  });
});

describe('models', () => {
  it('reads modelVersion as the response model', () => {
    expect(geminiResponseModel({ modelVersion: 'gemini-2.5-flash-001' })).toBe('gemini-2.5-flash-001');
    expect(geminiResponseModel({ modelVersion: '' })).toBeUndefined();
    expect(geminiResponseModel({ model: 'x' })).toBeUndefined();
  });

  it.each([
    ['gemini-2.5-flash', 'gemini-2.5-flash'],
    ['models/gemini-2.5-flash', 'gemini-2.5-flash'],
    ['publishers/google/models/gemini-2.5-flash', 'gemini-2.5-flash'],
    ['projects/p/locations/us-central1/publishers/google/models/gemini-2.5-flash', 'gemini-2.5-flash'],
    ['tunedModels/1234', 'tunedModels/1234'],
    ['projects/p/locations/l/endpoints/42', 'projects/p/locations/l/endpoints/42'],
  ])('requests %s as %s', (given, recorded) => {
    expect(requestModelOf(given)).toBe(recorded);
  });
});
