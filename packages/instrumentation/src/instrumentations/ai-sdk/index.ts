export { AISDKInstrumentation, AI_SDK_SUPPORTED_VERSIONS, type AISDKInstrumentationConfig } from './instrumentation.js';
export {
  inferenceEmbeddingMiddleware,
  inferenceMiddleware,
  type InferenceEmbeddingModelMiddleware,
  type InferenceLanguageModelMiddleware,
  type InferenceMiddlewareOptions,
} from './middleware.js';
