/**
 * Every metric name, unit, attribute key, attribute value and bucket array used by
 * otel-inference. Names and buckets follow the OpenTelemetry GenAI semantic
 * conventions v1.41.1 wherever they define the metric; the `inference.*` metrics
 * are this project's own.
 */

export const METRIC = {
  operationDuration: 'gen_ai.client.operation.duration',
  tokenUsage: 'gen_ai.client.token.usage',
  timeToFirstChunk: 'gen_ai.client.operation.time_to_first_chunk',
  timePerOutputChunk: 'gen_ai.client.operation.time_per_output_chunk',
  requests: 'inference.requests',
  activeRequests: 'inference.requests.active',
  outputTokenRate: 'inference.output_token_rate',
} as const;

export const UNIT = {
  seconds: 's',
  tokens: '{token}',
  requests: '{request}',
  tokensPerSecond: '{token}/s',
} as const;

export const DESCRIPTION = {
  operationDuration: 'GenAI operation duration.',
  tokenUsage: 'Number of input and output tokens used, as reported by the provider.',
  timeToFirstChunk:
    'Time from issuing the request to receiving the first chunk that carries output, in a streaming operation.',
  timePerOutputChunk:
    'Time between consecutive output chunks of a streaming operation, recorded for each output chunk after the first.',
  requests: 'Inference requests that ended, by outcome.',
  activeRequests: 'Inference requests in flight.',
  outputTokenRate:
    'Output tokens per second: the decode rate of a stream, or output tokens over duration for a single response.',
} as const;

export const ATTR = {
  operationName: 'gen_ai.operation.name',
  providerName: 'gen_ai.provider.name',
  requestModel: 'gen_ai.request.model',
  responseModel: 'gen_ai.response.model',
  requestStream: 'gen_ai.request.stream',
  tokenType: 'gen_ai.token.type',
  serverAddress: 'server.address',
  serverPort: 'server.port',
  errorType: 'error.type',
  outcome: 'inference.outcome',
} as const;

export const OPERATION = {
  chat: 'chat',
  textCompletion: 'text_completion',
  embeddings: 'embeddings',
  generateContent: 'generate_content',
} as const;

export const TOKEN_TYPE = {
  input: 'input',
  output: 'output',
} as const;

export const OUTCOME = {
  success: 'success',
  error: 'error',
  cancelled: 'cancelled',
} as const;

export type Outcome = (typeof OUTCOME)[keyof typeof OUTCOME];

/** Values this library writes for `error.type` besides HTTP status codes and error class names. */
export const ERROR_TYPE = {
  timeout: 'timeout',
  /** A request still open when the process shut down (outcome `cancelled`). */
  shutdown: 'shutdown',
  other: '_OTHER',
} as const;

/** Well-known `gen_ai.provider.name` values, by API host. */
export const PROVIDER_BY_HOST: Readonly<Record<string, string>> = {
  'api.openai.com': 'openai',
  'api.anthropic.com': 'anthropic',
  'api.groq.com': 'groq',
  'api.deepseek.com': 'deepseek',
  'api.mistral.ai': 'mistral_ai',
  'api.x.ai': 'x_ai',
  'api.perplexity.ai': 'perplexity',
  'generativelanguage.googleapis.com': 'gcp.gemini',
};

export const PROVIDER = {
  openai: 'openai',
  azureOpenai: 'azure.ai.openai',
  /** Any other OpenAI-compatible server (vLLM, Ollama, a gateway) unless the user names it. */
  openaiCompatible: 'openai_compatible',
} as const;

/** The value a model outside the configured allowlist is collapsed to. */
export const OTHER_MODEL = 'other';

/** GenAI semconv explicit bucket boundaries for durations, in seconds. */
export const DURATION_BUCKETS = [
  0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
] as const;

/** GenAI semconv explicit bucket boundaries for token counts. */
export const TOKEN_BUCKETS = [
  1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
] as const;

/**
 * Output-token rate buckets, tokens/s. Not defined by semconv: powers of two from 1 to 8192
 * cover a CPU-bound local model (single digits) up to batched GPU decode (thousands).
 */
export const TOKENS_PER_SECOND_BUCKETS = [
  1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192,
] as const;

/**
 * The attribute of the series the OpenTelemetry SDK records into once a metric stream has reached
 * its cardinality limit (`otel.metric.overflow` = true). The aggregator (core/aggregator.ts) writes
 * the same series as the SDK does.
 */
export const OVERFLOW_ATTRIBUTE = 'otel.metric.overflow';

/** The instrumentation scope name every instrument is created under. */
export const METER_NAME = 'otel-inference';

/**
 * The kind of an OpenTelemetry instrument. It decides the Prometheus names: a `counter`
 * becomes a Prometheus counter (`_total`), a `histogram` the `_bucket`/`_sum`/`_count`
 * series, an `updowncounter` or `gauge` a Prometheus gauge.
 */
export type InstrumentKind = 'histogram' | 'counter' | 'updowncounter' | 'gauge';

/** One instrument: everything needed to create it and to name its Prometheus series. */
export interface InstrumentSpec {
  /** The OTel instrument name (a {@link METRIC} value). */
  readonly name: string;
  readonly kind: InstrumentKind;
  /** UCUM unit (a {@link UNIT} value). */
  readonly unit: string;
  readonly description: string;
  /** `int` for whole-number instruments (counts of tokens or requests). */
  readonly valueType: 'int' | 'double';
  /** Explicit bucket boundaries, histograms only. */
  readonly buckets?: readonly number[];
}

/**
 * Every instrument otel-inference creates, keyed like {@link METRIC}: the one place that
 * says which kind, unit, description and buckets each has. The instruments are created
 * from this table, and the Prometheus names (`PROMETHEUS_METRIC`) are derived from it.
 */
export const INSTRUMENT = {
  operationDuration: {
    name: METRIC.operationDuration,
    kind: 'histogram',
    unit: UNIT.seconds,
    description: DESCRIPTION.operationDuration,
    valueType: 'double',
    buckets: DURATION_BUCKETS,
  },
  tokenUsage: {
    name: METRIC.tokenUsage,
    kind: 'histogram',
    unit: UNIT.tokens,
    description: DESCRIPTION.tokenUsage,
    valueType: 'int',
    buckets: TOKEN_BUCKETS,
  },
  timeToFirstChunk: {
    name: METRIC.timeToFirstChunk,
    kind: 'histogram',
    unit: UNIT.seconds,
    description: DESCRIPTION.timeToFirstChunk,
    valueType: 'double',
    buckets: DURATION_BUCKETS,
  },
  timePerOutputChunk: {
    name: METRIC.timePerOutputChunk,
    kind: 'histogram',
    unit: UNIT.seconds,
    description: DESCRIPTION.timePerOutputChunk,
    valueType: 'double',
    buckets: DURATION_BUCKETS,
  },
  requests: {
    name: METRIC.requests,
    kind: 'counter',
    unit: UNIT.requests,
    description: DESCRIPTION.requests,
    valueType: 'int',
  },
  activeRequests: {
    name: METRIC.activeRequests,
    kind: 'updowncounter',
    unit: UNIT.requests,
    description: DESCRIPTION.activeRequests,
    valueType: 'int',
  },
  outputTokenRate: {
    name: METRIC.outputTokenRate,
    kind: 'histogram',
    unit: UNIT.tokensPerSecond,
    description: DESCRIPTION.outputTokenRate,
    valueType: 'double',
    buckets: TOKENS_PER_SECOND_BUCKETS,
  },
} as const satisfies { readonly [K in keyof typeof METRIC]: InstrumentSpec };

export type InstrumentKey = keyof typeof INSTRUMENT;
