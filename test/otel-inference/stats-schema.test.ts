/**
 * packages/otel-inference/stats.schema.json: a document with every part (client, server,
 * backends, fallbacks, the null model, lifetime and window) validates, and the schema is not
 * vacuous: each kind of wrong document is refused. The documents of a real process are validated
 * in register/stats-endpoint.test.ts and stats-handler.test.ts.
 */
import { AggregationTemporality, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { describe, expect, it } from 'vitest';
import { ATTR, GATEWAY_INSTRUMENT, INSTRUMENT, METER_NAME, OUTCOME, SERVER_INSTRUMENT, TOKEN_TYPE } from '../../packages/instrumentation/src/semconv.js';
import { createStatsSource, type InferenceStats } from '../../packages/instrumentation/src/index.js';
import { statsSchema, validateStats } from '../helpers/stats-schema.js';
import pkg from '../../packages/otel-inference/package.json' with { type: 'json' };

class PullReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected override async onShutdown(): Promise<void> {}
  protected override async onForceFlush(): Promise<void> {}
}

async function fullDocument(): Promise<InferenceStats> {
  const reader = new PullReader();
  const provider = new MeterProvider({ readers: [reader] });
  const meter = provider.getMeter(METER_NAME);
  const h = (spec: { name: string; buckets: readonly number[] }) => meter.createHistogram(spec.name, { advice: { explicitBucketBoundaries: [...spec.buckets] } });
  const m = { [ATTR.requestModel]: 'model-a' };
  const ok = { ...m, [ATTR.outcome]: OUTCOME.success };
  for (const spec of [INSTRUMENT.operationDuration, INSTRUMENT.timeToFirstChunk, INSTRUMENT.timePerOutputChunk]) {
    h(spec).record(0.2, { ...ok, [ATTR.backend]: 'b1' });
  }
  h(INSTRUMENT.outputTokenRate).record(40, m);
  h(INSTRUMENT.tokenUsage).record(10, { ...m, [ATTR.tokenType]: TOKEN_TYPE.output });
  meter.createCounter(INSTRUMENT.requests.name).add(2, { ...ok, [ATTR.backend]: 'b1' });
  meter.createCounter(INSTRUMENT.requests.name).add(1, { [ATTR.outcome]: OUTCOME.error, [ATTR.errorType]: '500' });
  meter.createUpDownCounter(INSTRUMENT.activeRequests.name).add(1, m);
  for (const spec of [SERVER_INSTRUMENT.requestDuration, SERVER_INSTRUMENT.timeToFirstToken, SERVER_INSTRUMENT.timePerOutputToken, SERVER_INSTRUMENT.queueDuration]) {
    h(spec).record(0.05, ok);
  }
  meter.createCounter(SERVER_INSTRUMENT.requests.name).add(1, ok);
  meter.createUpDownCounter(SERVER_INSTRUMENT.waitingRequests.name).add(1, m);
  meter.createCounter(GATEWAY_INSTRUMENT.fallbacks.name).add(1, { [ATTR.fallbackFrom]: 'b2', [ATTR.fallbackTo]: 'b1', [ATTR.fallbackReason]: '503' });
  let now = 0;
  const source = createStatsSource({ collect: () => reader.collect(), startedEmpty: true, now: () => now });
  now = 70_000;
  const doc = await source.read();
  await provider.shutdown();
  return doc;
}

describe('stats.schema.json', () => {
  it('is shipped in the package and exported by path', () => {
    expect(pkg.files).toContain('stats.schema.json');
    expect((pkg.exports as Record<string, unknown>)['./stats.schema.json']).toBe('./stats.schema.json');
    expect(statsSchema).toMatchObject({ title: 'otel-inference /v1/stats' });
  });

  it('accepts a document with every part', async () => {
    const doc = await fullDocument();
    expect(validateStats(doc)).toEqual([]);
    expect(doc.window.complete).toBe(true);
    const a = doc.models.find((x) => x.model === 'model-a')!;
    expect(a.client && a.server && a.backends).toBeTruthy();
    expect(doc.models.at(-1)!.model).toBeNull();
    expect(doc.fallbacks.lifetime).toHaveLength(1);
  });

  it('refuses what is not the document', async () => {
    const doc = await fullDocument();
    const broken: [string, (d: any) => void][] = [
      ['a missing field', (d) => delete d.uptime_s],
      ['an unknown field', (d) => (d.extra = 1)],
      ['another version', (d) => (d.schema_version = 2)],
      ['a time that is not ISO', (d) => (d.time = 'yesterday')],
      ['a quantile as a string', (d) => (d.models[0].client.lifetime.duration_s.p50 = '0.2')],
      ['a fractional count', (d) => (d.models[0].client.lifetime.requests.total = 1.5)],
      ['an error rate above 1', (d) => (d.models[0].client.lifetime.error_rate = 2)],
      ['a client period with the server field', (d) => (d.models[0].client.window.queue_s = d.models[0].server.window.queue_s)],
      ['a server period without its queue', (d) => delete d.models[0].server.lifetime.queue_s],
      ['a backend without its name', (d) => delete d.models[0].backends[0].backend],
      ['a fallback of 0', (d) => (d.fallbacks.window = [{ from: 'a', to: 'b', reason: 'x', count: 0 }])],
    ];
    for (const [name, breakIt] of broken) {
      const copy = structuredClone(doc);
      breakIt(copy);
      expect(validateStats(copy), name).not.toEqual([]);
    }
  });
});
