// Types for demo/quantiles.mjs (hand-written: the module itself is plain JavaScript).

/** An explicit-bucket histogram in the OpenTelemetry SDK's shape: per-bucket counts, +Inf last. */
export interface Buckets {
  boundaries: readonly number[];
  counts: readonly number[];
}

/** Prometheus histogram_quantile() over per-bucket counts (boundaries.length + 1 of them). */
export declare function histogramQuantile(q: number, boundaries: readonly number[], counts: readonly number[]): number;
/** Sum of histograms with the same boundaries; undefined for an empty list. */
export declare function mergeBuckets(histograms: readonly (Buckets | undefined)[]): { boundaries: number[]; counts: number[] } | undefined;
/** Observations between two cumulative snapshots; a reset counts from zero. */
export declare function subtractBuckets(now: Buckets | undefined, before: Buckets | undefined): { boundaries: number[]; counts: number[] } | undefined;
/** Total number of observations. */
export declare function bucketTotal(h: Buckets | undefined): number;
