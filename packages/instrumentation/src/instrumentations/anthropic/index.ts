export { AnthropicInstrumentation, ANTHROPIC_SUPPORTED_VERSIONS, type AnthropicInstrumentationConfig } from './instrumentation.js';
export { instrumentAnthropic, type AnthropicInstrumentationOptions } from './patch.js';
export { anthropicTokenUsage, type AnthropicUsage } from './readers.js';
