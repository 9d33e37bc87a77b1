// The route table: every wire protocol the simulated server speaks. Each provider's module adds
// its routes here (one import and one spread per provider); the server itself is shared, and
// with it the per-request behaviour (`x-sim`), the failure injection and the request log.

import type { OutgoingHttpHeaders } from 'node:http';
import type { Behavior } from './behavior.js';
import type { Handler } from './context.js';
import { anthropicErrorBody, anthropicErrorHeaders, handleAnthropicCountTokens, handleAnthropicMessages } from './handlers/anthropic.js';
import { BEDROCK_HANDLERS, bedrockErrorBody, bedrockErrorHeaders, bedrockPath } from './handlers/bedrock.js';
import { handleChat } from './handlers/chat.js';
import { handleCompletions } from './handlers/completions.js';
import { handleEmbeddings } from './handlers/embeddings.js';
import { geminiErrorBody, handleEmbed, handleGenerateContent, handleStreamGenerateContent, modelMethod } from './handlers/gemini.js';
import { handleResponses } from './handlers/responses.js';
import { handleOllamaChat, handleOllamaEmbed, handleOllamaEmbeddings, handleOllamaGenerate, ollamaErrorBody } from './handlers/ollama.js';
import { errorBody } from './http.js';
import type { RouteKind } from './profile.js';

/** Values a route's pattern captured from the path, e.g. the model of `/models/{model}:…`. */
export type RouteParams = Readonly<Record<string, string>>;

export interface Route {
  /** What the route serves, for a profile's sampling. */
  readonly kind: RouteKind;
  /**
   * Whether this route serves `path` (the URL path, with any leading `/v1` removed), and the
   * values it captured.
   */
  readonly match: (path: string) => RouteParams | undefined;
  readonly handler: Handler;
  /** The provider's own error body for `status` (default: OpenAI's). */
  readonly errorBody?: (status: number, message?: string) => unknown;
  /** Headers the provider adds to an injected error answer (`status`), e.g. Anthropic's `retry-after`, AWS's `x-amzn-errortype`. */
  readonly errorHeaders?: (status: number, behavior: Behavior) => OutgoingHttpHeaders;
}

/** A route for one exact path. */
export function exactPath(path: string): (candidate: string) => RouteParams | undefined {
  return (candidate) => (candidate === path ? {} : undefined);
}

/** OpenAI's API, and every OpenAI-compatible server's. */
const OPENAI_ROUTES: readonly Route[] = [
  { kind: 'chat', match: exactPath('/chat/completions'), handler: handleChat, errorBody },
  { kind: 'completions', match: exactPath('/completions'), handler: handleCompletions, errorBody },
  { kind: 'responses', match: exactPath('/responses'), handler: handleResponses, errorBody },
  { kind: 'embeddings', match: exactPath('/embeddings'), handler: handleEmbeddings, errorBody },
];

/** Anthropic's Messages API (sim/handlers/anthropic.ts); `/v1/messages?beta=true` is the same path. */
const ANTHROPIC_ROUTES: readonly Route[] = [
  {
    kind: 'chat',
    match: exactPath('/messages'),
    handler: handleAnthropicMessages,
    errorBody: anthropicErrorBody,
    errorHeaders: anthropicErrorHeaders,
  },
  { kind: 'chat', match: exactPath('/messages/count_tokens'), handler: handleAnthropicCountTokens, errorBody: anthropicErrorBody },
];

/** Google's Gemini API and Vertex AI (handlers/gemini.ts), as @google/genai calls them. */
const GEMINI_ROUTES: readonly Route[] = [
  { kind: 'chat', match: modelMethod('generateContent'), handler: handleGenerateContent, errorBody: geminiErrorBody },
  { kind: 'chat', match: modelMethod('streamGenerateContent'), handler: handleStreamGenerateContent, errorBody: geminiErrorBody },
  { kind: 'embeddings', match: modelMethod('embedContent'), handler: handleEmbed('embedContent'), errorBody: geminiErrorBody },
  { kind: 'embeddings', match: modelMethod('batchEmbedContents'), handler: handleEmbed('batchEmbedContents'), errorBody: geminiErrorBody },
  { kind: 'embeddings', match: modelMethod('predict'), handler: handleEmbed('predict'), errorBody: geminiErrorBody },
];

/** Ollama's native API (the `ollama` npm client's), NDJSON streams and `{"error": "…"}` bodies. */
const OLLAMA_ROUTES: readonly Route[] = [
  { kind: 'chat', match: exactPath('/api/chat'), handler: handleOllamaChat, errorBody: ollamaErrorBody },
  { kind: 'completions', match: exactPath('/api/generate'), handler: handleOllamaGenerate, errorBody: ollamaErrorBody },
  { kind: 'embeddings', match: exactPath('/api/embed'), handler: handleOllamaEmbed, errorBody: ollamaErrorBody },
  { kind: 'embeddings', match: exactPath('/api/embeddings'), handler: handleOllamaEmbeddings, errorBody: ollamaErrorBody },
];
/** Amazon Bedrock Runtime (sim/handlers/bedrock.ts): POST /model/{modelId}/{converse,converse-stream,invoke,invoke-with-response-stream}. */
const BEDROCK_ROUTES: readonly Route[] = (['converse', 'converse-stream', 'invoke', 'invoke-with-response-stream'] as const).map(
  (action) => ({
    kind: 'chat',
    match: bedrockPath(action),
    handler: BEDROCK_HANDLERS[action]!,
    errorBody: bedrockErrorBody,
    errorHeaders: bedrockErrorHeaders,
  }),
);


export const ROUTES: readonly Route[] = [
  ...OPENAI_ROUTES,
  ...ANTHROPIC_ROUTES,
  ...GEMINI_ROUTES,
  ...BEDROCK_ROUTES,
  ...OLLAMA_ROUTES,
];

/** The route serving `path`, with what it captured. */
export function findRoute(path: string): { route: Route; params: RouteParams } | undefined {
  for (const route of ROUTES) {
    const params = route.match(path);
    if (params !== undefined) return { route, params };
  }
  return undefined;
}
