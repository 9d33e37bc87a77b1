import { ValueType } from '@opentelemetry/api';
import { AggregationTemporality, DataPointType, MeterProvider, MetricReader, type Histogram } from '@opentelemetry/sdk-metrics';
import { describe, expect, it } from 'vitest';
import { instrumentsFor, type Instruments } from '../../../packages/instrumentation/src/core/instruments.js';
import { INSTRUMENT, METRIC, type InstrumentKey } from '../../../packages/instrumentation/src/semconv.js';

class Reader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected override async onShutdown(): Promise<void> {}
  protected override async onForceFlush(): Promise<void> {}
}

/** Which Instruments field each INSTRUMENT entry is. */
const FIELD: Record<InstrumentKey, keyof Instruments> = {
  operationDuration: 'duration',
  tokenUsage: 'tokenUsage',
  timeToFirstChunk: 'timeToFirstChunk',
  timePerOutputChunk: 'timePerOutputChunk',
  requests: 'requests',
  activeRequests: 'activeRequests',
  outputTokenRate: 'outputTokenRate',
  usageInputTokens: 'usageInputTokens',
  usageOutputTokens: 'usageOutputTokens',
  usageCacheReadInputTokens: 'usageCacheReadInputTokens',
  usageCacheWriteInputTokens: 'usageCacheWriteInputTokens',
  usageReasoningOutputTokens: 'usageReasoningOutputTokens',
};

describe('instruments are created from the INSTRUMENT table', () => {
  it('has one entry per METRIC name', () => {
    expect(Object.keys(INSTRUMENT).sort()).toEqual(Object.keys(METRIC).sort());
    for (const [key, spec] of Object.entries(INSTRUMENT)) expect(spec.name).toBe(METRIC[key as InstrumentKey]);
  });

  it('each instrument has the kind, unit, description, value type and buckets of its entry', async () => {
    const reader = new Reader();
    const provider = new MeterProvider({ readers: [reader] });
    const instruments = instrumentsFor(provider);
    for (const key of Object.keys(INSTRUMENT) as InstrumentKey[]) {
      const instrument = instruments[FIELD[key]];
      if ('record' in instrument) instrument.record(1);
      else instrument.add(1);
    }
    const { resourceMetrics, errors } = await reader.collect();
    expect(errors).toEqual([]);
    const collected = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics);
    expect(collected.map((m) => m.descriptor.name).sort()).toEqual(Object.values(METRIC).sort());
    for (const [key, spec] of Object.entries(INSTRUMENT) as Array<[InstrumentKey, (typeof INSTRUMENT)[InstrumentKey]]>) {
      const m = collected.find((x) => x.descriptor.name === spec.name)!;
      expect(m.descriptor.unit, key).toBe(spec.unit);
      expect(m.descriptor.description, key).toBe(spec.description);
      expect(m.descriptor.valueType, key).toBe(spec.valueType === 'int' ? ValueType.INT : ValueType.DOUBLE);
      switch (spec.kind) {
        case 'histogram':
          expect(m.dataPointType, key).toBe(DataPointType.HISTOGRAM);
          expect((m.dataPoints[0]!.value as Histogram).buckets.boundaries, key).toEqual([...spec.buckets]);
          break;
        case 'counter':
          expect(m.dataPointType === DataPointType.SUM && m.isMonotonic, key).toBe(true);
          break;
        case 'updowncounter':
          expect(m.dataPointType === DataPointType.SUM && !m.isMonotonic, key).toBe(true);
          break;
      }
    }
    await provider.shutdown();
  });
});
