import { afterEach, describe, expect, it } from 'vitest';
import {
  AnthropicInstrumentation,
  BedrockInstrumentation,
  INFERENCE_INSTRUMENTATIONS,
  InferenceServerInstrumentation,
  OpenAIInstrumentation,
  enabledByEnv,
  getInferenceInstrumentations,
} from '../../../packages/instrumentation/src/index.js';

const saved = { ...process.env };
afterEach(() => {
  for (const name of ['OTEL_NODE_ENABLED_INSTRUMENTATIONS', 'OTEL_NODE_DISABLED_INSTRUMENTATIONS']) {
    if (saved[name] === undefined) delete process.env[name];
    else process.env[name] = saved[name];
  }
});

describe('the instrumentation registry', () => {
  it('names each instrumentation once, with the modules it patches', () => {
    expect(INFERENCE_INSTRUMENTATIONS.map((e) => [e.name, e.modules])).toEqual([
      ['inference-openai', ['openai']],
      ['inference-anthropic', ['@anthropic-ai/sdk']],
      ['inference-bedrock', ['@aws-sdk/client-bedrock-runtime']],
      // Patches node:http/https prototypes when enabled: no loader hook needed.
      ['inference-server', []],
    ]);
    expect(INFERENCE_INSTRUMENTATIONS[0]!.create({ enabled: false })).toBeInstanceOf(OpenAIInstrumentation);
    expect(INFERENCE_INSTRUMENTATIONS[1]!.create({ enabled: false })).toBeInstanceOf(AnthropicInstrumentation);
    expect(INFERENCE_INSTRUMENTATIONS[2]!.create({ enabled: false })).toBeInstanceOf(BedrockInstrumentation);
    expect(INFERENCE_INSTRUMENTATIONS[3]!.create({ enabled: false })).toBeInstanceOf(InferenceServerInstrumentation);
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
    process.env.OTEL_NODE_DISABLED_INSTRUMENTATIONS = 'inference-openai,inference-anthropic,inference-bedrock,inference-server';
    expect(getInferenceInstrumentations()).toEqual([]);
    const forced = getInferenceInstrumentations({ 'inference-openai': { enabled: true } });
    expect(forced).toHaveLength(1);
    expect(forced[0]).toBeInstanceOf(OpenAIInstrumentation);
    forced[0]!.disable();
    delete process.env.OTEL_NODE_DISABLED_INSTRUMENTATIONS;
    expect(
      getInferenceInstrumentations({
        'inference-openai': { enabled: false },
        'inference-anthropic': { enabled: false },
        'inference-bedrock': { enabled: false },
        'inference-server': { enabled: false },
      }),
    ).toEqual([]);
  });
});
