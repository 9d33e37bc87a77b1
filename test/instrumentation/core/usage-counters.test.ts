/**
 * The GenAI semconv usage counters (`gen_ai.client.inference.usage.*`): one add per counter per
 * request, every outcome included, the provider's count or 0 when it reported none, modality
 * `unknown`; output and reasoning not for embeddings. The same through the API instruments and
 * through the aggregator (its differential test, aggregator.test.ts, covers the bytes).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ATTR, METRIC, OPERATION, OUTCOME, TOKEN_MODALITY } from '../../../packages/instrumentation/src/semconv.js';
import { createTestMetrics, type Collected, type TestMetrics } from '../../helpers/metrics.js';

const COUNTERS = [
  METRIC.usageInputTokens,
  METRIC.usageOutputTokens,
  METRIC.usageCacheReadInputTokens,
  METRIC.usageCacheWriteInputTokens,
  METRIC.usageReasoningOutputTokens,
] as const;

function totals(collected: Collected, match = {}): Record<string, number> {
  return Object.fromEntries(COUNTERS.map((name) => [name, collected.total(name, match)]));
}

let t: TestMetrics;
afterEach(async () => {
  await t.shutdown();
});

describe('usage counters', () => {
  it('add what the provider reported, with modality unknown and the response model, and no outcome or error.type', async () => {
    t = createTestMetrics();
    const request = { provider: 'openai', model: 'gpt-x', operation: OPERATION.chat };
    t.metrics.startRequest(request).end({
      usage: { inputTokens: 1200, outputTokens: 300, cacheReadInputTokens: 1024, cacheWriteInputTokens: 64, reasoningOutputTokens: 256 },
      responseModel: 'gpt-x-2026',
    });
    t.metrics.startRequest(request).end({ usage: { inputTokens: 10, outputTokens: 5 }, responseModel: 'gpt-x-2026' });
    const c = await t.collect();
    expect(totals(c)).toEqual({
      [METRIC.usageInputTokens]: 1210,
      [METRIC.usageOutputTokens]: 305,
      [METRIC.usageCacheReadInputTokens]: 1024,
      [METRIC.usageCacheWriteInputTokens]: 64,
      [METRIC.usageReasoningOutputTokens]: 256,
    });
    for (const name of COUNTERS) {
      const points = c.sums(name);
      expect(points, name).toHaveLength(1);
      expect(points[0]!.attributes).toEqual({
        [ATTR.operationName]: OPERATION.chat,
        [ATTR.providerName]: 'openai',
        [ATTR.requestStream]: false,
        [ATTR.requestModel]: 'gpt-x',
        [ATTR.responseModel]: 'gpt-x-2026',
        [ATTR.tokenModality]: TOKEN_MODALITY.unknown,
      });
      expect(c.metric(name)!.descriptor.unit).toBe('{token}');
    }
  });

  it('record 0 for a request with no usage, failed, cancelled or abandoned alike (every inference operation counts)', async () => {
    t = createTestMetrics();
    const request = { provider: 'anthropic', model: 'm', operation: OPERATION.chat };
    t.metrics.startRequest(request).end();
    t.metrics.startRequest(request).fail(Object.assign(new Error('boom'), { status: 500 }));
    t.metrics.startRequest(request, { stream: true }).cancel();
    const c = await t.collect();
    expect(c.total(METRIC.requests)).toBe(3);
    for (const name of COUNTERS) {
      const points = c.sums(name);
      expect(points.length, name).toBe(2); // stream false and true
      expect(points.every((p) => p.value === 0 && p.attributes[ATTR.tokenModality] === TOKEN_MODALITY.unknown), name).toBe(true);
      expect(points.some((p) => ATTR.errorType in p.attributes || ATTR.outcome in p.attributes)).toBe(false);
    }
    // The histogram stays "reported counts only": nothing for these three.
    expect(c.histograms(METRIC.tokenUsage)).toEqual([]);
  });

  it('a failed request that had reported usage before it failed counts it', async () => {
    t = createTestMetrics();
    const tracker = t.metrics.startRequest({ provider: 'anthropic', model: 'm' }, { stream: true });
    tracker.setUsage({ inputTokens: 40, cacheReadInputTokens: 30 });
    tracker.fail(new Error('overloaded'));
    const c = await t.collect();
    expect(c.total(METRIC.requests, { [ATTR.outcome]: OUTCOME.error })).toBe(1);
    expect(totals(c)).toMatchObject({ [METRIC.usageInputTokens]: 40, [METRIC.usageCacheReadInputTokens]: 30, [METRIC.usageOutputTokens]: 0 });
  });

  it('embeddings count input and cache tokens but have no output or reasoning series', async () => {
    t = createTestMetrics();
    t.metrics.startRequest({ provider: 'openai', model: 'emb', operation: OPERATION.embeddings }).end({ usage: { inputTokens: 8 } });
    const c = await t.collect();
    expect(c.total(METRIC.usageInputTokens)).toBe(8);
    expect(c.sums(METRIC.usageCacheReadInputTokens).map((p) => p.value)).toEqual([0]);
    expect(c.metric(METRIC.usageOutputTokens)).toBeUndefined();
    expect(c.metric(METRIC.usageReasoningOutputTokens)).toBeUndefined();
  });

  it('a later report of a field replaces an earlier one (cumulative stream usage), a bad value is left out', async () => {
    t = createTestMetrics();
    const tracker = t.metrics.startRequest({ provider: 'anthropic', model: 'm' }, { stream: true });
    tracker.setUsage({ inputTokens: 100, cacheReadInputTokens: 90, outputTokens: 1 });
    tracker.setUsage({ outputTokens: 30, reasoningOutputTokens: -1, cacheWriteInputTokens: 1.5 });
    tracker.end();
    const c = await t.collect();
    expect(totals(c)).toEqual({
      [METRIC.usageInputTokens]: 100,
      [METRIC.usageOutputTokens]: 30,
      [METRIC.usageCacheReadInputTokens]: 90,
      [METRIC.usageCacheWriteInputTokens]: 0,
      [METRIC.usageReasoningOutputTokens]: 0,
    });
  });
});
