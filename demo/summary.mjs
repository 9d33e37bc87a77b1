// The demo's live terminal summary: the /v1/stats document of otel-inference (docs/stats.md),
// printed as a table. One implementation: the same snapshot code as the /v1/stats endpoint, over
// the in-process MetricReader of otel-inference/register (OTEL_INFERENCE_IN_PROCESS_READER=true).
//
// Each refresh reads a stats document: per gen_ai.request.model, the client side over the recent
// window (the difference from a snapshot --window seconds old, like PromQL's increase()): request
// rate, error and cancel shares, output tokens/s, and p50/p95 from the SDK's histogram buckets
// with Prometheus' histogram_quantile interpolation. The final summary is the lifetime period.
// Nothing is measured twice: what is shown is what the SDK recorded and what /metrics exports.
//
// Duration percentiles use successful calls only (inference.outcome = success), like the
// dashboard's latency panels; TTFT and time per output chunk come from every stream that
// produced output.

import { ATTR, createStatsSource } from 'otel-inference';

const MODEL = ATTR.requestModel;

/**
 * The table rows of one period of a stats document (`window` or `lifetime`): one per model with a
 * client side, in the document's order (by model name).
 * @param {import('otel-inference').InferenceStats} stats
 * @param {'window' | 'lifetime'} period
 */
export function rowsOf(stats, period) {
  const rows = [];
  for (const m of stats.models) {
    if (!m.client) continue;
    const p = m.client[period];
    const { total, success, error, cancelled } = p.requests;
    rows.push({
      model: m.model ?? '(no model)',
      requests: { success, error, cancelled, ended: total },
      reqPerSec: p.requests_per_s ?? NaN,
      errorPct: p.error_rate === null ? NaN : 100 * p.error_rate,
      cancelledPct: total > 0 ? (100 * cancelled) / total : NaN,
      active: m.client.active,
      ttft: p.ttft_s,
      perChunk: p.time_per_output_chunk_s,
      duration: p.duration_s,
      decodeRate: p.output_token_rate,
      outputTokens: p.tokens.output,
      outputTokensPerSec: p.output_tokens_per_s ?? NaN,
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

/** p50 / p95 of a QuantileStats, or `-` without observations. */
export function fmtPair(q) {
  if (!q || q.count === 0 || q.p50 === null) return '-';
  return `${fmtSeconds(q.p50)} / ${fmtSeconds(q.p95)}`;
}

export function fmtNum(n, digits = 1) {
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
 *   footer?: (final: boolean) => string | Promise<string>,
 * }} options
 */
export function startLiveSummary(options) {
  const { reader, intervalMs = 3000, windowSeconds = 30, out = process.stdout, header = () => '', footer = () => '' } = options;
  const inPlace = Boolean(out.isTTY) && process.env.TERM !== 'dumb';
  // Started with the load, before any request: the window fills from an empty reader.
  const source = createStatsSource({ collect: () => reader.collect(), windowSeconds, startedEmpty: true });
  let linesShown = 0;
  let timer = null;
  let busy = false;

  async function render(final = false) {
    const stats = await source.read();
    const rows = rowsOf(stats, final ? 'lifetime' : 'window');
    const span = final ? stats.uptime_s : stats.window.seconds;
    const title = final
      ? `final summary over the whole run (${span.toFixed(0)}s), per ${MODEL}:`
      : `last ${span.toFixed(0)}s${stats.window.complete ? '' : ` (the window fills up to ${windowSeconds}s)`}, per ${MODEL} (p50 / p95 from the SDK's histogram buckets; duration: successful calls):`;
    // The footer may read another process (the demo's gateway): awaited, so that it is as fresh as the table.
    const text = [header(), title, formatRows(rows), await footer(final)].filter((s) => s !== '').join('\n');
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
