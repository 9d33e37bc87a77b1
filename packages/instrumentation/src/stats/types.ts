/**
 * The `/v1/stats` JSON document: its TypeScript types. The JSON Schema is
 * packages/otel-inference/stats.schema.json; docs/stats.md says where each number comes from.
 * Keys are snake_case; durations are in seconds (`_s`); a number that cannot be computed (a
 * quantile of no observations, a rate over no time) is `null`, never NaN.
 */

/** The version of the document's shape: a change that breaks a reader increments it. */
export const STATS_SCHEMA_VERSION = 1;

/** Observations of one histogram over a period, with Prometheus `histogram_quantile` quantiles. */
export interface QuantileStats {
  /** Observations in the period (the histogram's `_count` increase). */
  count: number;
  /** Their sum (the `_sum` increase), in the histogram's unit. */
  sum: number;
  /** Quantiles from the bucket counts; null with no observations. */
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

/** Requests that ended in the period, by `inference.outcome`. */
export interface RequestCounts {
  total: number;
  success: number;
  error: number;
  cancelled: number;
}

/** One side's numbers over one period (the process's lifetime, or the recent window). */
export interface PeriodStats {
  requests: RequestCounts;
  /** error / total; null when no request ended. */
  error_rate: number | null;
  /** total / the period's seconds; null over no time. */
  requests_per_s: number | null;
  /** Duration of successful requests (`inference.outcome` = success). */
  duration_s: QuantileStats;
  /** Time to first output chunk (client) or token (server). */
  ttft_s: QuantileStats;
  /** Tokens read and written in the period. */
  tokens: { input: number; output: number };
  /** tokens.output / the period's seconds: throughput; null over no time. */
  output_tokens_per_s: number | null;
  /** The per-request output rate histogram (tokens/s of each request), for its quantiles. */
  output_token_rate: QuantileStats;
}

export interface ClientPeriodStats extends PeriodStats {
  /** Gaps between output chunks of streams. */
  time_per_output_chunk_s: QuantileStats;
}

export interface ServerPeriodStats extends PeriodStats {
  /** semconv's time per output token: (duration − TTFT) / (output tokens − 1), per request. */
  time_per_output_token_s: QuantileStats;
  /** Time requests waited before admission. */
  queue_s: QuantileStats;
}

export interface ClientSideStats {
  /** Requests in flight now. */
  active: number;
  lifetime: ClientPeriodStats;
  window: ClientPeriodStats;
}

export interface BackendStats extends ClientSideStats {
  /** The `inference.backend` value a gateway routed these calls to. */
  backend: string;
}

export interface ServerSideStats {
  /** Requests being served now. */
  active: number;
  /** Requests queued and not yet admitted now. */
  waiting: number;
  lifetime: ServerPeriodStats;
  window: ServerPeriodStats;
}

export interface ModelStats {
  /**
   * `gen_ai.request.model` (else `gen_ai.response.model`) of the series; null for series with
   * neither (a call with no model, or the `otel.metric.overflow` series past the cardinality limit).
   */
  model: string | null;
  /** The calls this process made (`gen_ai.client.*`, `inference.*`); absent when none. */
  client?: ClientSideStats;
  /** The requests this process served (`gen_ai.server.*`, `inference.server.*`); absent when none. */
  server?: ServerSideStats;
  /** The client side again, split by `inference.backend`: only the calls that carry one. */
  backends?: BackendStats[];
}

export interface FallbackCount {
  from: string | null;
  to: string | null;
  reason: string | null;
  count: number;
}

export interface InferenceStats {
  schema_version: typeof STATS_SCHEMA_VERSION;
  /** When the snapshot was taken (ISO 8601, UTC). */
  time: string;
  /** Seconds since the process started: the span of every `lifetime` period. */
  uptime_s: number;
  /** The recent period every `window` covers. */
  window: {
    /** The window asked for (OTEL_INFERENCE_STATS_WINDOW, default 60). */
    target_s: number;
    /** The span actually covered: between two snapshots, so at least target_s once complete. */
    seconds: number;
    /** False until a snapshot at least target_s old exists: the window is then shorter. */
    complete: boolean;
  };
  /** Sorted by model name, the null model last. */
  models: ModelStats[];
  /** Gateways: requests moved from one backend to the next (`inference.fallbacks`), by from, to, reason. */
  fallbacks: { lifetime: FallbackCount[]; window: FallbackCount[] };
}
