/**
 * BedrockInstrumentation as an OpenTelemetry Instrumentation, in process: the module definition
 * it hands the require/import hooks patches the loaded module, records through the MeterProvider
 * it is given, and its unpatch restores `send`. The registry entry lists the module for the ESM
 * loader hook. (The real hooks run in test/otel-inference/register/bedrock.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimServer, type SimServer } from '../../../../sim/index.js';
import {
  BedrockInstrumentation,
  INFERENCE_INSTRUMENTATIONS,
  getInferenceInstrumentations,
} from '../../../../packages/instrumentation/src/index.js';
import { ATTR, METRIC } from '../../../../packages/instrumentation/src/semconv.js';
import { BEDROCK_VERSIONS, MESSAGES, MODEL, simClient } from '../../../helpers/bedrock.js';
import { createTestMetrics } from '../../../helpers/metrics.js';

let sim: SimServer;
beforeAll(async () => {
  sim = await startSimServer();
});
afterAll(async () => {
  await sim.close();
});

describe('BedrockInstrumentation', () => {
  it('is registered as inference-bedrock for @aws-sdk/client-bedrock-runtime 3.x from 3.587.0', () => {
    const entry = INFERENCE_INSTRUMENTATIONS.find((e) => e.name === 'inference-bedrock');
    expect(entry?.modules).toEqual(['@aws-sdk/client-bedrock-runtime']);
    expect(entry?.supportedVersions).toEqual(['>=3.587.0 <4']);
    const allOff = Object.fromEntries(INFERENCE_INSTRUMENTATIONS.map((e) => [e.name, { enabled: false }]));
    const [created] = getInferenceInstrumentations({ ...allOff, 'inference-bedrock': { enabled: true } });
    expect(created).toBeInstanceOf(BedrockInstrumentation);
    created?.disable();
  });

  it.each(BEDROCK_VERSIONS)('%s: patch records through the given MeterProvider; unpatch restores send', async (_name, mod) => {
    const t = createTestMetrics();
    const instrumentation = new BedrockInstrumentation({ enabled: false });
    instrumentation.setMeterProvider(t.provider);
    const [definition] = instrumentation.getModuleDefinitions();
    expect(definition!.name).toBe('@aws-sdk/client-bedrock-runtime');
    const send = mod.BedrockRuntimeClient.prototype.send;
    definition!.patch!(mod, '3.587.0');
    expect(mod.BedrockRuntimeClient.prototype.send).not.toBe(send);
    const client = simClient(mod, sim.url, { behavior: { chunks: 2 } });
    await client.send(new mod.ConverseCommand({ modelId: MODEL, messages: MESSAGES }));
    definition!.unpatch!(mod, '3.587.0');
    expect(mod.BedrockRuntimeClient.prototype.send).toBe(send);
    await client.send(new mod.ConverseCommand({ modelId: MODEL, messages: MESSAGES }));
    const c = await t.collect();
    expect(c.total(METRIC.requests, { [ATTR.providerName]: 'aws.bedrock', [ATTR.outcome]: 'success' })).toBe(1);
    expect(c.histogram(METRIC.tokenUsage, { [ATTR.tokenType]: 'output' }).sum).toBe(2);
    await t.shutdown();
  });
});

describe('instrumentBedrock on odd input', () => {
  it('a target that is not the module: nothing patched, no throw, an undo that does nothing', async () => {
    const { instrumentBedrock } = await import('../../../../packages/instrumentation/src/index.js');
    for (const target of [undefined, null, {}, 42, () => undefined, { BedrockRuntimeClient: {} }]) {
      expect(() => instrumentBedrock(target)()).not.toThrow();
    }
  });

  it.each(BEDROCK_VERSIONS)('%s: a command-like object that is none of the four passes through to the SDK', async (_name, mod) => {
    const t = createTestMetrics();
    const { instrumentBedrock } = await import('../../../../packages/instrumentation/src/index.js');
    const undo = instrumentBedrock(mod, { metrics: t.metrics });
    const client = simClient(mod, sim.url);
    const odd = { input: { modelId: MODEL }, resolveMiddleware: () => () => Promise.resolve({ output: 'odd' }) };
    await expect(client.send(odd as never)).resolves.toBe('odd');
    undo();
    expect((await t.collect()).total(METRIC.requests)).toBe(0);
    await t.shutdown();
  });
});
