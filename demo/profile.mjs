// The demo's model profile for the simulated server (sim/): several models with realistic,
// jittered latency and a small share of failures. Plain data (a SimProfile, see sim/profile.ts),
// so the load generator can read the model names without loading the server.

/** Chat/completions models of the demo profile. Latencies in ms; jitter is a ± fraction. */
export const DEMO_MODELS = Object.freeze([
  Object.freeze({
    name: 'llama-3.1-8b',
    ttftMs: 150,
    msPerToken: 15,
    tokensPerChunk: 1,
    minTokens: 20,
    maxTokens: 120,
    jitter: 0.3,
    rate429: 0.02,
    rate500: 0.01,
  }),
  Object.freeze({
    name: 'qwen2.5-32b',
    ttftMs: 400,
    msPerToken: 35,
    tokensPerChunk: 1,
    minTokens: 20,
    maxTokens: 120,
    jitter: 0.3,
    rate429: 0.02,
    rate500: 0.01,
  }),
  Object.freeze({
    name: 'gpt-4o-mini-sim',
    ttftMs: 250,
    msPerToken: 20,
    // OpenAI's own streams often carry a few tokens per chunk.
    tokensPerChunk: 2,
    minTokens: 20,
    maxTokens: 120,
    jitter: 0.3,
    rate429: 0.02,
    rate500: 0.01,
  }),
]);

/** Embedding models of the demo profile (POST /v1/embeddings). */
export const DEMO_EMBEDDING_MODELS = Object.freeze([
  Object.freeze({ name: 'bge-small-sim', latencyMs: 25, jitter: 0.3, dimensions: 384, rate429: 0.02, rate500: 0.01 }),
]);

/** For a model name that is not in DEMO_MODELS. */
const DEMO_FALLBACK_MODEL = Object.freeze({
  name: '*',
  ttftMs: 300,
  msPerToken: 25,
  tokensPerChunk: 1,
  minTokens: 20,
  maxTokens: 120,
  jitter: 0.3,
  rate429: 0.02,
  rate500: 0.01,
});

/** The demo profile: `startSimServer({ profile: DEMO_PROFILE })`. */
export const DEMO_PROFILE = Object.freeze({
  models: DEMO_MODELS,
  fallbackModel: DEMO_FALLBACK_MODEL,
  embeddingModels: DEMO_EMBEDDING_MODELS,
});
