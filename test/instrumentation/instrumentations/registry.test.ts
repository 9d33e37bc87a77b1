import { afterEach, describe, expect, it } from 'vitest';
import {
  AISDKInstrumentation,
  AnthropicInstrumentation,
  BedrockInstrumentation,
  GoogleGenAIInstrumentation,
  INFERENCE_INSTRUMENTATIONS,
  InferenceServerInstrumentation,
  LangChainInstrumentation,
  OllamaInstrumentation,
  OpenAIInstrumentation,
  enabledByEnv,
  getInferenceInstrumentations,
  type InferenceInstrumentationsConfig,
} from '../../../packages/instrumentation/src/index.js';

/** The registry as it must be: name, the modules its loader hook intercepts, its class; in order. */
const EXPECTED = [
  ['inference-openai', ['openai'], OpenAIInstrumentation],
  ['inference-anthropic', ['@anthropic-ai/sdk'], AnthropicInstrumentation],
  ['inference-ai-sdk', ['ai'], AISDKInstrumentation],
  ['inference-google-genai', ['@google/genai'], GoogleGenAIInstrumentation],
  ['inference-bedrock', ['@aws-sdk/client-bedrock-runtime'], BedrockInstrumentation],
  // The ESM loader hook matches exact specifiers: the two modules whose classes are patched.
  ['inference-langchain', ['@langchain/core/language_models/chat_models', '@langchain/core/language_models/llms'], LangChainInstrumentation],
  // `ollama/browser` is a module of its own for the ESM loader hook.
  ['inference-ollama', ['ollama', 'ollama/browser'], OllamaInstrumentation],
  // Patches node:http/https prototypes when enabled: no loader hook needed.
  ['inference-server', [], InferenceServerInstrumentation],
] as const;

const saved = { ...process.env };
afterEach(() => {
  for (const name of ['OTEL_NODE_ENABLED_INSTRUMENTATIONS', 'OTEL_NODE_DISABLED_INSTRUMENTATIONS']) {
    if (saved[name] === undefined) delete process.env[name];
    else process.env[name] = saved[name];
  }
});

describe('the instrumentation registry', () => {
  it('names each instrumentation once, with the modules it patches', () => {
    expect(INFERENCE_INSTRUMENTATIONS.map((e) => [e.name, e.modules])).toEqual(EXPECTED.map(([name, modules]) => [name, modules]));
    EXPECTED.forEach(([, , cls], i) => expect(INFERENCE_INSTRUMENTATIONS[i]!.create({ enabled: false })).toBeInstanceOf(cls));
  });

  it.each([
    [{}, true],
    [{ OTEL_NODE_ENABLED_INSTRUMENTATIONS: '' }, true],
    [{ OTEL_NODE_ENABLED_INSTRUMENTATIONS: 'http, inference-openai' }, true],
    [{ OTEL_NODE_ENABLED_INSTRUMENTATIONS: 'http,openai' }, false],
    [{ OTEL_NODE_DISABLED_INSTRUMENTATIONS: 'openai' }, true],
    [{ OTEL_NODE_DISABLED_INSTRUMENTATIONS: ' inference-openai ' }, false],
    [{ OTEL_NODE_ENABLED_INSTRUMENTATIONS: 'inference-openai', OTEL_NODE_DISABLED_INSTRUMENTATIONS: 'inference-openai' }, false],
  ])('OTEL_NODE_*_INSTRUMENTATIONS %j → inference-openai on: %s', (env, on) => {
    expect(enabledByEnv('inference-openai', env)).toBe(on);
  });

  it('getInferenceInstrumentations follows the environment; a config `enabled` overrides it', () => {
    process.env.OTEL_NODE_DISABLED_INSTRUMENTATIONS = EXPECTED.map(([name]) => name).join(',');
    expect(getInferenceInstrumentations()).toEqual([]);
    const forced = getInferenceInstrumentations({ 'inference-openai': { enabled: true } });
    expect(forced).toHaveLength(1);
    expect(forced[0]).toBeInstanceOf(OpenAIInstrumentation);
    forced[0]!.disable();
    delete process.env.OTEL_NODE_DISABLED_INSTRUMENTATIONS;
    const allOff = Object.fromEntries(EXPECTED.map(([name]) => [name, { enabled: false }])) as InferenceInstrumentationsConfig;
    expect(getInferenceInstrumentations(allOff)).toEqual([]);
  });
});
