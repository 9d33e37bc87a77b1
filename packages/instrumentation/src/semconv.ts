/**
 * Every metric name, unit, attribute key, attribute value and bucket array used by
 * otel-inference. Names and buckets follow the OpenTelemetry GenAI semantic
 * conventions v1.41.1 wherever they define the metric, except the five
 * `gen_ai.client.inference.usage.*` token counters, which come from the GenAI semantic
 * conventions repository (open-telemetry/semantic-conventions-genai, "inference token
 * metrics", on semantic conventions v1.44.0); the `inference.*` metrics are this project's own.
 */


export const METRIC = {
  operationDuration: 'gen_ai.client.operation.duration',
  tokenUsage: 'gen_ai.client.token.usage',
  timeToFirstChunk: 'gen_ai.client.operation.time_to_first_chunk',
  timePerOutputChunk: 'gen_ai.client.operation.time_per_output_chunk',
  requests: 'inference.requests',
  activeRequests: 'inference.requests.active',
  outputTokenRate: 'inference.output_token_rate',
  usageInputTokens: 'gen_ai.client.inference.usage.input_tokens',
  usageOutputTokens: 'gen_ai.client.inference.usage.output_tokens',
  usageCacheReadInputTokens: 'gen_ai.client.inference.usage.cache_read.input_tokens',
  usageCacheWriteInputTokens: 'gen_ai.client.inference.usage.cache_write.input_tokens',
  usageReasoningOutputTokens: 'gen_ai.client.inference.usage.reasoning.output_tokens',
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
  usageInputTokens: 'The number of input (prompt) tokens used, including cached tokens.',
  usageOutputTokens: 'The number of output (completion) tokens used, including reasoning tokens.',
  usageCacheReadInputTokens: 'The number of input tokens served from a provider-managed cache.',
  usageCacheWriteInputTokens: 'The number of input tokens written to a provider-managed cache.',
  usageReasoningOutputTokens: 'The number of output tokens used for reasoning (e.g. chain-of-thought, extended thinking).',
} as const;

export const ATTR = {
  operationName: 'gen_ai.operation.name',
  providerName: 'gen_ai.provider.name',
  requestModel: 'gen_ai.request.model',
  responseModel: 'gen_ai.response.model',
  requestStream: 'gen_ai.request.stream',
  tokenType: 'gen_ai.token.type',
  /** The modality of counted tokens, on the `gen_ai.client.inference.usage.*` counters: a {@link TOKEN_MODALITY} value. */
  tokenModality: 'gen_ai.token.modality',
  serverAddress: 'server.address',
  serverPort: 'server.port',
  errorType: 'error.type',
  outcome: 'inference.outcome',
  /** The low-cardinality name of the backend a gateway routed a request to, where the app gives one. */
  backend: 'inference.backend',
  /** A serving phase or stage: a {@link PHASE} value or an app's own stage name. */
  phase: 'inference.phase',
  /** The backend a fallback left, the one it went to, and why (an `error.type` value). */
  fallbackFrom: 'inference.fallback.from',
  fallbackTo: 'inference.fallback.to',
  fallbackReason: 'inference.fallback.reason',
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

/**
 * `gen_ai.token.modality` values. `unknown` when the provider does not break a count down by
 * modality, and for the 0 recorded when no usage arrived (GenAI semconv token metrics).
 */
export const TOKEN_MODALITY = {
  text: 'text',
  image: 'image',
  audio: 'audio',
  unknown: 'unknown',
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
  anthropic: 'anthropic',
  awsBedrock: 'aws.bedrock',
  /** generativelanguage.googleapis.com (the Gemini Developer API, AI Studio). */
  gcpGemini: 'gcp.gemini',
  /** aiplatform.googleapis.com. */
  gcpVertexAi: 'gcp.vertex_ai',
  /** Any other Google generative AI endpoint. */
  gcpGenAi: 'gcp.gen_ai',
  /** Not a semconv value (semconv names none for Ollama): this project's own. */
  ollama: 'ollama',
  /** Any other OpenAI-compatible server (vLLM, Ollama, a gateway) unless the user names it. */
  openaiCompatible: 'openai_compatible',
  mistralAi: 'mistral_ai',
  groq: 'groq',
  deepseek: 'deepseek',
  xAi: 'x_ai',
  perplexity: 'perplexity',
  cohere: 'cohere',
  ibmWatsonxAi: 'ibm.watsonx.ai',
  azureAiInference: 'azure.ai.inference',
} as const;

/** Phases a model server reports; apps may name other stages (label values stay bounded). */
export const PHASE = {
  prefill: 'prefill',
  decode: 'decode',
  tokenize: 'tokenize',
  batch: 'batch',
  postprocess: 'postprocess',
} as const;

/**
 * The value a model is collapsed to when it is outside the configured allowlist, is not a clean
 * label value, or comes after the bound of distinct models (core/labels.ts).
 */
export const OTHER_MODEL = 'other';

/** The value a backend name is collapsed to when it is not a clean label value or comes after the bound of distinct backends. */
export const OTHER_BACKEND = 'other';

/** GenAI semconv explicit bucket boundaries for durations, in seconds. */
export const DURATION_BUCKETS = [
  0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
] as const;

/** GenAI semconv explicit bucket boundaries for token counts. */
export const TOKEN_BUCKETS = [
  1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
] as const;

/** GenAI semconv explicit bucket boundaries for `gen_ai.server.time_to_first_token`, in seconds. */
export const SERVER_TTFT_BUCKETS = [
  0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
] as const;

/** GenAI semconv explicit bucket boundaries for `gen_ai.server.time_per_output_token`, in seconds. */
export const SERVER_TPOT_BUCKETS = [
  0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5,
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
  usageInputTokens: {
    name: METRIC.usageInputTokens,
    kind: 'counter',
    unit: UNIT.tokens,
    description: DESCRIPTION.usageInputTokens,
    valueType: 'int',
  },
  usageOutputTokens: {
    name: METRIC.usageOutputTokens,
    kind: 'counter',
    unit: UNIT.tokens,
    description: DESCRIPTION.usageOutputTokens,
    valueType: 'int',
  },
  usageCacheReadInputTokens: {
    name: METRIC.usageCacheReadInputTokens,
    kind: 'counter',
    unit: UNIT.tokens,
    description: DESCRIPTION.usageCacheReadInputTokens,
    valueType: 'int',
  },
  usageCacheWriteInputTokens: {
    name: METRIC.usageCacheWriteInputTokens,
    kind: 'counter',
    unit: UNIT.tokens,
    description: DESCRIPTION.usageCacheWriteInputTokens,
    valueType: 'int',
  },
  usageReasoningOutputTokens: {
    name: METRIC.usageReasoningOutputTokens,
    kind: 'counter',
    unit: UNIT.tokens,
    description: DESCRIPTION.usageReasoningOutputTokens,
    valueType: 'int',
  },
} as const satisfies { readonly [K in keyof typeof METRIC]: InstrumentSpec };

export type InstrumentKey = keyof typeof INSTRUMENT;

/**
 * The serving side: metrics a model server or gateway records for the requests it *serves*
 * (zero-code for OpenAI-compatible routes on node:http, or through `startServerRequest`). The
 * three `gen_ai.server.*` ones are GenAI semconv's; the `inference.server.*` ones are the server
 * twins of the client instruments, named apart so a gateway that is also a client never mixes
 * the two sides in one series.
 */
export const SERVER_METRIC = {
  requestDuration: 'gen_ai.server.request.duration',
  timeToFirstToken: 'gen_ai.server.time_to_first_token',
  timePerOutputToken: 'gen_ai.server.time_per_output_token',
  requests: 'inference.server.requests',
  activeRequests: 'inference.server.requests.active',
  waitingRequests: 'inference.server.requests.waiting',
  queueDuration: 'inference.server.queue.duration',
  phaseDuration: 'inference.server.phase.duration',
  tokens: 'inference.server.tokens',
  outputTokenRate: 'inference.server.output_token_rate',
} as const;

export const SERVER_DESCRIPTION = {
  requestDuration: 'Generative AI server request duration such as time-to-last byte or last output token.',
  timeToFirstToken: 'Time to generate first token for successful responses.',
  timePerOutputToken: 'Time per output token generated after the first token for successful responses.',
  requests: 'Inference requests served that ended, by outcome.',
  activeRequests: 'Inference requests being served (admitted or not).',
  waitingRequests: 'Inference requests queued and not yet admitted.',
  queueDuration: 'Time a served request waited in the queue: until it was admitted, or until it ended unadmitted.',
  phaseDuration: 'Time a served request spent in a phase or stage (prefill, decode, tokenize...).',
  tokens: 'Tokens a server read (input) and generated (output), counted as they happen.',
  outputTokenRate: 'Output tokens per second of a served request, over its decode time.',
} as const;

/** Every serving-side instrument, keyed like {@link SERVER_METRIC}. */
export const SERVER_INSTRUMENT = {
  requestDuration: {
    name: SERVER_METRIC.requestDuration,
    kind: 'histogram',
    unit: UNIT.seconds,
    description: SERVER_DESCRIPTION.requestDuration,
    valueType: 'double',
    buckets: DURATION_BUCKETS,
  },
  timeToFirstToken: {
    name: SERVER_METRIC.timeToFirstToken,
    kind: 'histogram',
    unit: UNIT.seconds,
    description: SERVER_DESCRIPTION.timeToFirstToken,
    valueType: 'double',
    buckets: SERVER_TTFT_BUCKETS,
  },
  timePerOutputToken: {
    name: SERVER_METRIC.timePerOutputToken,
    kind: 'histogram',
    unit: UNIT.seconds,
    description: SERVER_DESCRIPTION.timePerOutputToken,
    valueType: 'double',
    buckets: SERVER_TPOT_BUCKETS,
  },
  requests: {
    name: SERVER_METRIC.requests,
    kind: 'counter',
    unit: UNIT.requests,
    description: SERVER_DESCRIPTION.requests,
    valueType: 'int',
  },
  activeRequests: {
    name: SERVER_METRIC.activeRequests,
    kind: 'updowncounter',
    unit: UNIT.requests,
    description: SERVER_DESCRIPTION.activeRequests,
    valueType: 'int',
  },
  waitingRequests: {
    name: SERVER_METRIC.waitingRequests,
    kind: 'updowncounter',
    unit: UNIT.requests,
    description: SERVER_DESCRIPTION.waitingRequests,
    valueType: 'int',
  },
  queueDuration: {
    name: SERVER_METRIC.queueDuration,
    kind: 'histogram',
    unit: UNIT.seconds,
    description: SERVER_DESCRIPTION.queueDuration,
    valueType: 'double',
    buckets: DURATION_BUCKETS,
  },
  phaseDuration: {
    name: SERVER_METRIC.phaseDuration,
    kind: 'histogram',
    unit: UNIT.seconds,
    description: SERVER_DESCRIPTION.phaseDuration,
    valueType: 'double',
    buckets: DURATION_BUCKETS,
  },
  tokens: {
    name: SERVER_METRIC.tokens,
    kind: 'counter',
    unit: UNIT.tokens,
    description: SERVER_DESCRIPTION.tokens,
    valueType: 'int',
  },
  outputTokenRate: {
    name: SERVER_METRIC.outputTokenRate,
    kind: 'histogram',
    unit: UNIT.tokensPerSecond,
    description: SERVER_DESCRIPTION.outputTokenRate,
    valueType: 'double',
    buckets: TOKENS_PER_SECOND_BUCKETS,
  },
} as const satisfies { readonly [K in keyof typeof SERVER_METRIC]: InstrumentSpec };

export type ServerInstrumentKey = keyof typeof SERVER_INSTRUMENT;

/**
 * Well-known gauges a model server reports through `observeServerGauge` (an observable gauge read
 * at each collection). Ratios are in unit `1`, from 0 to 1 (Prometheus names end in `_ratio`).
 */
export const SERVER_GAUGE = {
  batchSize: {
    name: 'inference.server.batch.size',
    kind: 'gauge',
    unit: '{request}',
    description: 'Requests in the batch the server is running now.',
    valueType: 'int',
  },
  kvCacheUtilization: {
    name: 'inference.server.kv_cache.utilization',
    kind: 'gauge',
    unit: '1',
    description: 'Fraction of the KV cache in use, from 0 to 1.',
    valueType: 'double',
  },
  paddingRatio: {
    name: 'inference.server.padding.ratio',
    kind: 'gauge',
    unit: '1',
    description: 'Fraction of the token slots of the current batch that are padding, from 0 to 1.',
    valueType: 'double',
  },
  queueSize: {
    name: 'inference.server.queue.size',
    kind: 'gauge',
    unit: '{request}',
    description: "Requests waiting in one of the server's own queues, by inference.phase (a stage's queue).",
    valueType: 'int',
  },
} as const satisfies { readonly [key: string]: InstrumentSpec & { readonly kind: 'gauge' } };

export type ServerGaugeKey = keyof typeof SERVER_GAUGE;

/** Gateways: what a request routed across backends records beside the client-side series. */
export const GATEWAY_METRIC = {
  fallbacks: 'inference.fallbacks',
} as const;

export const GATEWAY_INSTRUMENT = {
  fallbacks: {
    name: GATEWAY_METRIC.fallbacks,
    kind: 'counter',
    unit: '{fallback}',
    description: 'Requests a gateway moved from one backend to the next, by from, to and reason.',
    valueType: 'int',
  },
} as const satisfies { readonly [K in keyof typeof GATEWAY_METRIC]: InstrumentSpec };

export type GatewayInstrumentKey = keyof typeof GATEWAY_INSTRUMENT;

/**
 * GPU gauges, semconv `hw.gpu.*` (hardware conventions), read from `nvidia-smi` where it exists.
 * Every point carries `hw.type` = `gpu` and `hw.id`; `hw.name` and `hw.vendor` where known.
 */
export const GPU_METRIC = {
  utilization: 'hw.gpu.utilization',
  memoryUtilization: 'hw.gpu.memory.utilization',
  memoryUsage: 'hw.gpu.memory.usage',
  memoryLimit: 'hw.gpu.memory.limit',
} as const;

export const GPU_ATTR = {
  type: 'hw.type',
  id: 'hw.id',
  name: 'hw.name',
  vendor: 'hw.vendor',
  model: 'hw.model',
  driverVersion: 'hw.driver_version',
} as const;

/** `hw.type` of the GPU gauges. */
export const HW_TYPE = { gpu: 'gpu' } as const;

export const GPU_INSTRUMENT = {
  utilization: {
    name: GPU_METRIC.utilization,
    kind: 'gauge',
    unit: '1',
    description: 'Fraction of time the GPU was busy over the last sample period (nvidia-smi utilization.gpu).',
    valueType: 'double',
  },
  memoryUtilization: {
    name: GPU_METRIC.memoryUtilization,
    kind: 'gauge',
    unit: '1',
    description: 'Fraction of GPU memory used.',
    valueType: 'double',
  },
  memoryUsage: {
    name: GPU_METRIC.memoryUsage,
    kind: 'updowncounter',
    unit: 'By',
    description: 'GPU memory used.',
    valueType: 'int',
  },
  memoryLimit: {
    name: GPU_METRIC.memoryLimit,
    kind: 'updowncounter',
    unit: 'By',
    description: 'Size of the GPU memory.',
    valueType: 'int',
  },
} as const satisfies { readonly [K in keyof typeof GPU_METRIC]: InstrumentSpec };

export type GpuInstrumentKey = keyof typeof GPU_INSTRUMENT;

/**
 * The host and process metrics of `@opentelemetry/instrumentation-host-metrics`, which
 * `otel-inference/register` enables with OTEL_INFERENCE_HOST_METRICS (groups `system.cpu`,
 * `system.memory`, `process.cpu`, `process.memory`; not `system.network`). That library creates
 * and records them; this table only describes them as it creates them, for dashboards and docs
 * (a test keeps it in step with the library). Several have no unit there, so their Prometheus
 * names carry no unit suffix.
 */
export const HOST_METRIC = {
  systemCpuTime: 'system.cpu.time',
  systemCpuUtilization: 'system.cpu.utilization',
  systemMemoryUsage: 'system.memory.usage',
  systemMemoryUtilization: 'system.memory.utilization',
  processCpuTime: 'process.cpu.time',
  processCpuUtilization: 'process.cpu.utilization',
  processMemoryUsage: 'process.memory.usage',
} as const;

export const HOST_ATTR = {
  /** `user`, `system`, `idle`, `interrupt`, `nice` (`process.cpu.*`: `user`, `system`). */
  cpuMode: 'cpu.mode',
  /** `system.cpu.*` only: one series per logical CPU, `"0"`, `"1"`, … */
  cpuLogicalNumber: 'cpu.logical_number',
  /** `used` or `free`. */
  systemMemoryState: 'system.memory.state',
} as const;

export const HOST_INSTRUMENT = {
  systemCpuTime: {
    name: HOST_METRIC.systemCpuTime,
    kind: 'counter',
    unit: 's',
    description: 'Cpu time in seconds',
    valueType: 'double',
  },
  systemCpuUtilization: {
    name: HOST_METRIC.systemCpuUtilization,
    kind: 'gauge',
    unit: '',
    description: 'Cpu usage time 0-1',
    valueType: 'double',
  },
  systemMemoryUsage: {
    name: HOST_METRIC.systemMemoryUsage,
    kind: 'gauge',
    unit: '',
    description: 'Memory usage in bytes',
    valueType: 'double',
  },
  systemMemoryUtilization: {
    name: HOST_METRIC.systemMemoryUtilization,
    kind: 'gauge',
    unit: '',
    description: 'Memory usage 0-1',
    valueType: 'double',
  },
  processCpuTime: {
    name: HOST_METRIC.processCpuTime,
    kind: 'counter',
    unit: 's',
    description: 'Process Cpu time in seconds',
    valueType: 'double',
  },
  processCpuUtilization: {
    name: HOST_METRIC.processCpuUtilization,
    kind: 'gauge',
    unit: '',
    description: 'Process Cpu usage time 0-1',
    valueType: 'double',
  },
  processMemoryUsage: {
    name: HOST_METRIC.processMemoryUsage,
    kind: 'gauge',
    unit: '',
    description: 'Process Memory usage in bytes',
    valueType: 'double',
  },
} as const satisfies { readonly [K in keyof typeof HOST_METRIC]: InstrumentSpec };

export type HostInstrumentKey = keyof typeof HOST_INSTRUMENT;
