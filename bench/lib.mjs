// Shared helpers for the benchmarks: timing loops, medians, formatting.
import { performance } from 'node:perf_hooks';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { createInferenceAggregator } from '../packages/instrumentation/dist/index.js';

/** A pull reader: the benchmark decides when to collect. */
export class PullReader extends MetricReader {
  async onShutdown() {}
  async onForceFlush() {}
}

/**
 * A MeterProvider wired as otel-inference/register wires its own: the library's aggregator, handed
 * to a pull reader by a MetricProducer.
 */
export function registerLikeProvider() {
  const aggregator = createInferenceAggregator();
  const producer = aggregator.createProducer();
  const reader = new PullReader({ metricProducers: [producer] });
  producer.setReader(reader);
  const provider = new MeterProvider({ readers: [reader] });
  if (!aggregator.bind(provider)) throw new Error('the aggregator did not bind');
  return { provider, reader };
}

/** Median of an array of numbers. */
export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * Runs each variant `rounds` times, interleaved (A B C A B C …) so that drift in machine
 * load hits all of them alike, and returns the median ns per operation of each. The first
 * `warmup` rounds are not counted: the JIT has not settled yet.
 */
export async function compare(variants, { rounds = 7, ops, warmup = 1 }) {
  const samples = Object.fromEntries(Object.keys(variants).map((name) => [name, []]));
  for (let round = -warmup; round < rounds; round++) {
    for (const [name, run] of Object.entries(variants)) {
      globalThis.gc?.();
      const start = performance.now();
      await run(ops);
      if (round >= 0) samples[name].push(((performance.now() - start) * 1e6) / ops);
    }
  }
  return Object.fromEntries(Object.entries(samples).map(([name, s]) => [name, median(s)]));
}

export const fmt = (ns) => (ns >= 1000 ? `${(ns / 1000).toFixed(2)} µs` : `${ns.toFixed(1)} ns`);

export function verdict(ok) {
  return ok ? 'met' : 'MISSED';
}
