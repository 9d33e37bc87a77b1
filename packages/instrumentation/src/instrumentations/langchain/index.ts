export { InferenceCallbackHandler, type InferenceCallbackHandlerOptions } from './handler.js';
export {
  HANDLER_CONTEXT_VARIABLE,
  instrumentLangChain,
  type LangChainInstrumentationOptions,
  type LangChainModules,
} from './instrument.js';
export {
  LangChainInstrumentation,
  LANGCHAIN_MODULES,
  LANGCHAIN_SUPPORTED_VERSIONS,
  type LangChainInstrumentationConfig,
} from './instrumentation.js';
