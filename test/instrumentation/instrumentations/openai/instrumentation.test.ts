/**
 * OpenAIInstrumentation as an OpenTelemetry Instrumentation, in process: it records through the
 * MeterProvider it is given (never the global one), follows a provider given after patching,
 * applies its config, and its unpatch restores the original methods. The real require/import
 * hooks and the real NodeSDK are tested in child processes (test/instrumentation/node-sdk.test.ts).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import { metrics } from '@opentelemetry/api';
import type { InstrumentationModuleDefinition } from '@opentelemetry/instrumentation';
import { startSimServer, type SimServer } from '../../../../sim/index.js';
import { OpenAIInstrumentation } from '../../../../packages/instrumentation/src/index.js';
import { ATTR, METRIC } from '../../../../packages/instrumentation/src/semconv.js';
import { client } from '../../../helpers/openai.js';
import { createTestMetrics, type TestMetrics } from '../../../helpers/metrics.js';

let server: SimServer;
const created: TestMetrics[] = [];
const cleanups: (() => void)[] = [];

beforeAll(async () => {
  server = await startSimServer({ port: 0 });
});
afterAll(async () => {
  await server.close();
});
afterEach(async () => {
  while (cleanups.length > 0) cleanups.pop()!();
  for (const t of created.splice(0)) await t.shutdown();
});

function testMetrics(): TestMetrics {
  const t = createTestMetrics();
  created.push(t);
  return t;
}

/** What the require/import hooks would do when `openai` loads: the module definition's patch. */
function patchLoaded(instrumentation: OpenAIInstrumentation): InstrumentationModuleDefinition {
  const [definition] = instrumentation.getModuleDefinitions();
  expect(definition!.name).toBe('openai');
  definition!.patch!(OpenAI, '7.0.0');
  cleanups.push(() => definition!.unpatch!(OpenAI, '7.0.0'));
  return definition!;
}

const chat = () => client(OpenAI, server.url).chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }] });

describe('OpenAIInstrumentation', () => {
  it('is disabled until enabled when asked, and names the openai versions it patches', () => {
    const instrumentation = new OpenAIInstrumentation({ enabled: false });
    expect(instrumentation.isEnabled()).toBe(false);
    expect(instrumentation.instrumentationName).toBe('@otel-inference/instrumentation/openai');
    expect(instrumentation.getModuleDefinitions()[0]!.supportedVersions).toEqual(['>=4.0.0 <8']);
  });

  it('records through the MeterProvider it is given, not the global one', async () => {
    const given = testMetrics();
    const global = testMetrics();
    expect(metrics.setGlobalMeterProvider(global.provider)).toBe(true);
    cleanups.push(() => metrics.disable());
    const instrumentation = new OpenAIInstrumentation({ enabled: false });
    instrumentation.setMeterProvider(given.provider);
    patchLoaded(instrumentation);
    await chat();
    expect((await given.collect()).total(METRIC.requests, { [ATTR.requestModel]: 'm' })).toBe(1);
    expect((await global.collect()).total(METRIC.requests)).toBe(0);
  });

  it('follows a MeterProvider given after openai was patched', async () => {
    const first = testMetrics();
    const second = testMetrics();
    const instrumentation = new OpenAIInstrumentation({ enabled: false });
    instrumentation.setMeterProvider(first.provider);
    patchLoaded(instrumentation);
    await chat();
    instrumentation.setMeterProvider(second.provider);
    await chat();
    expect((await first.collect()).total(METRIC.requests)).toBe(1);
    expect((await second.collect()).total(METRIC.requests)).toBe(1);
  });

  it('applies its config: model allowlist, provider name, stream usage', async () => {
    const t = testMetrics();
    const instrumentation = new OpenAIInstrumentation({ enabled: false, modelAllowlist: ['gpt-4o'], providerName: 'vllm' });
    instrumentation.setMeterProvider(t.provider);
    patchLoaded(instrumentation);
    await chat();
    const c = await t.collect();
    expect(c.total(METRIC.requests, { [ATTR.requestModel]: 'other', [ATTR.providerName]: 'vllm' })).toBe(1);
  });

  it('unpatch restores the very original methods, and nothing is recorded after it', async () => {
    const originals = [OpenAI.Chat.Completions, OpenAI.Completions, OpenAI.Embeddings, OpenAI.Responses].map((c) => c.prototype.create);
    const t = testMetrics();
    const instrumentation = new OpenAIInstrumentation({ enabled: false });
    instrumentation.setMeterProvider(t.provider);
    const definition = patchLoaded(instrumentation);
    expect(OpenAI.Chat.Completions.prototype.create).not.toBe(originals[0]);
    definition.unpatch!(OpenAI, '7.0.0');
    expect([OpenAI.Chat.Completions, OpenAI.Completions, OpenAI.Embeddings, OpenAI.Responses].map((c) => c.prototype.create)).toEqual(originals);
    await chat();
    expect((await t.collect()).total(METRIC.requests)).toBe(0);
  });
});
