export {
  GoogleGenAIInstrumentation,
  GOOGLE_GENAI_SUPPORTED_VERSIONS,
  type GoogleGenAIInstrumentationConfig,
} from './instrumentation.js';
export { instrumentGoogleGenAI, type GoogleGenAIInstrumentationOptions } from './patch.js';
export { geminiUsage } from './usage.js';
