// The gateway's part of the demo's live summary, read from the gateway's own /metrics (the
// gateway is another process): per model, its server-side TTFT (the gateway to its callers) beside
// its client-side TTFT (the gateway to the backend that answered); per backend, the request rate,
// errors and TTFT; and the fallbacks from one backend to the next, by reason. Windows, rates and
// quantiles as in demo/summary.mjs: the increase between two scrapes, Prometheus'
// histogram_quantile over the buckets (demo/quantiles.mjs).

import { bucketTotal, histogramQuantile, PROMETHEUS_GATEWAY_METRIC, PROMETHEUS_LABEL, PROMETHEUS_METRIC, PROMETHEUS_SERVER_METRIC, subtractBuckets } from 'otel-inference';

const NAME = Object.freeze({
  clientTtft: PROMETHEUS_METRIC.timeToFirstChunk.name,
  clientRequests: PROMETHEUS_METRIC.requests.name,
  serverTtft: PROMETHEUS_SERVER_METRIC.timeToFirstToken.name,
  serverRequests: PROMETHEUS_SERVER_METRIC.requests.name,
  fallbacks: PROMETHEUS_GATEWAY_METRIC.fallbacks.name,
});
const LABEL = Object.freeze({
  model: PROMETHEUS_LABEL.requestModel,
  responseModel: PROMETHEUS_LABEL.responseModel,
  backend: PROMETHEUS_LABEL.backend,
  outcome: PROMETHEUS_LABEL.outcome,
  from: PROMETHEUS_LABEL.fallbackFrom,
  to: PROMETHEUS_LABEL.fallbackTo,
  reason: PROMETHEUS_LABEL.fallbackReason,
});

/**
 * The samples of a Prometheus text exposition: name, labels, value.
 * @param {string} text
 * @returns {{ name: string, labels: Record<string, string>, value: number }[]}
 */
export function parseExposition(text) {
  const samples = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[l[1]] = l[2].replace(/\\(["\\n])/g, (_, c) => (c === 'n' ? '\n' : c));
    }
    samples.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return samples;
}

/** Adds one `_bucket` sample into `by` (a Map of le → cumulative count), for a histogram keyed by `key`. */
function addBucket(histograms, key, sample) {
  let byLe = histograms.get(key);
  if (!byLe) histograms.set(key, (byLe = new Map()));
  const le = sample.labels.le === '+Inf' ? Infinity : Number(sample.labels.le);
  byLe.set(le, (byLe.get(le) ?? 0) + sample.value);
}

/** Cumulative `le` counts to the OTel shape: finite boundaries and one count per bucket. */
function toBuckets(byLe) {
  if (!byLe) return undefined;
  const les = [...byLe.keys()].sort((a, b) => a - b);
  const cumulative = les.map((le) => byLe.get(le));
  return {
    boundaries: les.filter((le) => le !== Infinity),
    counts: cumulative.map((c, i) => c - (i > 0 ? cumulative[i - 1] : 0)),
  };
}

/**
 * What one scrape of the gateway holds, summed the way the summary shows it.
 * @param {ReturnType<typeof parseExposition>} samples
 * @param {number} at timestamp, ms
 */
export function gatewaySnapshot(samples, at = performance.now()) {
  const serverTtft = new Map();
  const clientTtft = new Map();
  const backendTtft = new Map();
  const backends = new Map();
  const served = { success: 0, error: 0, cancelled: 0 };
  const fallbacks = new Map();
  for (const s of samples) {
    switch (s.name) {
      case `${NAME.serverTtft}_bucket`:
        // The requested model when the server side knows it, else the one that answered.
        addBucket(serverTtft, s.labels[LABEL.model] ?? s.labels[LABEL.responseModel] ?? 'unknown', s);
        break;
      case `${NAME.clientTtft}_bucket`:
        addBucket(clientTtft, s.labels[LABEL.model] ?? 'unknown', s);
        if (s.labels[LABEL.backend] !== undefined) addBucket(backendTtft, s.labels[LABEL.backend], s);
        break;
      case NAME.clientRequests: {
        const backend = s.labels[LABEL.backend];
        if (backend === undefined) break;
        let b = backends.get(backend);
        if (!b) backends.set(backend, (b = { success: 0, error: 0, cancelled: 0 }));
        const outcome = s.labels[LABEL.outcome];
        if (outcome in b) b[outcome] += s.value;
        break;
      }
      case NAME.serverRequests: {
        const outcome = s.labels[LABEL.outcome];
        if (outcome in served) served[outcome] += s.value;
        break;
      }
      case NAME.fallbacks: {
        const key = `${s.labels[LABEL.from]}\u0000${s.labels[LABEL.to]}\u0000${s.labels[LABEL.reason]}`;
        fallbacks.set(key, (fallbacks.get(key) ?? 0) + s.value);
        break;
      }
    }
  }
  const buckets = (m) => new Map([...m].map(([k, v]) => [k, toBuckets(v)]));
  return { at, serverTtft: buckets(serverTtft), clientTtft: buckets(clientTtft), backendTtft: buckets(backendTtft), backends, served, fallbacks };
}

function quantiles(h) {
  if (!h || bucketTotal(h) === 0) return { p50: NaN, p95: NaN, count: 0 };
  return { p50: histogramQuantile(0.5, h.boundaries, h.counts), p95: histogramQuantile(0.95, h.boundaries, h.counts), count: bucketTotal(h) };
}

const EMPTY = { at: 0, serverTtft: new Map(), clientTtft: new Map(), backendTtft: new Map(), backends: new Map(), served: { success: 0, error: 0, cancelled: 0 }, fallbacks: new Map() };

/**
 * The gateway's rows over the window between two snapshots (`before` undefined: since the start).
 * Seconds in, seconds out.
 */
export function gatewayRows(now, before = EMPTY) {
  const dt = before.at > 0 ? (now.at - before.at) / 1000 : NaN;
  const models = [...new Set([...now.serverTtft.keys(), ...now.clientTtft.keys()])].sort();
  const byModel = models.map((model) => ({
    model,
    serverTtft: quantiles(subtractBuckets(now.serverTtft.get(model), before.serverTtft.get(model))),
    clientTtft: quantiles(subtractBuckets(now.clientTtft.get(model), before.clientTtft.get(model))),
  }));
  const fallbacks = [];
  for (const [key, value] of now.fallbacks) {
    const count = Math.max(0, value - (before.fallbacks.get(key) ?? 0));
    if (count === 0) continue;
    const [from, to, reason] = key.split('\u0000');
    fallbacks.push({ from, to, reason, count });
  }
  const byBackend = [...now.backends.keys()].sort().map((backend) => {
    const n = now.backends.get(backend);
    const b = before.backends.get(backend) ?? { success: 0, error: 0, cancelled: 0 };
    const success = Math.max(0, n.success - b.success);
    const error = Math.max(0, n.error - b.error);
    const cancelled = Math.max(0, n.cancelled - b.cancelled);
    const ended = success + error + cancelled;
    const moved = fallbacks.filter((f) => f.from === backend);
    return {
      backend,
      requests: { success, error, cancelled, ended },
      reqPerSec: dt > 0 ? ended / dt : NaN,
      errorPct: ended > 0 ? (100 * error) / ended : NaN,
      ttft: quantiles(subtractBuckets(now.backendTtft.get(backend), before.backendTtft.get(backend))),
      fallbacks: moved.reduce((n, f) => n + f.count, 0),
      fallbacksPerSec: dt > 0 ? moved.reduce((n, f) => n + f.count, 0) / dt : NaN,
    };
  });
  const served = Object.fromEntries(Object.keys(now.served).map((k) => [k, Math.max(0, now.served[k] - (before.served[k] ?? 0))]));
  return { byModel, byBackend, fallbacks, served };
}

// ---------------------------------------------------------------------------------------------
// Formatting (plain text, as the rest of the summary)

function fmtSeconds(s) {
  if (!Number.isFinite(s)) return '-';
  if (s < 1) return `${Math.round(s * 1000)}ms`;
  return s < 10 ? `${s.toFixed(2)}s` : `${s.toFixed(1)}s`;
}
const fmtPair = (q) => (q.count === 0 ? '-' : `${fmtSeconds(q.p50)} / ${fmtSeconds(q.p95)}`);
const fmtNum = (n, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : '-');

/** The gateway section: one table per model (server beside client TTFT), one per backend, the fallbacks. */
export function formatGateway(rows, title) {
  const lines = [title];
  lines.push(`${'model'.padEnd(16)}  ${'server TTFT p50 / p95'.padStart(21)}  ${'client TTFT p50 / p95'.padStart(21)}`);
  if (rows.byModel.length === 0) lines.push('  (no request through the gateway yet)');
  for (const r of rows.byModel) lines.push(`${r.model.padEnd(16)}  ${fmtPair(r.serverTtft).padStart(21)}  ${fmtPair(r.clientTtft).padStart(21)}`);
  lines.push(`${'backend'.padEnd(16)}  ${'req/s'.padStart(6)}  ${'err%'.padStart(5)}  ${'TTFT p50 / p95'.padStart(16)}  fallbacks to the next`);
  for (const r of rows.byBackend) {
    const moved = rows.fallbacks.filter((f) => f.from === r.backend);
    const detail = moved.length === 0 ? '-' : `${fmtNum(r.fallbacksPerSec, 2)}/s (${moved.map((f) => `→ ${f.to} ${f.reason}: ${f.count}`).join(', ')})`;
    lines.push(`${r.backend.padEnd(16)}  ${fmtNum(r.reqPerSec, 2).padStart(6)}  ${fmtNum(r.errorPct).padStart(5)}  ${fmtPair(r.ttft).padStart(16)}  ${detail}`);
  }
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------

/**
 * Scrapes the gateway's /metrics every `intervalMs` and keeps the last `windowSeconds` of
 * snapshots; `text()` is the section as of the last scrape (the summary's footer is synchronous).
 * @param {{ metricsUrl: string, intervalMs?: number, windowSeconds?: number }} options
 */
export function startGatewaySummary({ metricsUrl, intervalMs = 3000, windowSeconds = 30 }) {
  const url = /^https?:\/\//.test(metricsUrl) ? metricsUrl : `http://${metricsUrl}`;
  const history = [];
  let first;
  let shown = '';
  let failed = false;

  async function refresh(final = false) {
    let snap;
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      snap = gatewaySnapshot(parseExposition(await res.text()));
      failed = false;
    } catch (err) {
      if (!failed) shown = `gateway: ${url} did not answer (${err?.message ?? err})`;
      failed = true;
      return;
    }
    first ??= snap;
    const cutoff = snap.at - windowSeconds * 1000;
    while (history.length > 1 && history[1].at <= cutoff) history.shift();
    const base = final ? first : history[0];
    history.push(snap);
    const span = base ? (snap.at - base.at) / 1000 : 0;
    const title = `${final ? 'over the whole run' : `last ${span.toFixed(0)}s`}, the gateway (${url}): server = the gateway to its callers, client = the gateway to its backends:`;
    shown = formatGateway(gatewayRows(snap, base), title);
  }

  const ready = refresh();
  const timer = setInterval(() => void refresh(), intervalMs);
  timer.unref?.();
  return {
    ready,
    /** The section as of the last scrape. */
    text: () => shown,
    /** Stops scraping after one last scrape over the whole run. */
    async stop() {
      clearInterval(timer);
      await refresh(true);
    },
  };
}
