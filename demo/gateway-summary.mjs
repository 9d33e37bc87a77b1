// The gateway's part of the demo's live summary: the gateway's own /v1/stats document (the
// gateway is another process; docs/stats.md), printed as tables. Per model: the gateway's
// server-side TTFT (from a request's arrival to its first output to the caller) beside its
// client-side TTFT (from its upstream call to the backend's first chunk), and the client TTFT of
// each backend; per backend: its calls, errors and the fallbacks from it to the next. Like the
// load's table (demo/summary.mjs), no number is computed here: they are the document's.

/** @typedef {import('otel-inference').InferenceStats} InferenceStats */

/** Backends shown as TTFT columns, in the order they first appear; more would not fit a line. */
const MAX_BACKEND_COLUMNS = 3;

const add = (a, b) => (a ?? 0) + (b ?? 0);

/**
 * The gateway's rows of one period (`window` or `lifetime`) of its stats document.
 * @param {InferenceStats} stats
 * @param {'window' | 'lifetime'} period
 */
export function gatewayRows(stats, period) {
  const seconds = period === 'window' ? stats.window.seconds : stats.uptime_s;
  const backendNames = [];
  const byBackend = new Map();
  const byModel = [];
  for (const m of stats.models) {
    if (!m.server && !m.client) continue;
    // Series with no model and nothing in the period: a served request's active gauge, counted
    // before its model was known.
    const ended = (m.server?.[period].requests.total ?? 0) + (m.client?.[period].requests.total ?? 0);
    if (m.model === null && ended === 0) continue;
    const backends = {};
    for (const b of m.backends ?? []) {
      if (!backendNames.includes(b.backend)) backendNames.push(b.backend);
      backends[b.backend] = b[period].ttft_s;
      const r = b[period].requests;
      const agg = byBackend.get(b.backend) ?? { total: 0, error: 0 };
      byBackend.set(b.backend, { total: agg.total + r.total, error: agg.error + r.error });
    }
    byModel.push({
      model: m.model ?? '(no model)',
      servedPerSec: m.server?.[period].requests_per_s ?? null,
      serverTtft: m.server?.[period].ttft_s,
      clientTtft: m.client?.[period].ttft_s,
      backends,
    });
  }
  const fallbacks = stats.fallbacks[period];
  return {
    period,
    seconds,
    backendNames,
    byModel,
    byBackend: backendNames.map((backend) => {
      const { total, error } = byBackend.get(backend);
      const moved = fallbacks.filter((f) => f.from === backend);
      const movedCount = moved.reduce((n, f) => add(n, f.count), 0);
      return {
        backend,
        callsPerSec: seconds > 0 ? total / seconds : null,
        errorRate: total > 0 ? error / total : null,
        fallbacks: moved,
        fallbacksPerSec: seconds > 0 ? movedCount / seconds : null,
      };
    }),
  };
}

// ---------------------------------------------------------------------------------------------
// Formatting (plain text, as the load's table)

function fmtSeconds(s) {
  if (s === null || !Number.isFinite(s)) return '-';
  if (s < 1) return `${Math.round(s * 1000)}ms`;
  return s < 10 ? `${s.toFixed(2)}s` : `${s.toFixed(1)}s`;
}
const fmtPair = (q) => (!q || q.count === 0 || q.p50 === null ? '-' : `${fmtSeconds(q.p50)} / ${fmtSeconds(q.p95)}`);
const fmtNum = (n, digits = 1) => (n !== null && Number.isFinite(n) ? n.toFixed(digits) : '-');

/** The gateway section: per model, server beside client TTFT and each backend's; per backend, calls, errors and fallbacks. */
export function formatGateway(rows, title) {
  const shown = rows.backendNames.slice(0, MAX_BACKEND_COLUMNS);
  const columns = [
    { title: 'model', width: 16, left: true, get: (r) => r.model },
    { title: 'served/s', width: 8, get: (r) => fmtNum(r.servedPerSec, 2) },
    { title: 'server TTFT', width: 15, get: (r) => fmtPair(r.serverTtft) },
    { title: 'client TTFT', width: 15, get: (r) => fmtPair(r.clientTtft) },
    ...shown.map((b) => ({ title: `${b} TTFT`.slice(0, 15), width: 15, get: (r) => fmtPair(r.backends[b]) })),
  ];
  const line = (cells) => cells.map((c, i) => (columns[i].left ? c.padEnd(columns[i].width) : c.padStart(columns[i].width))).join('  ');
  const lines = [title, line(columns.map((c) => c.title))];
  if (rows.byModel.length === 0) lines.push('  (no request through the gateway yet)');
  for (const r of rows.byModel) lines.push(line(columns.map((c) => String(c.get(r)))));
  if (rows.byBackend.length > 0) {
    lines.push(`${'backend'.padEnd(16)}  ${'calls/s'.padStart(8)}  ${'err%'.padStart(5)}  fallbacks to the next`);
    for (const b of rows.byBackend) {
      const detail =
        b.fallbacks.length === 0 ? '-' : `${fmtNum(b.fallbacksPerSec, 2)}/s (${b.fallbacks.map((f) => `→ ${f.to} ${f.reason}: ${f.count}`).join(', ')})`;
      lines.push(`${b.backend.padEnd(16)}  ${fmtNum(b.callsPerSec, 2).padStart(8)}  ${fmtNum(b.errorRate === null ? null : 100 * b.errorRate).padStart(5)}  ${detail}`);
    }
  }
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------

/**
 * The gateway section, read from its /v1/stats now: its recent window, or its lifetime for the
 * final summary. Never rejects: a gateway that does not answer gives a line that says so.
 * @param {string} statsUrl e.g. `localhost:9465/v1/stats`
 * @param {boolean} [final]
 * @returns {Promise<string>}
 */
export async function readGatewaySection(statsUrl, final = false) {
  const url = /^https?:\/\//.test(statsUrl) ? statsUrl : `http://${statsUrl}`;
  let stats;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    stats = await res.json();
  } catch (err) {
    return `the gateway: ${url} did not answer (${err?.message ?? err})`;
  }
  const rows = gatewayRows(stats, final ? 'lifetime' : 'window');
  const span = final
    ? `over its lifetime (${rows.seconds.toFixed(0)}s)`
    : `last ${rows.seconds.toFixed(0)}s${stats.window.complete ? '' : ` (the window fills up to ${stats.window.target_s}s)`}`;
  return formatGateway(rows, `the gateway (${url}), ${span}; TTFT p50 / p95, server: to its callers, client: from its backends:`);
}
