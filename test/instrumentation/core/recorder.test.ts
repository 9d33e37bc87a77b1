/**
 * The recorder's per-chunk storage: each gap between output chunks lands in a buffer that later
 * requests use again, grown for long streams. Every gap of every request is recorded once, with
 * its exact value, whatever the stream's length, the order the requests run in, and a gap that is
 * left out in the middle (a clock reading that is no number).
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { METRIC } from '../../../packages/instrumentation/src/semconv.js';
import type { InferenceTracker } from '../../../packages/instrumentation/src/index.js';
import { captureDiag, createTestMetrics, type TestMetrics } from '../../helpers/metrics.js';

const request = { provider: 'vllm', model: 'llama' };

let t: TestMetrics;
let clock: { now: number };
beforeEach(() => {
  t = createTestMetrics();
  clock = { now: 0 };
  vi.spyOn(performance, 'now').mockImplementation(() => clock.now);
});
afterEach(async () => {
  vi.restoreAllMocks();
  await t.shutdown();
});

/** `chunks` output chunks, gap i (ms) after chunk i being `gap(i)`. */
function feed(tracker: InferenceTracker, chunks: number, gap: (i: number) => number): void {
  for (let i = 0; i < chunks; i++) {
    if (i > 0) clock.now += gap(i);
    tracker.output();
  }
}

/** What the SDK's histogram holds after recording `values` one by one (seconds). */
function expected(values: number[]) {
  let sum = 0;
  for (const v of values) sum += v;
  return { count: values.length, sum, min: Math.min(...values), max: Math.max(...values) };
}

async function tpoc() {
  const c = await t.collect();
  const h = c.histogram(METRIC.timePerOutputChunk);
  return { count: h.count, sum: h.sum, min: h.min, max: h.max, counts: h.counts };
}

describe('gaps between output chunks', () => {
  it.each([2, 63, 64, 65, 66, 257, 4097, 20_000])('a stream of %i chunks: every gap, once, exactly', async (chunks) => {
    const tracker = t.metrics.startRequest(request, { stream: true });
    const gap = (i: number) => (i % 7) * 3.5 + 0.25;
    feed(tracker, chunks, gap);
    tracker.end();
    const values = Array.from({ length: chunks - 1 }, (_, i) => gap(i + 1) / 1000);
    expect(await tpoc()).toMatchObject(expected(values));
  });

  it('streams that start while a long one grows and runs, interleaved: nothing of another request in theirs', async () => {
    const long = t.metrics.startRequest(request, { stream: true });
    feed(long, 300, () => 1); // its buffer has grown twice
    const a = t.metrics.startRequest(request, { stream: true });
    const b = t.metrics.startRequest(request, { stream: true });
    const values: number[] = Array.from({ length: 299 }, () => 0.001);
    for (let i = 0; i < 10; i++) {
      clock.now += 100;
      a.output();
      if (i > 0) values.push(0.1);
      clock.now += 10;
      long.output(); // 110 ms after its last chunk
      values.push(0.11);
      if (i < 3) {
        clock.now += 30;
        b.output();
        if (i > 0) values.push(0.14);
      }
    }
    b.end();
    a.end();
    long.end();
    // A later stream takes a buffer back from the pool: its earlier contents are not its gaps.
    const c = t.metrics.startRequest(request, { stream: true });
    feed(c, 3, () => 40);
    c.end();
    values.push(0.04, 0.04);
    const got = await tpoc();
    expect(got.count).toBe(values.length);
    expect(got.min).toBe(0.001);
    expect(got.max).toBe(0.14);
    expect(got.counts).toEqual([299, 0, 2, 0, 9 + 10 + 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  });

  it('a gap that is no number in the middle of a long stream is left out, with one debug line; the others are recorded', async () => {
    const diagnostics = captureDiag();
    try {
      const tracker = t.metrics.startRequest(request, { stream: true });
      feed(tracker, 100, () => 2);
      clock.now = Number.NaN;
      tracker.output(); // gap NaN
      clock.now = 1000;
      tracker.output(); // gap NaN (from a NaN reading)
      feed(tracker, 100, () => 3); // 1 more chunk at 1000 (gap 0 s), then 99 gaps of 3 ms
      tracker.end();
      const got = await tpoc();
      // 99 gaps of 2 ms, 1 of 0, 99 of 3 ms.
      expect(got.count).toBe(99 + 1 + 99);
      expect(got.min).toBe(0);
      expect(got.max).toBe(0.003);
      expect(diagnostics.ours('debug')).toEqual([
        `otel-inference: ${METRIC.timePerOutputChunk} not recorded: the number NaN is not a finite non-negative duration`,
        `otel-inference: ${METRIC.timePerOutputChunk} not recorded: the number NaN is not a finite non-negative duration`,
      ]);
    } finally {
      diagnostics.stop();
    }
  });
});
