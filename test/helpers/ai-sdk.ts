import * as aiV7 from 'ai';
import * as aiV4 from 'ai-v4';
import * as aiV5 from 'ai-v5';
import * as aiV6 from 'ai-v6';
import * as openaiV4 from '@ai-sdk/openai';
import * as openaiV1 from '@ai-sdk/openai-v1';
import * as openaiV2 from '@ai-sdk/openai-v2';
import * as openaiV3 from '@ai-sdk/openai-v3';
import type { SimBehavior } from '../../sim/index.js';
import { patchAISDK } from '../../packages/instrumentation/src/instrumentations/ai-sdk/patch.js';
import type { InferenceMetrics } from '../../packages/instrumentation/src/index.js';

/* eslint-disable @typescript-eslint/no-explicit-any -- four majors' types in one table */

export interface AISDKVersion {
  readonly name: string;
  readonly major: 4 | 5 | 6 | 7;
  /** The `ai` module namespace. */
  readonly ai: any;
  /** Its matching `@ai-sdk/openai`. */
  readonly openai: any;
}

/** Every `ai` major that runs on the supported Node lines, with its `@ai-sdk/openai` major. */
export const AI_SDK_VERSIONS: readonly AISDKVersion[] = [
  { name: 'ai v4', major: 4, ai: aiV4, openai: openaiV1 },
  { name: 'ai v5', major: 5, ai: aiV5, openai: openaiV2 },
  { name: 'ai v6', major: 6, ai: aiV6, openai: openaiV3 },
  { name: 'ai v7', major: 7, ai: aiV7, openai: openaiV4 },
];

/**
 * The provider against the sim, with per-request behaviour in its `x-sim` header. ai 4's
 * provider asks a custom base URL for stream usage only in `strict` compatibility.
 */
export function openaiProvider(v: AISDKVersion, baseURL: string, behavior: SimBehavior = {}, extra: Record<string, unknown> = {}): any {
  return v.openai.createOpenAI({
    baseURL,
    apiKey: 'sk-test-not-a-secret',
    headers: { 'x-sim': JSON.stringify(behavior) },
    ...(v.major === 4 ? { compatibility: 'strict' } : {}),
    ...extra,
  });
}

/** What the preload's hook does to `ai` when it loads, on a copy of the namespace. */
export function patchedAI(v: AISDKVersion, metrics: InferenceMetrics): any {
  return patchAISDK({ ...v.ai }, () => metrics).exports;
}

/** Run up to `n` steps (model calls). */
export function steps(v: AISDKVersion, n: number): Record<string, unknown> {
  return v.major === 4 ? { maxSteps: n } : { stopWhen: v.ai.stepCountIs(n) };
}

/** A tool every major accepts (ai 4 reads `parameters`, later ones `inputSchema`). */
export function lookupTool(v: AISDKVersion): Record<string, unknown> {
  const schema = v.ai.jsonSchema({ type: 'object', properties: { q: { type: 'string' } } });
  return { lookup: { description: 'look something up', parameters: schema, inputSchema: schema, execute: async () => 'found' } };
}
