/**
 * Quantiles from explicit-bucket histograms, computed as Prometheus' `histogram_quantile()` does
 * (promql/quantile.go, BucketQuantile): find the bucket in which the rank q × count falls and
 * interpolate linearly between its lower and upper bound. A quantile read here over the SDK's
 * buckets is the number a PromQL `histogram_quantile` over the same `_bucket` series gives.
 *
 * Buckets are in the OpenTelemetry SDK's shape: `boundaries` (ascending finite upper bounds) and
 * `counts`, one count per bucket (not cumulative), `boundaries.length + 1` of them, the last one
 * being the overflow bucket:
 *
 *     bucket 0: (-Inf, b0]   bucket i: (b(i-1), b(i)]   bucket n: (b(n-1), +Inf)
 *
 * As in Prometheus:
 * - the lower bound of the first bucket is 0 when its upper bound is positive (observations are
 *   taken as non-negative); when the first upper bound is ≤ 0, that bound is returned;
 * - a rank that falls in the +Inf bucket returns the highest finite boundary;
 * - no observations → NaN; q < 0 → -Infinity; q > 1 → +Infinity; q NaN → NaN.
 *
 * The histogram's own min/max are deliberately not used, so that the result equals PromQL's.
 */

/** An explicit-bucket histogram in the SDK's shape: per-bucket counts, the +Inf bucket last. */
export interface Buckets {
  readonly boundaries: readonly number[];
  readonly counts: readonly number[];
}

/**
 * Prometheus `histogram_quantile(q, …)` over per-bucket counts. Throws when `counts` does not
 * have `boundaries.length + 1` entries (a caller's bug, not data).
 */
export function histogramQuantile(q: number, boundaries: readonly number[], counts: readonly number[]): number {
  if (Number.isNaN(q)) return NaN;
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  if (counts.length !== boundaries.length + 1) {
    throw new Error(`histogramQuantile: ${counts.length} counts for ${boundaries.length} boundaries (expected ${boundaries.length + 1})`);
  }
  return quantileOf(q, boundaries, counts, totalOf(counts));
}

/** The number of observations, negative or non-numeric counts taken as 0 (as the quantile does). */
function totalOf(counts: readonly number[]): number {
  let total = 0;
  for (let i = 0; i < counts.length; i++) total += clean(counts[i]!);
  return total;
}

function clean(count: number): number {
  return count > 0 ? count : 0;
}

/**
 * The quantile for a `q` in [0, 1] and counts of the right length, `total` their sum: no
 * allocation (the snapshot computes thousands of these).
 */
export function quantileOf(q: number, boundaries: readonly number[], counts: readonly number[], total: number): number {
  const n = boundaries.length;
  // Prometheus needs two buckets at least: one finite upper bound and +Inf.
  if (n < 1 || !(total > 0)) return NaN;
  const rank = q * total;
  // sort.Search over the buckets but +Inf: the first whose cumulative count ≥ rank.
  let b = 0;
  let below = 0;
  let cumulative = clean(counts[0]!);
  while (b < n && cumulative < rank) {
    below = cumulative;
    b++;
    cumulative += clean(counts[b]!);
  }
  if (b === n) return boundaries[n - 1]!;
  if (b === 0 && boundaries[0]! <= 0) return boundaries[0]!;
  const bucketStart = b === 0 ? 0 : boundaries[b - 1]!;
  const bucketEnd = boundaries[b]!;
  return bucketStart + (bucketEnd - bucketStart) * ((rank - below) / (cumulative - below));
}

/**
 * {@link quantileOf} for several `qs` in ascending order, in one pass over the buckets: `out[k]`
 * is the quantile `qs[k]`, the same number `quantileOf` gives.
 */
export function quantilesOf(qs: readonly number[], boundaries: readonly number[], counts: readonly number[], total: number, out: number[]): void {
  const n = boundaries.length;
  if (n < 1 || !(total > 0)) {
    for (let k = 0; k < qs.length; k++) out[k] = NaN;
    return;
  }
  let b = 0;
  let below = 0;
  let cumulative = clean(counts[0]!);
  for (let k = 0; k < qs.length; k++) {
    const rank = qs[k]! * total;
    while (b < n && cumulative < rank) {
      below = cumulative;
      b++;
      cumulative += clean(counts[b]!);
    }
    if (b === n) out[k] = boundaries[n - 1]!;
    else if (b === 0 && boundaries[0]! <= 0) out[k] = boundaries[0]!;
    else {
      const bucketStart = b === 0 ? 0 : boundaries[b - 1]!;
      out[k] = bucketStart + (boundaries[b]! - bucketStart) * ((rank - below) / (cumulative - below));
    }
  }
}

/** Adds histograms with the same boundaries (e.g. every series of one model); undefined for none. */
export function mergeBuckets(histograms: readonly (Buckets | undefined)[]): { boundaries: number[]; counts: number[] } | undefined {
  let out: { boundaries: number[]; counts: number[] } | undefined;
  for (const h of histograms) {
    if (!h) continue;
    if (!out) {
      out = { boundaries: [...h.boundaries], counts: [...h.counts] };
      continue;
    }
    if (!sameBoundaries(out.boundaries, h.boundaries)) {
      throw new Error('mergeBuckets: histograms with different boundaries cannot be added');
    }
    for (let i = 0; i < out.counts.length; i++) out.counts[i]! += h.counts[i] ?? 0;
  }
  return out;
}

/**
 * The observations made between two cumulative snapshots of one histogram (what PromQL's
 * `increase()` gives). When a bucket went down (the series restarted), `now` is taken whole, as
 * counted from zero.
 */
export function subtractBuckets(now: Buckets | undefined, before: Buckets | undefined): { boundaries: number[]; counts: number[] } | undefined {
  if (!now) return undefined;
  if (!before || !sameBoundaries(now.boundaries, before.boundaries)) {
    return { boundaries: [...now.boundaries], counts: [...now.counts] };
  }
  const reset = now.counts.some((c, i) => c < (before.counts[i] ?? 0));
  return {
    boundaries: [...now.boundaries],
    counts: now.counts.map((c, i) => (reset ? c : c - (before.counts[i] ?? 0))),
  };
}

/** The number of observations in a histogram (0 for none). */
export function bucketTotal(h: Buckets | undefined): number {
  return h ? h.counts.reduce((a, b) => a + b, 0) : 0;
}

export function sameBoundaries(a: readonly number[], b: readonly number[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
