import OpenAIv7 from 'openai';
import OpenAIv4 from 'openai-v4';
import OpenAIv5 from 'openai-v5';
import OpenAIv6 from 'openai-v6';
import type { SimBehavior } from '../../sim/index.js';

/** Every openai major that runs on the supported Node lines (22.15+, 24, 26), by name. */
export const OPENAI_VERSIONS = [
  ['openai v4', OpenAIv4],
  ['openai v5', OpenAIv5],
  ['openai v6', OpenAIv6],
  ['openai v7', OpenAIv7],
] as const;

export type AnyOpenAI = typeof OpenAIv7 | typeof OpenAIv6 | typeof OpenAIv5 | typeof OpenAIv4;

/** Per-request simulated-server behaviour, as request options for the openai client. */
export function sim(behavior: SimBehavior, extra: Record<string, unknown> = {}) {
  return { headers: { 'x-sim': JSON.stringify(behavior) }, ...extra };
}

export function client(OpenAI: AnyOpenAI, baseURL: string, options: Record<string, unknown> = {}) {
  // retry-after-ms 1: v4 and v5 treat 0 as "no header" and back off ~0.5 s.
  return new (OpenAI as typeof OpenAIv7)({ apiKey: 'sk-test-not-a-secret', baseURL, maxRetries: 0, ...options });
}
