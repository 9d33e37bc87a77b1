/**
 * AnthropicInstrumentation as an OpenTelemetry Instrumentation, in process: its module
 * definition, recording through the MeterProvider it is given, unpatch; and the 1.x client with
 * its own OpenTelemetry tracing on (a global TracerProvider), which changes the APIPromise that
 * `messages.create` returns.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Anthropic from '@anthropic-ai/sdk';
import { trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { startSimServer, type SimServer } from '../../../../sim/index.js';
import { AnthropicInstrumentation, getInferenceInstrumentations, INFERENCE_INSTRUMENTATIONS } from '../../../../packages/instrumentation/src/index.js';
import { ATTR, METRIC } from '../../../../packages/instrumentation/src/semconv.js';
import { anthropicClient, sim } from '../../../helpers/anthropic.js';
import { createTestMetrics, drain, sleep } from '../../../helpers/metrics.js';

let server: SimServer;
beforeAll(async () => {
  server = await startSimServer({ port: 0 });
});
afterAll(async () => {
  await server.close();
});

const body = (model: string, extra: Record<string, unknown> = {}) => ({
  model,
  max_tokens: 16,
  messages: [{ role: 'user' as const, content: 'hi' }],
  ...extra,
});

describe('AnthropicInstrumentation', () => {
  it('is in the registry as inference-anthropic, for @anthropic-ai/sdk', () => {
    const entry = INFERENCE_INSTRUMENTATIONS.find((e) => e.name === 'inference-anthropic');
    expect(entry?.modules).toEqual(['@anthropic-ai/sdk']);
    expect(entry?.supportedVersions).toEqual(['>=0.25.0 <2']);
    const made = getInferenceInstrumentations({ 'inference-anthropic': { enabled: true } }).filter(
      (i) => i instanceof AnthropicInstrumentation,
    );
    expect(made).toHaveLength(1);
    for (const i of getInferenceInstrumentations()) i.disable();
  });

  it('records through the MeterProvider it is given, and unpatch restores create', async () => {
    const t = createTestMetrics();
    const instrumentation = new AnthropicInstrumentation({ enabled: false });
    instrumentation.setMeterProvider(t.provider);
    const [definition] = instrumentation.getModuleDefinitions();
    expect(definition!.name).toBe('@anthropic-ai/sdk');
    const original = Anthropic.Messages.prototype.create;
    definition!.patch!(Anthropic, '1.14.0');
    expect(Anthropic.Messages.prototype.create).not.toBe(original);
    await anthropicClient(Anthropic, server.url).messages.create(body('via-instrumentation'), sim({ chunks: 2 }));
    definition!.unpatch!(Anthropic, '1.14.0');
    expect(Anthropic.Messages.prototype.create).toBe(original);
    const c = await t.collect();
    expect(c.total(METRIC.requests, { [ATTR.requestModel]: 'via-instrumentation', [ATTR.outcome]: 'success' })).toBe(1);
    await t.shutdown();
  });
});

describe('@anthropic-ai/sdk 1.x with its own tracing on', () => {
  it('records each call once, with usage, while the SDK makes its spans', async () => {
    const exporter = new InMemorySpanExporter();
    const tracerProvider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
    expect(trace.setGlobalTracerProvider(tracerProvider)).toBe(true);
    const t = createTestMetrics();
    const instrumentation = new AnthropicInstrumentation({ enabled: false });
    instrumentation.setMeterProvider(t.provider);
    const [definition] = instrumentation.getModuleDefinitions();
    definition!.patch!(Anthropic, '1.14.0');
    try {
      const client = anthropicClient(Anthropic, server.url);
      const message = await client.messages.create(body('traced'), sim({ chunks: 3, cacheReadTokens: 2 }));
      expect(message.content[0]).toMatchObject({ type: 'text', text: 'tok1 tok2 tok3 ' });
      await drain(await client.messages.create(body('traced-stream', { stream: true }), sim({ chunks: 3 })));
      const final = await client.messages.stream(body('traced-helper'), sim({ chunks: 3 })).finalMessage();
      expect(final.usage.output_tokens).toBe(3);
      await sleep(5);
      expect(exporter.getFinishedSpans().length).toBeGreaterThanOrEqual(3);
      const c = await t.collect();
      for (const model of ['traced', 'traced-stream', 'traced-helper']) {
        expect(c.total(METRIC.requests, { [ATTR.requestModel]: model })).toBe(1);
        expect(c.total(METRIC.requests, { [ATTR.requestModel]: model, [ATTR.outcome]: 'success' })).toBe(1);
        expect(c.histogram(METRIC.tokenUsage, { [ATTR.requestModel]: model, [ATTR.tokenType]: 'output' }).sum).toBe(3);
        expect(c.histogram(METRIC.tokenUsage, { [ATTR.requestModel]: model, [ATTR.tokenType]: 'input' }).sum).toBe(7);
      }
      expect(c.histogram(METRIC.timePerOutputChunk, { [ATTR.requestModel]: 'traced-helper' }).count).toBe(2);
    } finally {
      definition!.unpatch!(Anthropic, '1.14.0');
      trace.disable();
      await tracerProvider.shutdown();
      await t.shutdown();
    }
  });
});
