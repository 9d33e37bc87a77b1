// The behaviour of one request: server-level defaults, then the profile's sample, then the
// `x-sim` request header.

import { isPlainObject } from './json.js';

/**
 * Behaviour of one request. Each field can be set as a server-level default (option of
 * `startSimServer`) and overridden per request with the `x-sim` header (JSON of this shape).
 */
export interface SimBehavior {
  /** Delay (ms, from receiving the request) to the first output chunk. Default 0. */
  ttftMs?: number;
  /** Delay (ms) between consecutive output chunks. Default 0. */
  chunkMs?: number;
  /** Number of content chunks. Default 5. */
  chunks?: number;
  /** Output tokens per chunk (`completion_tokens` = chunks * tokensPerChunk). Default 1. */
  tokensPerChunk?: number;
  /** Reported input tokens. Default 7. */
  promptTokens?: number;
  /** Answer at once with this HTTP status (>= 400) and an OpenAI-style JSON error body. */
  status?: number;
  /** Apply `status` only to the first N requests carrying the same `x-sim-key` header value. */
  failTimes?: number;
  /**
   * Streams: reset the connection (TCP RST) right after this many content chunks
   * (0: at the time the first content chunk was due). Non-streaming requests: reset instead of answering.
   */
  dropAfterChunks?: number;
  /**
   * Streams of providers that report errors inside the stream (Anthropic's `error` event,
   * Bedrock's exception event, Gemini's and Ollama's error object): send that error right after
   * this many content chunks instead of the rest of the stream (0: before the first). Each
   * provider's handler encodes it in its own wire format.
   */
  errorAfterChunks?: number;
  /** Delay (ms) before the response headers are sent. Default 0. */
  headerDelayMs?: number;
  /** Never report usage (no usage chunk, no `usage` in non-streaming bodies). */
  noUsage?: boolean;
  /** Answer 400 "Unrecognized request argument supplied: stream_options" when the body has `stream_options`. */
  rejectStreamOptions?: boolean;
  /** Chat/completions streams: send a `choices: []` chunk and a chunk without `choices` before the content. */
  emptyChoicesChunk?: boolean;
  /** Content chunks carry `delta.tool_calls` (Responses: a function_call item) instead of text. */
  toolCall?: boolean;
  /** Content chunks carry `delta.refusal` (Responses: refusal deltas) instead of text. */
  refusal?: boolean;
  /** Chunks of `delta.reasoning_content` before the content, counted as output (and reasoning) tokens. Default 0. */
  reasoningChunks?: number;
  /**
   * The part of `promptTokens` reported as read from the provider's prompt cache (OpenAI
   * `cached_tokens`, Anthropic `cache_read_input_tokens`, Gemini `cachedContentTokenCount`,
   * Bedrock `cacheReadInputTokens`). Default 0.
   */
  cacheReadTokens?: number;
  /** The part of `promptTokens` reported as written to the prompt cache (Anthropic, Bedrock). Default 0. */
  cacheWriteTokens?: number;
  /** Value of the `retry-after-ms` header on error responses. Default: `0` for 429, none otherwise. */
  retryAfterMs?: number;
  /** Embedding dimensions when the request has no `dimensions`. Default 8. */
  embeddingDim?: number;
}

/**
 * The behaviour a request is served with. The `x-sim` values are JSON taken as sent (not
 * validated), so a field may in fact hold another JSON type; the code below treats them the way
 * plain JavaScript would.
 */
export interface Behavior extends SimBehavior {
  ttftMs: number;
  chunkMs: number;
  chunks: number;
  tokensPerChunk: number;
  promptTokens: number;
  headerDelayMs: number;
  noUsage: boolean;
  rejectStreamOptions: boolean;
  emptyChoicesChunk: boolean;
  toolCall: boolean;
  refusal: boolean;
  reasoningChunks: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  embeddingDim: number;
  /**
   * A profile's jittered schedule: the delay before each output chunk after the first (index 0
   * is unused). Replaces `chunkMs` when it covers every chunk.
   */
  chunkDelays?: number[];
}

/** Fields accepted in the `x-sim` header and as server-level defaults. */
export const SIM_FIELDS = [
  'ttftMs',
  'chunkMs',
  'chunks',
  'tokensPerChunk',
  'promptTokens',
  'status',
  'failTimes',
  'dropAfterChunks',
  'errorAfterChunks',
  'headerDelayMs',
  'noUsage',
  'rejectStreamOptions',
  'emptyChoicesChunk',
  'toolCall',
  'refusal',
  'reasoningChunks',
  'cacheReadTokens',
  'cacheWriteTokens',
  'retryAfterMs',
  'embeddingDim',
] as const satisfies readonly (keyof SimBehavior)[];

export const BASE_DEFAULTS: Readonly<Behavior> = Object.freeze({
  ttftMs: 0,
  chunkMs: 0,
  chunks: 5,
  tokensPerChunk: 1,
  promptTokens: 7,
  status: undefined,
  failTimes: undefined,
  dropAfterChunks: undefined,
  errorAfterChunks: undefined,
  headerDelayMs: 0,
  noUsage: false,
  rejectStreamOptions: false,
  emptyChoicesChunk: false,
  toolCall: false,
  refusal: false,
  reasoningChunks: 0,
  cacheReadTokens: 0,
  cacheWriteTokens: 0,
  retryAfterMs: undefined,
  embeddingDim: 8,
});

/** The SIM_FIELDS of `obj` that are not undefined (nothing when `obj` is not an object). */
export function pickSimFields(obj: unknown): SimBehavior {
  const out: Record<string, unknown> = {};
  if (!isPlainObject(obj)) return out;
  for (const key of SIM_FIELDS) {
    if (obj[key] !== undefined) out[key] = obj[key];
  }
  return out;
}

/**
 * Parses the `x-sim` header: its behaviour fields, or the message of a 400 answer. An absent or
 * blank header is no override.
 */
export function parseSimHeader(header: string | string[] | undefined): { behavior: SimBehavior } | { error: string } {
  let overrides: unknown = {};
  if (typeof header === 'string' && header.trim() !== '') {
    try {
      overrides = JSON.parse(header);
    } catch (err) {
      return { error: `sim-server: invalid x-sim header JSON: ${(err as Error).message}` };
    }
    if (!isPlainObject(overrides)) return { error: 'sim-server: x-sim header must be a JSON object' };
  }
  return { behavior: pickSimFields(overrides) };
}
