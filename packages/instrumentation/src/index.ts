export {
  InferenceMetrics,
  createInferenceMetrics,
  type CallOptions,
  type InferenceMetricsOptions,
  type InferenceRequest,
  type StreamOptions,
  type TrackerOptions,
} from './core/metrics.js';
export { cancelOpenRequests, type InferenceResult, type InferenceTracker } from './core/recorder.js';
export {
  createInferenceAggregator,
  type InferenceAggregator,
  type InferenceAggregatorOptions,
  type InferenceMetricProducer,
  type ReaderSelectors,
} from './core/aggregator.js';
export {
  extractResponseModel,
  extractUsage,
  isOutputChunk,
  type OutputChunkPredicate,
  type ResponseModelExtractor,
  type TokenUsage,
  type UsageExtractor,
} from './core/shapes.js';
export {
  currentBackend,
  recordFallback,
  withBackend,
  withFallback,
  type FallbackBackend,
  type FallbackOptions,
  type RecordFallbackOptions,
} from './gateway/index.js';
export {
  startServerRequest,
  type ServerPhase,
  type ServerRequest,
  type ServerRequestOptions,
  type ServerRequestResult,
  observeServerGauge,
  type ServerGaugeCallback,
  type ServerGaugeHandle,
  type ServerGaugeObservation,
  type ServerGaugeOptions,
  type ServerGaugeSpec,
} from './server/index.js';
export { InferenceInstrumentation, type InferenceInstrumentationConfig } from './instrumentations/base.js';
export {
  INFERENCE_INSTRUMENTATIONS,
  enabledByEnv,
  getInferenceInstrumentations,
  type InferenceInstrumentationName,
  type InferenceInstrumentationsConfig,
  type InstrumentationEntry,
} from './instrumentations/registry.js';
export {
  OpenAIInstrumentation,
  OPENAI_SUPPORTED_VERSIONS,
  instrumentOpenAI,
  type OpenAIInstrumentationConfig,
  type OpenAIInstrumentationOptions,
  type StreamUsage,
} from './instrumentations/openai/index.js';
export {
  BedrockInstrumentation,
  BEDROCK_SUPPORTED_VERSIONS,
  instrumentBedrock,
  type BedrockInstrumentationConfig,
  type BedrockInstrumentationOptions,
} from './instrumentations/bedrock/index.js';
export {
  AnthropicInstrumentation,
  ANTHROPIC_SUPPORTED_VERSIONS,
  anthropicTokenUsage,
  instrumentAnthropic,
  type AnthropicInstrumentationConfig,
  type AnthropicInstrumentationOptions,
  type AnthropicUsage,
} from './instrumentations/anthropic/index.js';
export {
  GoogleGenAIInstrumentation,
  GOOGLE_GENAI_SUPPORTED_VERSIONS,
  geminiUsage,
  instrumentGoogleGenAI,
  type GoogleGenAIInstrumentationConfig,
  type GoogleGenAIInstrumentationOptions,
} from './instrumentations/google-genai/index.js';
export {
  AISDKInstrumentation,
  AI_SDK_SUPPORTED_VERSIONS,
  inferenceEmbeddingMiddleware,
  inferenceMiddleware,
  type AISDKInstrumentationConfig,
  type InferenceEmbeddingModelMiddleware,
  type InferenceLanguageModelMiddleware,
  type InferenceMiddlewareOptions,
} from './instrumentations/ai-sdk/index.js';
export {
  HANDLER_CONTEXT_VARIABLE,
  InferenceCallbackHandler,
  instrumentLangChain,
  LangChainInstrumentation,
  LANGCHAIN_MODULES,
  LANGCHAIN_SUPPORTED_VERSIONS,
  type InferenceCallbackHandlerOptions,
  type LangChainInstrumentationConfig,
  type LangChainInstrumentationOptions,
  type LangChainModules,
} from './instrumentations/langchain/index.js';
export { isInstrumented, markInstrumented } from './core/instrumented.js';
export {
  OllamaInstrumentation,
  OLLAMA_SUPPORTED_VERSIONS,
  instrumentOllama,
  isOllamaOutputChunk,
  ollamaResponseModel,
  ollamaUsage,
  type OllamaInstrumentationConfig,
  type OllamaInstrumentationOptions,
} from './instrumentations/ollama/index.js';
export {
  DEFAULT_SERVER_ROUTES,
  InferenceServerInstrumentation,
  operationOfPath,
  parseServerRoute,
  type InferenceServerInstrumentationConfig,
  type ServerRoute,
} from './instrumentations/server/index.js';
export {
  ATTR,
  DURATION_BUCKETS,
  GATEWAY_INSTRUMENT,
  GATEWAY_METRIC,
  GPU_ATTR,
  GPU_INSTRUMENT,
  GPU_METRIC,
  HOST_ATTR,
  HOST_INSTRUMENT,
  HOST_METRIC,
  HW_TYPE,
  INSTRUMENT,
  METER_NAME,
  METRIC,
  OPERATION,
  OUTCOME,
  PHASE,
  SERVER_GAUGE,
  SERVER_INSTRUMENT,
  SERVER_METRIC,
  SERVER_TPOT_BUCKETS,
  SERVER_TTFT_BUCKETS,
  TOKEN_BUCKETS,
  TOKENS_PER_SECOND_BUCKETS,
  type GpuInstrumentKey,
  type HostInstrumentKey,
  type InstrumentKey,
  type InstrumentKind,
  type InstrumentSpec,
  type Outcome,
  type ServerGaugeKey,
  type ServerInstrumentKey,
} from './semconv.js';
export {
  PROMETHEUS_GPU_METRIC,
  PROMETHEUS_HOST_METRIC,
  PROMETHEUS_LABEL,
  PROMETHEUS_GATEWAY_METRIC,
  PROMETHEUS_METRIC,
  PROMETHEUS_SERVER_GAUGE,
  PROMETHEUS_SERVER_METRIC,
  prometheusLabel,
  prometheusMetric,
  prometheusName,
  type PrometheusMetric,
} from './prometheus-names.js';
export { bucketTotal, histogramQuantile, mergeBuckets, subtractBuckets, type Buckets } from './stats/quantiles.js';
export {
  buildStats,
  emptyStatsSnapshot,
  readStatsSnapshot,
  statsToJson,
  type BuildStatsOptions,
  type CollectionLike,
  type DataPointLike,
  type MetricDataLike,
  type ResourceMetricsLike,
  type StatsSnapshot,
} from './stats/snapshot.js';
export {
  createStatsSource,
  DEFAULT_STATS_WINDOW_SECONDS,
  StatsCollectionError,
  type StatsSource,
  type StatsSourceOptions,
} from './stats/source.js';
export {
  STATS_SCHEMA_VERSION,
  type BackendStats,
  type ClientPeriodStats,
  type ClientSideStats,
  type FallbackCount,
  type InferenceStats,
  type ModelStats,
  type PeriodStats,
  type QuantileStats,
  type RequestCounts,
  type ServerPeriodStats,
  type ServerSideStats,
} from './stats/types.js';
export { VERSION } from './version.js';

import { defaultInferenceMetrics, type InferenceMetrics } from './core/metrics.js';

/** Records a promise-returning (or plain) call into the global MeterProvider. See {@link InferenceMetrics.instrumentCall}. */
export const instrumentCall: InferenceMetrics['instrumentCall'] =
  defaultInferenceMetrics.instrumentCall.bind(defaultInferenceMetrics);

/** Records a stream into the global MeterProvider. See {@link InferenceMetrics.instrumentStream}. */
export const instrumentStream: InferenceMetrics['instrumentStream'] =
  defaultInferenceMetrics.instrumentStream.bind(defaultInferenceMetrics) as InferenceMetrics['instrumentStream'];

/** Starts a manually tracked request in the global MeterProvider. See {@link InferenceMetrics.startRequest}. */
export const startRequest: InferenceMetrics['startRequest'] =
  defaultInferenceMetrics.startRequest.bind(defaultInferenceMetrics);
