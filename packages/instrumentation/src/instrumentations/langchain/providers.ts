/**
 * LangChain's provider names (`ls_provider`, the LangSmith standard params every LangChain model
 * reports) mapped to `gen_ai.provider.name`, and to the npm client library the model class calls,
 * so that a call a client adapter already records is not recorded again (core/instrumented.ts).
 */
import { PROVIDER } from '../../semconv.js';

export interface LangChainProvider {
  /** `gen_ai.provider.name`. */
  readonly provider: string;
  /** The npm package the model class sends its requests through, when a client adapter may record it. */
  readonly clientModule?: string;
}

const OPENAI = 'openai';

/**
 * By `ls_provider`. The client module is named only where the model class is known to call it:
 * ChatOpenAI, AzureChatOpenAI and the classes built on ChatOpenAI (DeepSeek, xAI, Fireworks,
 * Together) call `openai`; ChatAnthropic `@anthropic-ai/sdk`; ChatOllama `ollama`;
 * ChatBedrockConverse `@aws-sdk/client-bedrock-runtime`.
 */
const BY_LS_PROVIDER: Readonly<Record<string, LangChainProvider>> = {
  openai: { provider: PROVIDER.openai, clientModule: OPENAI },
  azure: { provider: PROVIDER.azureOpenai, clientModule: OPENAI },
  deepseek: { provider: PROVIDER.deepseek, clientModule: OPENAI },
  xai: { provider: PROVIDER.xAi, clientModule: OPENAI },
  fireworks: { provider: 'fireworks', clientModule: OPENAI },
  together: { provider: 'together', clientModule: OPENAI },
  anthropic: { provider: PROVIDER.anthropic, clientModule: '@anthropic-ai/sdk' },
  ollama: { provider: PROVIDER.ollama, clientModule: 'ollama' },
  amazon_bedrock: { provider: PROVIDER.awsBedrock, clientModule: '@aws-sdk/client-bedrock-runtime' },
  bedrock: { provider: PROVIDER.awsBedrock },
  google_genai: { provider: PROVIDER.gcpGemini, clientModule: '@google/generative-ai' },
  google_vertexai: { provider: PROVIDER.gcpVertexAi },
  google: { provider: PROVIDER.gcpGenAi },
  groq: { provider: PROVIDER.groq, clientModule: 'groq-sdk' },
  mistral: { provider: PROVIDER.mistralAi, clientModule: '@mistralai/mistralai' },
  mistralai: { provider: PROVIDER.mistralAi, clientModule: '@mistralai/mistralai' },
  cohere: { provider: PROVIDER.cohere, clientModule: 'cohere-ai' },
  perplexity: { provider: PROVIDER.perplexity },
  watsonx: { provider: PROVIDER.ibmWatsonxAi },
};

/** A provider name we pass on as LangChain gave it: short, no spaces or control characters. */
const CLEAN_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * The provider of a LangChain model from its `ls_provider`, else from its class name (LangChain
 * 1.x's own default: the class name without a leading `Chat`). Unknown names are kept as given
 * when they are clean, so a model class names its own provider; anything else is `_OTHER`.
 */
export function langchainProvider(lsProvider: unknown, className: unknown): LangChainProvider {
  if (typeof lsProvider === 'string' && lsProvider !== '') {
    const known = BY_LS_PROVIDER[lsProvider.toLowerCase()];
    if (known !== undefined) return known;
    return { provider: CLEAN_NAME.test(lsProvider) ? lsProvider : OTHER };
  }
  if (typeof className === 'string' && className !== '') {
    const name = className.startsWith('Chat') && className.length > 4 ? className.slice(4) : className;
    const known = BY_LS_PROVIDER[name.toLowerCase()];
    if (known !== undefined) return known;
    if (CLEAN_NAME.test(name)) return { provider: name };
  }
  return { provider: OTHER };
}

const OTHER = '_OTHER';
