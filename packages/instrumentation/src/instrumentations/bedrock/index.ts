export { BedrockInstrumentation, BEDROCK_SUPPORTED_VERSIONS, type BedrockInstrumentationConfig } from './instrumentation.js';
export { instrumentBedrock, type BedrockInstrumentationOptions } from './patch.js';
