/**
 * The library instrumentations, by name: the one table that the register entry's loader hook
 * (which modules to intercept), its boot (what to enable) and the docs read. A new client
 * library plugs in here.
 *
 * Names follow the OpenTelemetry Node.js convention: `OTEL_NODE_ENABLED_INSTRUMENTATIONS` and
 * `OTEL_NODE_DISABLED_INSTRUMENTATIONS` are comma lists of names, the disabled list wins, and an
 * unset or empty enabled list means "all". Ours carry an `inference-` prefix, so that the
 * upstream `openai` name (@opentelemetry/instrumentation-openai, for auto-instrumentations-node
 * in the same process) switches only that one.
 */
import type { Instrumentation } from '@opentelemetry/instrumentation';
import {
  AnthropicInstrumentation,
  ANTHROPIC_SUPPORTED_VERSIONS,
  type AnthropicInstrumentationConfig,
} from './anthropic/instrumentation.js';
import { AISDKInstrumentation, AI_SDK_SUPPORTED_VERSIONS, type AISDKInstrumentationConfig } from './ai-sdk/instrumentation.js';
import { OllamaInstrumentation, OLLAMA_SUPPORTED_VERSIONS, type OllamaInstrumentationConfig } from './ollama/instrumentation.js';
import { OpenAIInstrumentation, OPENAI_SUPPORTED_VERSIONS, type OpenAIInstrumentationConfig } from './openai/instrumentation.js';
import {
  GoogleGenAIInstrumentation,
  GOOGLE_GENAI_SUPPORTED_VERSIONS,
  type GoogleGenAIInstrumentationConfig,
} from './google-genai/instrumentation.js';
import {
  LangChainInstrumentation,
  LANGCHAIN_MODULES,
  LANGCHAIN_SUPPORTED_VERSIONS,
  type LangChainInstrumentationConfig,
} from './langchain/instrumentation.js';
import { BedrockInstrumentation, BEDROCK_SUPPORTED_VERSIONS, type BedrockInstrumentationConfig } from './bedrock/instrumentation.js';
import { InferenceServerInstrumentation, type InferenceServerInstrumentationConfig } from './server/instrumentation.js';

export interface InstrumentationEntry<C = unknown> {
  /** The name in OTEL_NODE_ENABLED_INSTRUMENTATIONS / OTEL_NODE_DISABLED_INSTRUMENTATIONS. */
  readonly name: string;
  /**
   * The npm packages it patches; the ESM loader hook intercepts exactly these. Empty for one
   * that patches Node.js built-ins' prototypes when enabled, which needs no hook.
   */
  readonly modules: readonly string[];
  /** The versions of those packages it patches (semver ranges). */
  readonly supportedVersions: readonly string[];
  /** One line for the docs: what it records. */
  readonly description: string;
  readonly create: (config?: C) => Instrumentation;
}

/** Configuration by instrumentation name, for {@link getInferenceInstrumentations}. */
export interface InferenceInstrumentationsConfig {
  'inference-openai'?: OpenAIInstrumentationConfig;
  'inference-anthropic'?: AnthropicInstrumentationConfig;
  'inference-ai-sdk'?: AISDKInstrumentationConfig;
  'inference-google-genai'?: GoogleGenAIInstrumentationConfig;
  'inference-bedrock'?: BedrockInstrumentationConfig;
  'inference-langchain'?: LangChainInstrumentationConfig;
  'inference-ollama'?: OllamaInstrumentationConfig;
  'inference-server'?: InferenceServerInstrumentationConfig;
}

export type InferenceInstrumentationName = keyof InferenceInstrumentationsConfig;

type Entries = { readonly [N in InferenceInstrumentationName]: InstrumentationEntry<InferenceInstrumentationsConfig[N]> };

const ENTRIES: Entries = {
  'inference-openai': {
    name: 'inference-openai',
    modules: ['openai'],
    supportedVersions: OPENAI_SUPPORTED_VERSIONS,
    description: 'the `openai` client: chat.completions, completions, responses and embeddings, streamed or not',
    create: (config) => new OpenAIInstrumentation(config),
  },
  'inference-anthropic': {
    name: 'inference-anthropic',
    modules: ['@anthropic-ai/sdk'],
    supportedVersions: ANTHROPIC_SUPPORTED_VERSIONS,
    description:
      'the `@anthropic-ai/sdk` client: messages.create and beta.messages.create, streamed or not, and messages.stream() through them',
    create: (config) => new AnthropicInstrumentation(config),
  },
  'inference-ai-sdk': {
    name: 'inference-ai-sdk',
    modules: ['ai'],
    supportedVersions: AI_SDK_SUPPORTED_VERSIONS,
    description:
      'the Vercel AI SDK (`ai`), any provider: generateText, streamText, generateObject, streamObject, embed and embedMany, each model call',
    create: (config) => new AISDKInstrumentation(config),
  },
  'inference-google-genai': {
    name: 'inference-google-genai',
    modules: ['@google/genai'],
    supportedVersions: GOOGLE_GENAI_SUPPORTED_VERSIONS,
    description:
      'the `@google/genai` client: models.generateContent, generateContentStream and embedContent (and chats on them), Gemini API and Vertex AI',
    create: (config) => new GoogleGenAIInstrumentation(config),
  },
  'inference-bedrock': {
    name: 'inference-bedrock',
    modules: ['@aws-sdk/client-bedrock-runtime'],
    supportedVersions: BEDROCK_SUPPORTED_VERSIONS,
    description:
      '`@aws-sdk/client-bedrock-runtime`: Converse, ConverseStream, InvokeModel and InvokeModelWithResponseStream sent through the client',
    create: (config) => new BedrockInstrumentation(config),
  },
  'inference-langchain': {
    name: 'inference-langchain',
    // The public specifiers of the files hooked (BaseChatModel, BaseLLM): every model package
    // imports one of them.
    modules: LANGCHAIN_MODULES,
    supportedVersions: LANGCHAIN_SUPPORTED_VERSIONS,
    description:
      '`@langchain/core`: every chat model and LLM run, of any model class, through a callback handler on its configure hook; runs of a client library another entry records are left to it',
    create: (config) => new LangChainInstrumentation(config),
  },
  'inference-ollama': {
    name: 'inference-ollama',
    // `ollama/browser` is a module of its own for the ESM loader hook (an import of it is not an
    // import of `ollama`); the client class both export is defined there.
    modules: ['ollama', 'ollama/browser'],
    supportedVersions: OLLAMA_SUPPORTED_VERSIONS,
    description: 'the `ollama` client: chat and generate (streamed or not), embed and embeddings',
    create: (config) => new OllamaInstrumentation(config),
  },
  'inference-server': {
    name: 'inference-server',
    // node:http and node:https: their Server and ServerResponse prototypes are patched when the
    // instrumentation is enabled, which covers every import of them, ESM or CJS, earlier or later.
    modules: [],
    supportedVersions: ['*'],
    description:
      'the server side of node:http and node:https (and Express, Fastify, Hono on them): OpenAI-compatible routes served, streamed or not',
    create: (config) => new InferenceServerInstrumentation(config),
  },
};

/** Every library instrumentation of this package, in a stable order: the client libraries, then the server side. */
export const INFERENCE_INSTRUMENTATIONS: readonly InstrumentationEntry[] = Object.values(ENTRIES) as InstrumentationEntry[];

function envList(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
}

/**
 * Whether `name` is switched on by OTEL_NODE_ENABLED_INSTRUMENTATIONS /
 * OTEL_NODE_DISABLED_INSTRUMENTATIONS, as @opentelemetry/auto-instrumentations-node reads them.
 * Names of other packages in those lists are someone else's and are ignored.
 */
export function enabledByEnv(name: string, env: NodeJS.ProcessEnv = process.env): boolean {
  if (envList(env.OTEL_NODE_DISABLED_INSTRUMENTATIONS).includes(name)) return false;
  const enabled = envList(env.OTEL_NODE_ENABLED_INSTRUMENTATIONS);
  return enabled.length === 0 || enabled.includes(name);
}

/**
 * The inference instrumentations to pass to the NodeSDK (`instrumentations: [...]`) or to
 * `registerInstrumentations`, like `getNodeAutoInstrumentations()`: every one the environment
 * leaves on, each with its config. A config's `enabled` overrides the environment.
 */
export function getInferenceInstrumentations(config: InferenceInstrumentationsConfig = {}): Instrumentation[] {
  const out: Instrumentation[] = [];
  for (const name of Object.keys(ENTRIES) as InferenceInstrumentationName[]) {
    const own = config[name];
    if (own?.enabled ?? enabledByEnv(name)) out.push(ENTRIES[name].create(own));
  }
  return out;
}
