// Profiles: instead of the fixed default behaviour, each request gets a latency, an output length
// and an occasional error sampled from the model it names. The profile is data (the demo's lives
// in demo/profile.mjs); the sampling is here.

import type { Behavior } from './behavior.js';
import { isPlainObject, type JsonObject } from './json.js';
import { jittered, type Random } from './random.js';

/** A chat / completions / responses model of a profile. Latencies in ms; jitter is a ± fraction. */
export interface SimModel {
  readonly name: string;
  /** Mean time to first token (ms). */
  readonly ttftMs: number;
  /** Mean time per output token (ms). */
  readonly msPerToken: number;
  readonly tokensPerChunk: number;
  /** Output length range (tokens), uniform. */
  readonly minTokens: number;
  readonly maxTokens: number;
  /** ± fraction applied to the TTFT and to each chunk delay. */
  readonly jitter: number;
  /** Share of requests answered 429 / 500. */
  readonly rate429: number;
  readonly rate500: number;
}

/** An embedding model of a profile (POST /v1/embeddings). */
export interface SimEmbeddingModel {
  readonly name: string;
  /** Mean latency (ms) of the whole response. */
  readonly latencyMs: number;
  readonly jitter: number;
  /** Embedding dimensions when the request has no `dimensions`. */
  readonly dimensions: number;
  readonly rate429: number;
  readonly rate500: number;
}

/**
 * Models with realistic, jittered latency and a small share of failures. The `x-sim` header still
 * overrides whatever is sampled; explicit `chunkMs`, `chunks`, `reasoningChunks` or
 * `tokensPerChunk` there replace the sampled schedule. Output text becomes random words.
 */
export interface SimProfile {
  /** Chat / completions / responses models, listed by GET /v1/models. */
  readonly models: readonly SimModel[];
  /** For a model name not in `models` (not listed). Default: the first of `models`. */
  readonly fallbackModel?: SimModel;
  /** Embedding models, listed by GET /v1/models; an unknown name gets the first one. */
  readonly embeddingModels?: readonly SimEmbeddingModel[];
}

/** What a route serves. */
export type RouteKind = 'chat' | 'completions' | 'responses' | 'embeddings';

export function isSimProfile(v: unknown): v is SimProfile {
  return isPlainObject(v) && Array.isArray(v.models) && (v.embeddingModels === undefined || Array.isArray(v.embeddingModels));
}

/** Model ids of GET /v1/models. */
export function profileModelNames(profile: SimProfile): string[] {
  return [...profile.models, ...(profile.embeddingModels ?? [])].map((m) => m.name);
}

/** Rough token estimate: ~4 characters per token. */
export function estimateTokens(value: unknown): number {
  let chars = 0;
  let parts = 0;
  const visit = (v: unknown): void => {
    if (typeof v === 'string') {
      chars += v.length;
      parts++;
    } else if (Array.isArray(v)) {
      v.forEach(visit);
    } else if (isPlainObject(v)) {
      if (typeof v.content === 'string' || Array.isArray(v.content)) visit(v.content);
      else if (typeof v.text === 'string') visit(v.text);
    }
  };
  visit(value);
  return Math.max(1, Math.ceil(chars / 4) + parts * 4);
}

/** Samples the profile's behaviour for one request (nothing when the profile has no model for it). */
export function sampleProfile(profile: SimProfile, kind: RouteKind, body: JsonObject, random: Random): Partial<Behavior> {
  if (kind === 'embeddings') {
    const models = profile.embeddingModels ?? [];
    const m = models.find((x) => x.name === body.model) ?? models[0];
    if (!m) return {};
    const r = random();
    return {
      ttftMs: jittered(random, m.latencyMs, m.jitter),
      embeddingDim: m.dimensions,
      promptTokens: estimateTokens(body.input),
      status: r < m.rate429 ? 429 : r < m.rate429 + m.rate500 ? 500 : undefined,
    };
  }
  const m = profile.models.find((x) => x.name === body.model) ?? profile.fallbackModel ?? profile.models[0];
  if (!m) return {};
  const r = random();
  let tokens = m.minTokens + Math.floor(random() * (m.maxTokens - m.minTokens + 1));
  const cap = body.max_completion_tokens ?? body.max_tokens ?? body.max_output_tokens;
  if (Number.isInteger(cap) && (cap as number) > 0) tokens = Math.min(tokens, cap as number);
  const k = m.tokensPerChunk;
  const chunks = Math.max(1, Math.ceil(tokens / k));
  const chunkMs = m.msPerToken * k;
  const chunkDelays: number[] = [];
  for (let i = 0; i < chunks; i++) chunkDelays.push(jittered(random, chunkMs, m.jitter));
  const input = kind === 'chat' ? body.messages : body.input ?? body.prompt;
  return {
    ttftMs: jittered(random, m.ttftMs, m.jitter),
    chunkMs,
    chunks,
    tokensPerChunk: k,
    chunkDelays,
    promptTokens: estimateTokens(input) + (typeof body.instructions === 'string' ? estimateTokens(body.instructions) : 0),
    status: r < m.rate429 ? 429 : r < m.rate429 + m.rate500 ? 500 : undefined,
  };
}

