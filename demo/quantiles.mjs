// Quantiles from explicit-bucket histograms, computed the way Prometheus' histogram_quantile()
// does (promql/quantile.go, BucketQuantile): find the bucket in which the rank q * count falls
// and interpolate linearly between its lower and upper bound.
//
// Buckets are given in the OpenTelemetry SDK's shape: `boundaries` (ascending upper bounds,
// finite) and `counts`, one count per bucket (NOT cumulative), `boundaries.length + 1` of them,
// the last one being the (+Inf) overflow bucket:
//
//   bucket 0: (-Inf, b0]   bucket i: (b(i-1), b(i)]   bucket n: (b(n-1), +Inf)
//
// As in Prometheus:
// - the lower bound of the first bucket is 0 when its upper bound is positive (observations are
//   assumed non-negative); when the first bucket's upper bound is <= 0, that bound is returned;
// - a rank that falls in the +Inf bucket returns the highest finite boundary;
// - no observations → NaN; q < 0 → -Infinity; q > 1 → +Infinity; q NaN → NaN.
// (The histogram's own min/max are deliberately not used: the result equals what a PromQL
// histogram_quantile over the same buckets gives.)

/**
 * @param {number} q quantile, 0..1
 * @param {readonly number[]} boundaries ascending finite upper bounds
 * @param {readonly number[]} counts per-bucket counts, boundaries.length + 1 of them
 * @returns {number}
 */
export function histogramQuantile(q, boundaries, counts) {
  if (Number.isNaN(q)) return NaN;
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  if (!Array.isArray(boundaries) || !Array.isArray(counts)) return NaN;
  if (counts.length !== boundaries.length + 1) {
    throw new Error(`histogramQuantile: ${counts.length} counts for ${boundaries.length} boundaries (expected ${boundaries.length + 1})`);
  }
  // Prometheus works on cumulative counts, one per upper bound, +Inf last.
  const upper = [...boundaries, Infinity];
  const cumulative = [];
  let running = 0;
  for (const c of counts) {
    running += Math.max(0, Number(c) || 0);
    cumulative.push(running);
  }
  if (upper.length < 2) return NaN;
  const observations = cumulative[cumulative.length - 1];
  if (observations === 0) return NaN;
  const rank = q * observations;
  // sort.Search over all buckets but the +Inf one: the first whose cumulative count >= rank.
  let b = 0;
  while (b < upper.length - 1 && cumulative[b] < rank) b++;
  if (b === upper.length - 1) return upper[upper.length - 2];
  if (b === 0 && upper[0] <= 0) return upper[0];
  let bucketStart = 0;
  const bucketEnd = upper[b];
  let count = cumulative[b];
  let r = rank;
  if (b > 0) {
    bucketStart = upper[b - 1];
    count -= cumulative[b - 1];
    r -= cumulative[b - 1];
  }
  return bucketStart + (bucketEnd - bucketStart) * (r / count);
}

/**
 * Adds histograms with the same boundaries (e.g. all the series of one model).
 * @param {{ boundaries: readonly number[], counts: readonly number[] }[]} histograms
 * @returns {{ boundaries: number[], counts: number[] } | undefined} undefined for an empty list
 */
export function mergeBuckets(histograms) {
  let out;
  for (const h of histograms) {
    if (!h) continue;
    if (!out) {
      out = { boundaries: [...h.boundaries], counts: [...h.counts] };
      continue;
    }
    if (!sameBoundaries(out.boundaries, h.boundaries)) {
      throw new Error('mergeBuckets: histograms with different boundaries cannot be added');
    }
    for (let i = 0; i < out.counts.length; i++) out.counts[i] += h.counts[i] ?? 0;
  }
  return out;
}

/**
 * The observations made between two cumulative snapshots of the same histogram (what
 * `increase()` gives in PromQL). A bucket that went down (the series restarted) counts from zero.
 * @param {{ boundaries: readonly number[], counts: readonly number[] } | undefined} now
 * @param {{ boundaries: readonly number[], counts: readonly number[] } | undefined} before
 */
export function subtractBuckets(now, before) {
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

/** Total number of observations in a histogram. */
export function bucketTotal(h) {
  return h ? h.counts.reduce((a, b) => a + b, 0) : 0;
}

function sameBoundaries(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
