// The demo's live terminal summary, computed from the OpenTelemetry SDK's own data.
//
// `reader.collect()` (the in-process MetricReader of otel-inference/register, enabled with
// OTEL_INFERENCE_IN_PROCESS_READER=true) returns cumulative sums and explicit-bucket histograms.
// Each refresh takes a snapshot, per `gen_ai.request.model`, and compares it with an earlier
// one (a sliding window, like PromQL's rate()/increase()): request rate, error and cancel
// shares, output tokens/s from the token-usage sums, and p50/p95 from the histogram bucket
// counts with Prometheus' histogram_quantile interpolation (demo/quantiles.mjs). Nothing is
// measured twice: what is shown is what the SDK recorded and what /metrics exports.
//
// Duration percentiles use successful calls only (inference.outcome = success), like the
// dashboard's latency panels; TTFT and time per output chunk come from every stream that
// produced output.

import { ATTR, METRIC as NAMES, OUTCOME as OUTCOMES } from 'otel-inference';
import { histogramQuantile, mergeBuckets, subtractBuckets, bucketTotal } from './quantiles.mjs';

// The package's own names (resolved through its exports map, like the preload).
export const METRIC = Object.freeze({
  duration: NAMES.operationDuration,
  tokenUsage: NAMES.tokenUsage,
  ttft: NAMES.timeToFirstChunk,
  perChunk: NAMES.timePerOutputChunk,
  requests: NAMES.requests,
  active: NAMES.activeRequests,
  tokenRate: NAMES.outputTokenRate,
});
const MODEL = ATTR.requestModel;
const OUTCOME = ATTR.outcome;
const TOKEN_TYPE = ATTR.tokenType;
/** Histograms summed over all their points, by the summary field they go to. */
const HISTOGRAM_FIELD = { [METRIC.ttft]: 'ttft', [METRIC.perChunk]: 'perChunk', [METRIC.tokenRate]: 'tokenRate' };

function emptyModel() {
  return {
    success: 0,
    error: 0,
    cancelled: 0,
    active: 0,
    outputTokens: 0,
    duration: undefined,
    ttft: undefined,
    perChunk: undefined,
    tokenRate: undefined,
  };
}

function addHistogram(current, value) {
  const h = { boundaries: value.buckets.boundaries, counts: value.buckets.counts };
  return current ? mergeBuckets([current, h]) : mergeBuckets([h]);
}

/**
 * One snapshot of the SDK's cumulative data, per model.
 * @param {any} collected what `await reader.collect()` resolved to ({ resourceMetrics, errors })
 * @param {number} [at] timestamp, ms
 * @returns {{ at: number, models: Map<string, ReturnType<typeof emptyModel>> }}
 */
export function takeSnapshot(collected, at = performance.now()) {
  const models = new Map();
  const get = (attrs) => {
    const name = String(attrs?.[MODEL] ?? 'unknown');
    let m = models.get(name);
    if (!m) models.set(name, (m = emptyModel()));
    return m;
  };
  const rms = collected?.resourceMetrics;
  const list = Array.isArray(rms) ? rms : rms ? [rms] : [];
  for (const rm of list) {
    for (const sm of rm.scopeMetrics ?? []) {
      for (const metric of sm.metrics ?? []) {
        const name = metric.descriptor?.name;
        for (const dp of metric.dataPoints ?? []) {
          const attrs = dp.attributes ?? {};
          switch (name) {
            case METRIC.requests: {
              const m = get(attrs);
              const outcome = attrs[OUTCOME];
              if (outcome === OUTCOMES.success || outcome === OUTCOMES.error || outcome === OUTCOMES.cancelled) m[outcome] += dp.value;
              break;
            }
            case METRIC.active:
              get(attrs).active += dp.value;
              break;
            case METRIC.tokenUsage:
              if (attrs[TOKEN_TYPE] === 'output') get(attrs).outputTokens += dp.value.sum ?? 0;
              break;
            case METRIC.duration:
              if (attrs[OUTCOME] === OUTCOMES.success) {
                const m = get(attrs);
                m.duration = addHistogram(m.duration, dp.value);
              }
              break;
            default: {
              const field = HISTOGRAM_FIELD[name];
              if (field !== undefined) {
                const m = get(attrs);
                m[field] = addHistogram(m[field], dp.value);
              }
            }
          }
        }
      }
    }
  }
  return { at, models };
}

function quantiles(h) {
  if (!h || bucketTotal(h) === 0) return { p50: NaN, p95: NaN, count: 0 };
  return {
    p50: histogramQuantile(0.5, h.boundaries, h.counts),
    p95: histogramQuantile(0.95, h.boundaries, h.counts),
    count: bucketTotal(h),
  };
}

/**
 * Per-model rows for the window between two snapshots (`before` undefined: since the start).
 * Seconds in, seconds out.
 */
export function computeRows(now, before) {
  const dt = before ? (now.at - before.at) / 1000 : NaN;
  const rows = [];
  for (const [model, m] of [...now.models].sort(([a], [b]) => a.localeCompare(b))) {
    const b = before?.models.get(model) ?? emptyModel();
    const success = Math.max(0, m.success - b.success);
    const error = Math.max(0, m.error - b.error);
    const cancelled = Math.max(0, m.cancelled - b.cancelled);
    const ended = success + error + cancelled;
    const outputTokens = Math.max(0, m.outputTokens - b.outputTokens);
    rows.push({
      model,
      requests: { success, error, cancelled, ended },
      reqPerSec: dt > 0 ? ended / dt : NaN,
      errorPct: ended > 0 ? (100 * error) / ended : NaN,
      cancelledPct: ended > 0 ? (100 * cancelled) / ended : NaN,
      active: m.active,
      ttft: quantiles(subtractBuckets(m.ttft, b.ttft)),
      perChunk: quantiles(subtractBuckets(m.perChunk, b.perChunk)),
      duration: quantiles(subtractBuckets(m.duration, b.duration)),
      decodeRate: quantiles(subtractBuckets(m.tokenRate, b.tokenRate)),
      outputTokens,
      outputTokensPerSec: dt > 0 ? outputTokens / dt : NaN,
    });
  }
  return rows;
}

// ---------------------------------------------------------------------------------------------
// Formatting

function fmtSeconds(s) {
  if (!Number.isFinite(s)) return '-';
  if (s < 1) return `${Math.round(s * 1000)}ms`;
  if (s < 10) return `${s.toFixed(2)}s`;
  return `${s.toFixed(1)}s`;
}

function fmtPair(q) {
  if (!q || q.count === 0) return '-';
  return `${fmtSeconds(q.p50)} / ${fmtSeconds(q.p95)}`;
}

function fmtNum(n, digits = 1) {
  return Number.isFinite(n) ? n.toFixed(digits) : '-';
}

const COLUMNS = [
  { title: 'model', width: 16, align: 'left', get: (r) => r.model },
  { title: 'req/s', width: 6, get: (r) => fmtNum(r.reqPerSec, 2) },
  { title: 'err%', width: 5, get: (r) => fmtNum(r.errorPct) },
  { title: 'canc%', width: 5, get: (r) => fmtNum(r.cancelledPct) },
  { title: 'active', width: 6, get: (r) => String(r.active) },
  { title: 'TTFT p50 / p95', width: 16, get: (r) => fmtPair(r.ttft) },
  { title: 'per chunk p50/p95', width: 17, get: (r) => fmtPair(r.perChunk) },
  { title: 'duration p50 / p95', width: 18, get: (r) => fmtPair(r.duration) },
  { title: 'out tok/s', width: 9, get: (r) => fmtNum(r.outputTokensPerSec) },
];

function cell(text, col) {
  const t = String(text);
  return col.align === 'left' ? t.padEnd(col.width) : t.padStart(col.width);
}

/** The table, one line per model (plain text, no colours). */
export function formatRows(rows) {
  const lines = [COLUMNS.map((c) => cell(c.title, c)).join('  ')];
  if (rows.length === 0) lines.push('  (no inference calls recorded yet)');
  for (const r of rows) lines.push(COLUMNS.map((c) => cell(c.get(r), c)).join('  '));
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------
// Live summary

/**
 * Refreshes the summary every `intervalMs`: in place on a terminal, as appended blocks otherwise.
 * @param {{
 *   reader: { collect(): Promise<any> },
 *   intervalMs?: number,
 *   windowSeconds?: number,
 *   out?: NodeJS.WriteStream,
 *   header?: () => string,
 *   footer?: () => string,
 * }} options
 */
export function startLiveSummary(options) {
  const { reader, intervalMs = 3000, windowSeconds = 30, out = process.stdout, header = () => '', footer = () => '' } = options;
  const inPlace = Boolean(out.isTTY) && process.env.TERM !== 'dumb';
  const start = { at: performance.now(), models: new Map() };
  /** Snapshots of the last `windowSeconds`, oldest first. */
  const history = [start];
  let linesShown = 0;
  let timer = null;
  let busy = false;

  async function render(final = false) {
    const snap = takeSnapshot(await reader.collect(), performance.now());
    const cutoff = snap.at - windowSeconds * 1000;
    // The newest snapshot at or before the window start (or the oldest kept).
    while (history.length > 1 && history[1].at <= cutoff) history.shift();
    const base = final ? start : history[0];
    history.push(snap);
    const rows = computeRows(snap, base);
    const span = (snap.at - base.at) / 1000;
    const title = final
      ? `final summary over the whole run (${span.toFixed(0)}s), per ${MODEL}:`
      : `last ${span.toFixed(0)}s, per ${MODEL} (p50 / p95 from the SDK's histogram buckets; duration: successful calls):`;
    const text = [header(), title, formatRows(rows), footer()].filter((s) => s !== '').join('\n');
    // On a terminal: move up over the previous table and redraw it.
    if (inPlace && linesShown > 0) out.write(`\x1b[${linesShown}F\x1b[J`);
    out.write(text + '\n' + (inPlace ? '' : '\n'));
    if (inPlace) {
      const width = out.columns || 120;
      linesShown = text.split('\n').reduce((n, line) => n + Math.max(1, Math.ceil(line.length / width)), 0);
    }
    return rows;
  }

  async function tick() {
    if (busy) return;
    busy = true;
    try {
      await render(false);
    } catch (err) {
      process.stderr.write(`summary: ${err?.message ?? err}\n`);
    } finally {
      busy = false;
    }
  }

  timer = setInterval(tick, intervalMs);
  timer.unref?.();
  return {
    /** Stops refreshing and prints the summary over the whole run; resolves to its rows. */
    async stop() {
      clearInterval(timer);
      while (busy) await new Promise((r) => setTimeout(r, 20));
      return render(true);
    },
  };
}
