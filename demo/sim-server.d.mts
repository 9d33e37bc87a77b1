// Types for demo/sim-server.mjs (a hand-written declaration: the module itself is plain JavaScript).
import type { Server } from 'node:http';

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
  /** Value of the `retry-after-ms` header on error responses. Default: `0` for 429, none otherwise. */
  retryAfterMs?: number;
  /** Embedding dimensions when the request has no `dimensions`. Default 8. */
  embeddingDim?: number;
}

export interface SimServerOptions extends SimBehavior {
  /** 0 (default) picks a free port. */
  port?: number;
  /** Default '127.0.0.1'. */
  host?: string;
  /** 'demo': realistic models with jittered latency and occasional 429/500 (see DEMO_MODELS). */
  profile?: 'demo' | 'none';
  /** Seed of the demo profile's random generator, for reproducible runs. */
  seed?: number;
  /** Keep every request in `requests` (default true; the CLI turns it off so memory stays flat). */
  recordRequests?: boolean;
}

export interface SimRequestRecord {
  method: string;
  /** URL path, e.g. '/v1/chat/completions'. */
  path: string;
  /** Request headers, lower-cased names. */
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON body (null when empty, the raw text when not JSON). */
  body: any;
}

export interface SimServer {
  /** Base URL for the openai client, e.g. 'http://127.0.0.1:PORT/v1'. */
  readonly url: string;
  readonly port: number;
  readonly host: string;
  /** Every request received, in order (empty with `recordRequests: false`). */
  readonly requests: SimRequestRecord[];
  /** The underlying node:http server. */
  readonly server: Server;
  /** Stops listening and destroys open sockets (in-flight streams are cut). */
  close(): Promise<void>;
}

export interface DemoModel {
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

export interface DemoEmbeddingModel {
  readonly name: string;
  readonly latencyMs: number;
  readonly jitter: number;
  readonly dimensions: number;
  readonly rate429: number;
  readonly rate500: number;
}

/** Chat / completions / responses models of the demo profile. */
export declare const DEMO_MODELS: readonly DemoModel[];
/** Embedding models of the demo profile. */
export declare const DEMO_EMBEDDING_MODELS: readonly DemoEmbeddingModel[];

export declare function startSimServer(options?: SimServerOptions): Promise<SimServer>;
