export { OllamaInstrumentation, OLLAMA_SUPPORTED_VERSIONS, type OllamaInstrumentationConfig } from './instrumentation.js';
export { instrumentOllama, type OllamaInstrumentationOptions } from './patch.js';
export { isOllamaOutputChunk, ollamaResponseModel, ollamaUsage } from './shapes.js';
