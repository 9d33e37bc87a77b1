// The gateway's part of the demo's live summary: the gateway's own /v1/stats document
// (docs/stats.md), fetched at each refresh. The gateway is another process, preloaded with
// otel-inference/register; its embedded Prometheus endpoint serves /v1/stats beside /metrics.
//
// Per model: the gateway's requests as its callers saw them (the server side: rate, errors and
// TTFT from a request's arrival to its first output write) beside its calls to the backends (the
// client side: TTFT from the upstream call to the backend's first chunk); under each model, the
// client side split by backend (inference.backend); then the fallbacks from one backend to the
// next, by from, to and reason. No number is computed here: each is a field of the document, over
// its recent window (the gateway's OTEL_INFERENCE_STATS_WINDOW; npm start sets it to --window) or,
// for the final summary, over the gateway's lifetime.

import { fmtNum, fmtPair } from './summary.mjs';

const NO_MODEL = '(no model)';

/** The rate and error share of one side over a period, as the table shows them. */
function sideRow(period) {
  return {
    requests: period.requests,
    reqPerSec: period.requests_per_s ?? NaN,
    errorPct: period.error_rate === null ? NaN : 100 * period.error_rate,
    ttft: period.ttft_s,
  };
}

/** A side with no request ended yet has nothing for these columns (e.g. the series of the active
 * gauge, recorded before a request's model is known). */
const idle = (side) => side === undefined || side.lifetime.requests.total === 0;

/**
 * The gateway's rows of one period of its stats document: a row per model with a request (idle
 * ones are left out), in the document's order.
 * @param {import('otel-inference').InferenceStats} stats
 * @param {'window' | 'lifetime'} period
 */
export function gatewayRows(stats, period) {
  const byModel = [];
  for (const m of stats.models) {
    if (idle(m.server) && idle(m.client)) continue;
    byModel.push({
      model: m.model ?? NO_MODEL,
      server: m.server ? sideRow(m.server[period]) : undefined,
      client: m.client ? sideRow(m.client[period]) : undefined,
      backends: (m.backends ?? []).map((b) => ({ backend: b.backend, ...sideRow(b[period]) })),
    });
  }
  const seconds = period === 'window' ? stats.window.seconds : stats.uptime_s;
  const fallbacks = stats.fallbacks[period].filter((f) => f.count > 0);
  const moved = fallbacks.reduce((n, f) => n + f.count, 0);
  return { seconds, byModel, fallbacks, fallbacksPerSec: seconds > 0 ? moved / seconds : NaN };
}

// ---------------------------------------------------------------------------------------------
// Formatting (plain text, as the rest of the summary)

const COLUMNS = [
  { title: 'model / backend', width: 16, align: 'left' },
  { title: 'req/s', width: 6 },
  { title: 'err%', width: 5 },
  { title: 'server TTFT p50 / p95', width: 21 },
  { title: 'client TTFT p50 / p95', width: 21 },
];

function line(cells) {
  return cells.map((text, i) => (COLUMNS[i].align === 'left' ? text.padEnd(COLUMNS[i].width) : text.padStart(COLUMNS[i].width))).join('  ').trimEnd();
}

/**
 * The gateway section: per model, the server side's rate and errors with server beside client
 * TTFT; under it, each backend's rate, errors and TTFT (client side); then the fallbacks.
 */
export function formatGateway(rows, title) {
  const lines = [title, line(COLUMNS.map((c) => c.title))];
  if (rows.byModel.length === 0) lines.push('  (no request through the gateway yet)');
  for (const r of rows.byModel) {
    // The rate and errors the gateway's callers saw: its server side (its client side when it has none).
    const own = r.server ?? r.client;
    lines.push(line([r.model, fmtNum(own.reqPerSec, 2), fmtNum(own.errorPct), r.server ? fmtPair(r.server.ttft) : '-', r.client ? fmtPair(r.client.ttft) : '-']));
    for (const b of r.backends) lines.push(line([`  ${b.backend}`, fmtNum(b.reqPerSec, 2), fmtNum(b.errorPct), '', fmtPair(b.ttft)]));
  }
  const moved = rows.fallbacks.map((f) => `${f.from ?? '?'} → ${f.to ?? '(none)'} ${f.reason ?? '?'}: ${f.count}`);
  lines.push(`fallbacks: ${moved.length === 0 ? 'none' : `${fmtNum(rows.fallbacksPerSec, 2)}/s (${moved.join(', ')})`}`);
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------

/**
 * The gateway section, from its /v1/stats read now: its recent window, or its whole run for the
 * final summary. Read when the summary renders (its footer may be async), so that it covers the
 * same moment as the load's table. Never rejects: a gateway that does not answer gives a line that
 * says so. The recent window is the gateway's own.
 * @param {string} statsUrl e.g. `localhost:9465/v1/stats`
 * @param {boolean} [final]
 * @returns {Promise<string>}
 */
export async function readGatewaySection(statsUrl, final = false) {
  const url = /^https?:\/\//.test(statsUrl) ? statsUrl : `http://${statsUrl}`;
  let stats;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
    const body = await res.json();
    if (!res.ok) throw new Error(`${res.status}: ${body?.error ?? 'no document'}`);
    stats = body;
  } catch (err) {
    return `the gateway: ${url} did not answer (${err?.message ?? err})`;
  }
  const rows = gatewayRows(stats, final ? 'lifetime' : 'window');
  const span = final
    ? `over its whole run (${rows.seconds.toFixed(0)}s)`
    : `last ${rows.seconds.toFixed(0)}s${stats.window.complete ? '' : ` (the window fills up to ${stats.window.target_s}s)`}`;
  return formatGateway(rows, `the gateway, ${span} (curl ${url.replace(/^http:\/\//, '')}; server = to its callers, client = to its backends):`);
}
