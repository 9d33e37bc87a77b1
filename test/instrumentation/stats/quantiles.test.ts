import { describe, expect, it } from 'vitest';
import { bucketTotal, histogramQuantile, mergeBuckets, quantileOf, quantilesOf, subtractBuckets } from '../../../packages/instrumentation/src/stats/quantiles.js';
import { DURATION_BUCKETS } from '../../../packages/instrumentation/src/semconv.js';

const B = [0.1, 0.2, 0.4];
// 10 in (0, 0.1], 20 in (0.1, 0.2], 10 in (0.2, 0.4], none above: cumulative 10, 30, 40, 40.
const C = [10, 20, 10, 0];

describe('histogramQuantile (Prometheus histogram_quantile semantics)', () => {
  it('interpolates linearly inside the bucket holding the rank', () => {
    // q=0.5: rank 20 falls in (0.1, 0.2] at 10 of its 20 → 0.1 + 0.1 * 10/20
    expect(histogramQuantile(0.5, B, C)).toBeCloseTo(0.15, 12);
    // q=0.95: rank 38 falls in (0.2, 0.4] at 8 of its 10 → 0.2 + 0.2 * 8/10
    expect(histogramQuantile(0.95, B, C)).toBeCloseTo(0.36, 12);
    // q=0.1: rank 4 in the first bucket, whose lower bound is 0 → 0.1 * 4/10
    expect(histogramQuantile(0.1, B, C)).toBeCloseTo(0.04, 12);
    // a rank exactly on a bucket's cumulative count ends at that bucket's upper bound
    expect(histogramQuantile(0.25, B, C)).toBeCloseTo(0.1, 12);
    expect(histogramQuantile(0.75, B, C)).toBeCloseTo(0.2, 12);
    expect(histogramQuantile(1, B, C)).toBeCloseTo(0.4, 12);
  });

  it('on the semconv duration buckets', () => {
    const counts = new Array(DURATION_BUCKETS.length + 1).fill(0);
    counts[5] = 3; // (0.16, 0.32]
    counts[6] = 1; // (0.32, 0.64]
    // p50: rank 2 → 0.16 + 0.16 * 2/3
    expect(histogramQuantile(0.5, [...DURATION_BUCKETS], counts)).toBeCloseTo(0.16 + (0.16 * 2) / 3, 12);
    // p95: rank 3.8 → 0.32 + 0.32 * 0.8/1
    expect(histogramQuantile(0.95, [...DURATION_BUCKETS], counts)).toBeCloseTo(0.576, 12);
  });

  it('returns the highest finite bound when the rank is in the +Inf bucket', () => {
    expect(histogramQuantile(0.5, B, [1, 0, 0, 3])).toBe(0.4);
    expect(histogramQuantile(0.99, B, [0, 0, 0, 5])).toBe(0.4);
  });

  it('returns the first upper bound when it is not positive', () => {
    expect(histogramQuantile(0.5, [-1, 0, 1], [2, 0, 0, 0])).toBe(-1);
  });

  it('edge cases: empty, out-of-range and NaN q, wrong shape', () => {
    expect(histogramQuantile(0.5, B, [0, 0, 0, 0])).toBeNaN();
    expect(histogramQuantile(-0.1, B, C)).toBe(-Infinity);
    expect(histogramQuantile(1.1, B, C)).toBe(Infinity);
    expect(histogramQuantile(NaN, B, C)).toBeNaN();
    expect(() => histogramQuantile(0.5, B, [1, 2, 3])).toThrow(/counts/);
    // no finite boundary: Prometheus needs one bucket besides +Inf
    expect(histogramQuantile(0.5, [], [5])).toBeNaN();
    // negative and NaN counts count as none
    expect(histogramQuantile(0.5, B, [-3, 20, NaN, 0])).toBeCloseTo(0.15, 12);
  });

  it('quantilesOf (one pass for ascending qs) gives what quantileOf gives, on random histograms', () => {
    let seed = 7;
    const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
    const qs = [0, 0.1, 0.5, 0.5, 0.95, 0.99, 1];
    const out: number[] = [];
    for (let round = 0; round < 500; round++) {
      const boundaries = round % 5 === 0 ? [-1, 0, 2] : [...DURATION_BUCKETS];
      const counts = Array.from({ length: boundaries.length + 1 }, () => (random() < 0.4 ? 0 : Math.floor(random() * 20)));
      const total = counts.reduce((a, b) => a + b, 0);
      quantilesOf(qs, boundaries, counts, total, out);
      qs.forEach((q, k) => {
        const expected = quantileOf(q, boundaries, counts, total);
        if (Number.isNaN(expected)) expect(out[k]).toBeNaN();
        else expect(out[k]).toBe(expected);
      });
    }
  });

  it('quantileOf (no allocation) agrees with histogramQuantile', () => {
    const counts = [3, 0, 7, 1];
    for (const q of [0, 0.01, 0.25, 0.5, 0.9, 0.95, 0.99, 1]) {
      const expected = histogramQuantile(q, B, counts);
      const actual = quantileOf(q, B, counts, 11);
      if (Number.isNaN(expected)) expect(actual).toBeNaN();
      else expect(actual).toBe(expected);
    }
  });

  it('merges and subtracts snapshots', () => {
    const merged = mergeBuckets([
      { boundaries: B, counts: [1, 2, 3, 4] },
      { boundaries: B, counts: [10, 0, 0, 1] },
    ]);
    expect(merged).toEqual({ boundaries: B, counts: [11, 2, 3, 5] });
    expect(bucketTotal(merged)).toBe(21);
    expect(mergeBuckets([])).toBeUndefined();
    expect(() => mergeBuckets([{ boundaries: B, counts: C }, { boundaries: [1], counts: [0, 0] }])).toThrow();

    const delta = subtractBuckets({ boundaries: B, counts: [11, 22, 13, 1] }, { boundaries: B, counts: [1, 2, 3, 1] })!;
    expect(delta).toEqual({ boundaries: B, counts: [10, 20, 10, 0] });
    expect(histogramQuantile(0.5, delta.boundaries, delta.counts)).toBeCloseTo(0.15, 12);
    // a series that restarted (a count went down) counts from zero
    expect(subtractBuckets({ boundaries: B, counts: [1, 0, 0, 0] }, { boundaries: B, counts: [5, 0, 0, 0] })!.counts).toEqual([1, 0, 0, 0]);
    expect(subtractBuckets({ boundaries: B, counts: C }, undefined)!.counts).toEqual(C);
    expect(subtractBuckets(undefined, { boundaries: B, counts: C })).toBeUndefined();
  });
});
