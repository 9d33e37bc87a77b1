export { OpenAIInstrumentation, OPENAI_SUPPORTED_VERSIONS, type OpenAIInstrumentationConfig } from './instrumentation.js';
export { instrumentOpenAI, type OpenAIInstrumentationOptions } from './patch.js';
export type { StreamUsage } from './stream-usage.js';
