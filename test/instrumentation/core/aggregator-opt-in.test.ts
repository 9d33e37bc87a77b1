/**
 * The aggregator as docs/api.md offers it to an app on its own readers: a MeterProvider of its
 * own with a periodic exporting reader, and the NodeSDK with `metricReaders`.
 */
import { metrics } from '@opentelemetry/api';
import { NodeSDK } from '@opentelemetry/sdk-node';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  MetricReader,
  PeriodicExportingMetricReader,
  type DataPoint,
  type Histogram,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import { afterEach, describe, expect, it } from 'vitest';
import { createInferenceAggregator, createInferenceMetrics, getInferenceInstrumentations, METER_NAME, METRIC } from '../../../packages/instrumentation/src/index.js';

const request = { provider: 'vllm', model: 'llama' };

function inference(resourceMetrics: ResourceMetrics) {
  const scopes = resourceMetrics.scopeMetrics.filter((s) => s.scope.name === METER_NAME);
  expect(scopes).toHaveLength(1);
  return scopes[0]!.metrics;
}

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
  metrics.disable();
});

describe('an app that opts in on its own readers', () => {
  it('a MeterProvider with a periodic exporting reader, delta: each export has that interval only', async () => {
    const exporter = new InMemoryMetricExporter(AggregationTemporality.DELTA);
    const aggregator = createInferenceAggregator();
    const producer = aggregator.createProducer();
    const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 60_000, metricProducers: [producer] });
    producer.setReader(reader);
    const provider = new MeterProvider({ readers: [reader] });
    cleanups.push(() => provider.shutdown());
    expect(aggregator.bind(provider)).toBe(true);

    const m = createInferenceMetrics({ meterProvider: provider });
    const first = m.startRequest(request, { stream: true });
    first.output();
    first.output();
    first.end({ usage: { outputTokens: 3 } });
    await reader.forceFlush();
    m.startRequest(request).end();
    await reader.forceFlush();

    const exported = exporter.getMetrics();
    expect(exported).toHaveLength(2);
    const requests = exported.map((r) => inference(r).find((x) => x.descriptor.name === METRIC.requests)!);
    expect(requests.map((x) => [x.aggregationTemporality, (x.dataPoints as DataPoint<number>[]).map((d) => d.value)])).toEqual([
      [AggregationTemporality.DELTA, [1]],
      [AggregationTemporality.DELTA, [1]],
    ]);
    const gaps = inference(exported[0]!).find((x) => x.descriptor.name === METRIC.timePerOutputChunk)!;
    expect((gaps.dataPoints[0] as DataPoint<Histogram>).value.count).toBe(1);
    // The second interval had no stream: no per-chunk metric.
    expect(inference(exported[1]!).map((x) => x.descriptor.name)).not.toContain(METRIC.timePerOutputChunk);
  });

  it('the NodeSDK with metricReaders: bind the global MeterProvider after start()', async () => {
    class Reader extends MetricReader {
      protected override async onShutdown(): Promise<void> {}
      protected override async onForceFlush(): Promise<void> {}
    }
    const aggregator = createInferenceAggregator();
    const producer = aggregator.createProducer();
    const reader = new Reader({ metricProducers: [producer] });
    producer.setReader(reader);
    const sdk = new NodeSDK({ metricReaders: [reader], instrumentations: [getInferenceInstrumentations()] });
    sdk.start();
    cleanups.push(() => sdk.shutdown());
    expect(aggregator.bind(metrics.getMeterProvider())).toBe(true);

    const t = createInferenceMetrics().startRequest(request);
    t.end({ usage: { inputTokens: 5 } });
    const { resourceMetrics, errors } = await reader.collect();
    expect(errors).toEqual([]);
    const tokens = inference(resourceMetrics).find((x) => x.descriptor.name === METRIC.tokenUsage)!;
    expect((tokens.dataPoints[0] as DataPoint<Histogram>).value.sum).toBe(5);
  });
});
