import Anthropic from '@anthropic-ai/sdk';
import AnthropicV0137 from 'anthropic-v0-137';
import AnthropicV025 from 'anthropic-v0-25';
import AnthropicV041 from 'anthropic-v0-41';
import type { SimBehavior } from '../../sim/index.js';

/**
 * The @anthropic-ai/sdk versions tested (0.x minors are majors under semver): 0.25, the oldest
 * supported (older client shape: core.ts, node-fetch; no `beta`); 0.41, the last of that shape,
 * with `beta.messages`; 0.137, the last 0.x; and 1.x, the latest.
 */
export const ANTHROPIC_VERSIONS = [
  ['@anthropic-ai/sdk 0.25', AnthropicV025],
  ['@anthropic-ai/sdk 0.41', AnthropicV041],
  ['@anthropic-ai/sdk 0.137', AnthropicV0137],
  ['@anthropic-ai/sdk 1.x', Anthropic],
] as const;

export type AnyAnthropic = typeof Anthropic | typeof AnthropicV0137 | typeof AnthropicV041 | typeof AnthropicV025;

/** The versions that have `beta.messages`. */
export const ANTHROPIC_BETA_VERSIONS = ANTHROPIC_VERSIONS.filter(([, Ctor]) => 'Beta' in Ctor);

/** Per-request simulated-server behaviour, as request options for the Anthropic client. */
export function sim(behavior: SimBehavior, extra: Record<string, unknown> = {}) {
  return { headers: { 'x-sim': JSON.stringify(behavior) }, ...extra };
}

/** The sim's origin: the Anthropic client adds `/v1/messages` itself. */
export function origin(simUrl: string): string {
  return simUrl.replace(/\/v1\/?$/, '');
}

// The three majors differ in their types; the tests use their shared surface.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyClient = any;

export function anthropicClient(Ctor: AnyAnthropic, simUrl: string, options: Record<string, unknown> = {}): AnyClient {
  return new (Ctor as typeof Anthropic)({ apiKey: 'sk-ant-test-not-a-secret', baseURL: origin(simUrl), maxRetries: 0, ...options });
}

export const MESSAGE_BODY = { model: 'claude-sim', max_tokens: 64, messages: [{ role: 'user' as const, content: 'hi' }] };
