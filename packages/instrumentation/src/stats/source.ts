/**
 * A source of `/v1/stats` documents over one cumulative MetricReader: each read collects, and
 * the recent window is the difference from an earlier collection kept in a small ring.
 *
 * No timer: snapshots are taken only when someone reads. The window's base is the newest kept
 * snapshot at least `windowSeconds` old, so a reader polling every p seconds gets windows of
 * `windowSeconds` to `windowSeconds + max(p, step)` (step = windowSeconds / 12: snapshots closer
 * together than that are not kept). Until such a snapshot exists the window starts at the oldest
 * one kept and says `complete: false`: for a source that started empty, with the process, that is
 * the whole uptime; for one that did not, the first read has an empty window (it has no earlier
 * snapshot to subtract).
 */
import { buildStats, emptyStatsSnapshot, readStatsSnapshot, type CollectionLike, type StatsSnapshot } from './snapshot.js';
import type { InferenceStats } from './types.js';

export const DEFAULT_STATS_WINDOW_SECONDS = 60;
/** Snapshots kept per window: the window's span overshoots the target by at most a twelfth. */
const STEPS_PER_WINDOW = 12;

export interface StatsSourceOptions {
  /** Collects the reader: `() => reader.collect()` of a cumulative sdk-metrics MetricReader. */
  collect(): Promise<CollectionLike>;
  /** The recent window, in seconds. Default 60. */
  windowSeconds?: number;
  /**
   * True when nothing had been recorded into the reader when this source was created (register
   * creates it with the MeterProvider): the window then starts from that empty state instead of
   * from the first read. Default false.
   */
  startedEmpty?: boolean;
  /** Monotonic milliseconds; default `performance.now()`. For tests. */
  now?: () => number;
  /** Seconds since the process started; default `process.uptime()`. For tests. */
  uptime?: () => number;
}

export interface StatsSource {
  /** Collects and returns the document. Rejects when the collection fails or reports errors. */
  read(): Promise<InferenceStats>;
  readonly windowSeconds: number;
}

/** Thrown (as a rejection of `read()`) when the reader's collection reported errors. */
export class StatsCollectionError extends Error {
  constructor(readonly errors: readonly unknown[]) {
    super(`the metrics collection reported ${errors.length} error(s)`);
    this.name = 'StatsCollectionError';
  }
}

/** A {@link StatsSource} over `options.collect`. */
export function createStatsSource(options: StatsSourceOptions): StatsSource {
  const requested = options.windowSeconds;
  const windowSeconds = requested !== undefined && Number.isFinite(requested) && requested > 0 ? requested : DEFAULT_STATS_WINDOW_SECONDS;
  const windowMs = windowSeconds * 1000;
  const stepMs = windowMs / STEPS_PER_WINDOW;
  const now = options.now ?? (() => performance.now());
  const uptime = options.uptime ?? (() => process.uptime());
  /** Snapshots, oldest first, at least a step apart. */
  const ring: StatsSnapshot[] = options.startedEmpty === true ? [emptyStatsSnapshot(now())] : [];

  function keep(snapshot: StatsSnapshot): void {
    const newest = ring[ring.length - 1];
    if (newest !== undefined && snapshot.at - newest.at < stepMs) return;
    ring.push(snapshot);
    // Older than the newest one at least a window old, no snapshot can be a base any more.
    let base = -1;
    for (let i = ring.length - 1; i >= 0; i--) {
      if (ring[i]!.at <= snapshot.at - windowMs) {
        base = i;
        break;
      }
    }
    if (base > 0) ring.splice(0, base);
  }

  function baseFor(at: number): StatsSnapshot | undefined {
    for (let i = ring.length - 1; i >= 0; i--) if (ring[i]!.at <= at - windowMs) return ring[i];
    return ring[0];
  }

  return {
    windowSeconds,
    async read() {
      const collected = await options.collect();
      if (collected.errors !== undefined && collected.errors.length > 0) throw new StatsCollectionError(collected.errors);
      const at = now();
      const snapshot = readStatsSnapshot(collected, at);
      const base = baseFor(at);
      keep(snapshot);
      return buildStats(snapshot, { base, uptimeSeconds: uptime(), windowSeconds });
    },
  };
}
