import { describe, expect, it } from 'vitest';

import { DATASOURCE_UID, FILTER, HTTP_FILTER, SERVER_GAUGE_FILTER, SYSTEM_FILTER, buildDashboard, renderDashboard } from '../../grafana/dashboard.js';
import {
  GPU_SERIES,
  HOST_SERIES,
  HTTP_METRIC,
  HTTP_SERIES,
  INFERENCE_SERIES,
  PROMETHEUS_GATEWAY_METRIC,
  PROMETHEUS_LABEL,
  PROMETHEUS_METRIC,
  PROMETHEUS_SERVER_GAUGE,
  PROMETHEUS_SERVER_METRIC,
  SERVER_GAUGE_SERIES,
  SERVING_SERIES,
} from '../../grafana/names.js';
import { DEFAULT_EXPORT_INTERVAL_S, datasourceTimeInterval, grafanaWindows, prometheusScrapeInterval } from './grafana-intervals.js';
import { lintPromQL, metricReferences } from './promql-lint.js';
import { read } from './tools.js';

interface Target {
  expr?: string;
  refId?: string;
  datasource?: { type?: string; uid?: string };
  instant?: boolean;
  range?: boolean;
  interval?: string;
  format?: string;
}
interface PanelJson {
  id?: number;
  type: string;
  title?: string;
  description?: string;
  fieldConfig?: { defaults?: { unit?: string; min?: number; max?: number; noValue?: string } };
  interval?: string;
  options?: { cellValues?: { unit?: string }; yAxis?: { unit?: string } };
  gridPos?: { x: number; y: number; w: number; h: number };
  datasource?: { uid?: string };
  targets?: Target[];
  panels?: PanelJson[];
}
interface VariableJson {
  name: string;
  type: string;
  query?: unknown;
  allValue?: string;
  current?: { value?: unknown };
}

const committed = read('grafana', 'dashboards', 'inference-overview.json');
const dash = JSON.parse(committed) as { uid: string; title: string; schemaVersion: number; panels: PanelJson[]; templating: { list: VariableJson[] } };

function allPanels(panels: PanelJson[]): PanelJson[] {
  return panels.flatMap((p) => [p, ...allPanels(p.panels ?? [])]);
}
const panels = allPanels(dash.panels);
const queryPanels = panels.filter((p) => p.type !== 'row');
const targets = queryPanels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title ?? '', t })));
const variables = dash.templating.list;

describe('Inference overview dashboard', () => {
  it('committed JSON equals the generator output (run `npm run dashboard` when this fails)', () => {
    expect(committed).toBe(renderDashboard());
    expect(JSON.parse(committed)).toEqual(JSON.parse(JSON.stringify(buildDashboard())));
  });

  it('has the expected identity and schema basics', () => {
    expect(dash.uid).toBe('otel-inference-overview');
    expect(dash.title).toBe('Inference overview');
    expect(typeof dash.schemaVersion).toBe('number');
  });

  it('has unique panel ids and sane grid positions', () => {
    const ids = panels.map((p) => p.id);
    expect(ids.every((id) => typeof id === 'number')).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of panels) {
      expect(p.gridPos, p.title).toBeDefined();
      const g = p.gridPos!;
      expect(g.x + g.w, p.title).toBeLessThanOrEqual(24);
      expect(g.w, p.title).toBeGreaterThan(0);
      expect(g.h, p.title).toBeGreaterThan(0);
    }
    expect(['stat', 'timeseries', 'heatmap', 'row']).toEqual(expect.arrayContaining([...new Set(panels.map((p) => p.type))]));
  });

  it('every panel has queries; every target has an expr, a unique refId and the datasource uid', () => {
    for (const p of queryPanels) {
      expect(p.targets?.length, p.title).toBeGreaterThan(0);
      expect(p.datasource?.uid, p.title).toBe('${datasource}');
      const refIds = (p.targets ?? []).map((t) => t.refId);
      expect(new Set(refIds).size, p.title).toBe(refIds.length);
    }
    for (const { panel, t } of targets) {
      expect(t.expr?.trim(), panel).toBeTruthy();
      expect(t.refId, panel).toBeTruthy();
      expect(t.datasource?.uid, panel).toBe('${datasource}');
      expect(t.datasource?.type, panel).toBe('prometheus');
    }
  });

  it('defines the filter variables; All matches series without the label', () => {
    const names = variables.map((v) => v.name);
    expect(names).toEqual(['datasource', 'job', 'instance', 'provider', 'model', 'operation', 'stream']);
    const ds = variables.find((v) => v.name === 'datasource')!;
    expect(ds.type).toBe('datasource');
    expect(ds.query).toBe('prometheus');
    expect(ds.current?.value).toBe(DATASOURCE_UID);
    for (const v of variables.filter((x) => x.type === 'query')) {
      expect(v.allValue, v.name).toBe('.*');
      expect(String(v.query), v.name).toMatch(/^label_values\(/);
    }
  });

  it('the provisioned data source has the uid the dashboard defaults to', () => {
    const ds = read('grafana', 'provisioning', 'datasources', 'prometheus.yml');
    expect(ds).toMatch(new RegExp(`^\\s*uid:\\s*${DATASOURCE_UID}\\s*$`, 'm'));
  });

  it("the data source's min interval (timeInterval) covers the apps' default export interval and the scrape interval", () => {
    // A counter moves once per export (60 s by default), not once per scrape. $__rate_interval
    // = max($__interval + timeInterval, 4 × timeInterval): with timeInterval ≥ the export
    // interval every rate window holds at least four exports, never a single one or none.
    const ti = datasourceTimeInterval();
    expect(ti).toBeGreaterThanOrEqual(DEFAULT_EXPORT_INTERVAL_S);
    expect(ti).toBeGreaterThanOrEqual(prometheusScrapeInterval());
    expect(grafanaWindows(ti).rateInterval).toBeGreaterThanOrEqual(4 * DEFAULT_EXPORT_INTERVAL_S);
    // No panel or query sets its own min interval / min step, which would override the data source's.
    for (const p of queryPanels) {
      expect(p.interval ?? '', p.title).toBe('');
      for (const t of p.targets ?? []) expect(t.interval ?? '', p.title).toBe('');
    }
  });

  it('$__range panels are instant queries (one value over the whole range); the others are range queries', () => {
    const ranged = targets.filter(({ t }) => (t.expr ?? '').includes('$__range'));
    expect(ranged.length).toBeGreaterThanOrEqual(2);
    for (const { panel, t } of ranged) {
      expect(t.instant, panel).toBe(true);
      expect(t.range, panel).toBe(false);
    }
    for (const { panel, t } of targets.filter(({ t }) => !(t.expr ?? '').includes('$__range'))) expect(t.instant ?? false, panel).toBe(false);
  });

  it('heatmaps show bucket rates (calls or chunks per second per bucket), and say so', () => {
    const heatmaps = queryPanels.filter((p) => p.type === 'heatmap');
    expect(heatmaps.length).toBeGreaterThanOrEqual(3);
    for (const p of heatmaps) {
      const [t] = p.targets ?? [];
      expect(t?.format, p.title).toBe('heatmap');
      expect(t?.expr, p.title).toMatch(/^sum by \(le\) \(rate\([a-z_]+_bucket\{[^}]*\}\[\$__rate_interval\]\)\)$/);
      expect(p.options?.cellValues?.unit, p.title).toMatch(/\/s$/);
      expect(p.options?.yAxis?.unit, p.title).toBe('s');
      expect(p.description, p.title).toMatch(/per second in each bucket/);
    }
  });

  it('every variable referenced anywhere is defined', () => {
    const defined = new Set(variables.map((v) => v.name));
    const used = new Set<string>();
    for (const m of committed.matchAll(/\$\{?([A-Za-z_][A-Za-z0-9_]*)/g)) {
      const name = m[1] as string;
      if (!name.startsWith('__')) used.add(name);
    }
    expect([...used].filter((n) => !defined.has(n))).toEqual([]);
    // and every filter variable is actually used by the queries
    for (const n of defined) if (n !== 'datasource') expect(committed, n).toContain(`$${n}`);
  });

  it('every query respects the filter variables', () => {
    const inferenceMatchers = FILTER.split(', ');
    const processMatchers = HTTP_FILTER.split(', ');
    expect(inferenceMatchers).toHaveLength(6);
    expect(SYSTEM_FILTER.split(', ')).toEqual(processMatchers);
    expect(SERVER_GAUGE_FILTER.split(', ')).toEqual(processMatchers);
    // Series with the gen_ai_* / inference_* labels take every filter; HTTP, host and GPU series
    // describe a process and its machine, and the gauges a server reports about itself its
    // process: service and instance only.
    const inference = new Set([...INFERENCE_SERIES, ...SERVING_SERIES]);
    const processOnly = new Set([...HTTP_SERIES, ...HOST_SERIES, ...GPU_SERIES, ...SERVER_GAUGE_SERIES]);
    for (const s of SERVER_GAUGE_SERIES) expect(SERVING_SERIES.has(s), s).toBe(true);
    for (const { panel, t } of targets) {
      const expr = t.expr ?? '';
      const selectors = [...expr.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)?\{([^}]*)\}/g)];
      expect(selectors.length, `${panel}: ${expr}`).toBeGreaterThan(0);
      for (const s of selectors) {
        const metric = s[1] ?? '';
        const matchers = s[2] ?? '';
        expect(metric, `${panel}: selector without metric name`).not.toBe('');
        expect(inference.has(metric) || processOnly.has(metric), `${panel}: ${metric} is not in grafana/names.ts`).toBe(true);
        const wanted = processOnly.has(metric) ? processMatchers : inferenceMatchers;
        for (const w of wanted) expect(matchers, `${panel}: ${metric} lacks ${w}`).toContain(w);
        // and no request filter on a process's series: it would hide them, never narrow them
        if (processOnly.has(metric)) expect(matchers, `${panel}: ${metric}`).not.toMatch(/\$\{?(provider|model|operation|stream)\b/);
      }
      // no bare metric names without a selector
      for (const ref of metricReferences(expr)) {
        expect(expr.slice(ref.index + ref.name.length).startsWith('{'), `${panel}: ${ref.name} has no selector`).toBe(true);
      }
      for (const w of expr.matchAll(/\[([^\]]+)\]/g)) expect(['$__rate_interval', '$__range'], panel).toContain(w[1]);
    }
  });

  it('every query follows the PromQL rules (quantiles, means, ratios)', () => {
    for (const { panel, t } of targets) expect(lintPromQL(t.expr ?? ''), `${panel}: ${t.expr}`).toEqual([]);
  });

  it('has the agreed stat tiles and rows', () => {
    const stats = queryPanels.filter((p) => p.type === 'stat').map((p) => p.title);
    expect(stats).toEqual(
      expect.arrayContaining(['Requests/s', 'Error ratio', 'Active requests', 'TTFT p95', 'Time per output chunk p95', 'Streamed output tokens/s (p50)']),
    );
    const rows = panels.filter((p) => p.type === 'row').map((p) => p.title);
    expect(rows).toEqual(['Overview', 'Latency', 'Throughput', 'Tokens and cache', 'Errors', 'Saturation', 'SLO attainment', 'Serving', 'Gateway', 'System', 'HTTP (instrumentation-http)']);
    expect(queryPanels.filter((p) => p.type === 'heatmap').length).toBeGreaterThanOrEqual(3);
    const exprs = targets.map(({ t }) => t.expr ?? '');
    expect(exprs.some((e) => e.includes('le="1.28"'))).toBe(true);
    expect(exprs.some((e) => e.includes('le="10.24"'))).toBe(true);
    expect(exprs.some((e) => e.startsWith(`sum by (${PROMETHEUS_LABEL.tokenType}) (rate(${PROMETHEUS_METRIC.tokenUsage.name}_sum`))).toBe(true);
    expect(exprs.some((e) => e.includes(`sum by (${PROMETHEUS_LABEL.errorType})`))).toBe(true);
    expect(exprs.some((e) => e.includes(HTTP_METRIC.serverDuration.name))).toBe(true);
    expect(exprs.some((e) => e.includes(HTTP_METRIC.clientDuration.name))).toBe(true);
  });

  it('the tokens and cache row: the five token counters per model, the cache hit ratio and the reasoning share (0–1), tokens over the range', () => {
    const P = PROMETHEUS_METRIC;
    const L = PROMETHEUS_LABEL;
    const inRow: PanelJson[] = [];
    let current = '';
    for (const p of dash.panels) {
      if (p.type === 'row') current = p.title ?? '';
      else if (current === 'Tokens and cache') inRow.push(p);
    }
    const counters = [P.usageInputTokens, P.usageOutputTokens, P.usageCacheReadInputTokens, P.usageCacheWriteInputTokens, P.usageReasoningOutputTokens];
    // Tokens per second: one query per counter, by request model.
    const perSecond = inRow.filter((p) => p.type === 'timeseries' && (p.targets ?? []).length === counters.length);
    expect(perSecond).toHaveLength(1);
    expect(perSecond[0]!.targets!.map((t) => t.expr)).toEqual(
      counters.map((c) => expect.stringMatching(new RegExp(`^sum by \\(${L.requestModel}\\) \\(rate\\(${c.name}\\{[^}]*\\}\\[\\$__rate_interval\\]\\)\\)$`))),
    );
    // The shares: part / (whole > 0), per provider and model over time and over the range in a stat.
    const shares: Array<[string, string]> = [
      [P.usageCacheReadInputTokens.name, P.usageInputTokens.name],
      [P.usageReasoningOutputTokens.name, P.usageOutputTokens.name],
    ];
    for (const [part, whole] of shares) {
      const found = inRow.filter((p) => (p.targets ?? []).some((t) => metricReferences(t.expr ?? '')[0]?.name === part && (t.expr ?? '').includes(' / ')));
      expect(found.map((p) => p.type).sort(), part).toEqual(['stat', 'timeseries']);
      for (const p of found) {
        expect(p.fieldConfig?.defaults?.unit, p.title).toBe('percentunit');
        const expr = p.targets![0]!.expr!;
        expect(metricReferences(expr).map((r) => r.name), p.title).toEqual([part, whole]);
        expect(expr, p.title).toMatch(/ > 0\)$/);
        if (p.type === 'timeseries') {
          expect(expr, p.title).toContain(`sum by (${L.providerName}, ${L.requestModel})`);
          expect([p.fieldConfig?.defaults?.min, p.fieldConfig?.defaults?.max], p.title).toEqual([0, 1]);
        } else expect(expr, p.title).toContain('[$__range]');
      }
    }
    // Tokens over the range: increase() of input and of output.
    const totals = inRow.filter((p) => p.type === 'stat' && !(p.targets![0]!.expr ?? '').includes(' / ')).map((p) => metricReferences(p.targets![0]!.expr!).map((r) => r.name));
    expect(totals).toEqual([[P.usageInputTokens.name], [P.usageOutputTokens.name]]);
  });

  it('the serving rows: server TTFT beside client TTFT in one panel, per-backend client series, fallbacks by reason', () => {
    const L = PROMETHEUS_LABEL;
    const S = PROMETHEUS_SERVER_METRIC;
    const ttft = queryPanels.filter((p) =>
      [`${S.timeToFirstToken.name}_bucket`, `${PROMETHEUS_METRIC.timeToFirstChunk.name}_bucket`].every((m) => (p.targets ?? []).some((t) => t.expr?.includes(m))),
    );
    expect(ttft.map((p) => p.title)).toEqual(['Time to first token: server vs client (p95 by model)']);
    for (const t of ttft[0]!.targets!) expect(t.expr).toMatch(new RegExp(`^histogram_quantile\\(0\\.95, sum by \\(le, ${L.requestModel}\\)`));
    const exprs = targets.map(({ t }) => t.expr ?? '');
    // per-backend panels keep to the calls routed to a named backend
    const perBackend = exprs.filter((e) => e.includes(`by (${L.backend})`));
    expect(perBackend.length).toBeGreaterThanOrEqual(2);
    for (const e of perBackend) {
      for (const sel of e.matchAll(new RegExp(`${PROMETHEUS_METRIC.requests.name}\\{[^}]*\\}`, 'g'))) expect(sel[0]).toContain(`${L.backend}!=""`);
    }
    expect(exprs.some((e) => e.startsWith(`sum by (${L.fallbackReason}) (rate(${PROMETHEUS_GATEWAY_METRIC.fallbacks.name}{`))).toBe(true);
    expect(exprs.some((e) => e.includes(`sum by (le, ${L.phase})`) && e.includes(S.phaseDuration.name))).toBe(true);
  });

  it("the server's own gauges: one panel each, per process (queue size per stage), ratios 0–1, \"Not reported\" without data", () => {
    const G = PROMETHEUS_SERVER_GAUGE;
    const of = (metric: string) => queryPanels.filter((p) => (p.targets ?? []).some((t) => metricReferences(t.expr ?? '').some((r) => r.name === metric)));
    const want: Array<[string, string, RegExp]> = [
      [G.batchSize.name, 'short', /^max by \(job, instance\) \(/],
      [G.queueSize.name, 'short', new RegExp(`^sum by \\(${PROMETHEUS_LABEL.phase}\\) \\(`)],
      [G.kvCacheUtilization.name, 'percentunit', /^max by \(job, instance\) \(/],
      [G.paddingRatio.name, 'percentunit', /^max by \(job, instance\) \(/],
    ];
    for (const [metric, unit, shape] of want) {
      const found = of(metric);
      expect(found, metric).toHaveLength(1);
      const p = found[0]!;
      expect(p.targets, p.title).toHaveLength(1);
      expect(p.targets![0]!.expr, p.title).toMatch(shape);
      expect(p.fieldConfig?.defaults?.unit, p.title).toBe(unit);
      if (unit === 'percentunit') expect([p.fieldConfig?.defaults?.min, p.fieldConfig?.defaults?.max], p.title).toEqual([0, 1]);
      expect(p.fieldConfig?.defaults?.noValue, p.title).toMatch(/observeServerGauge/);
      expect(p.description, p.title).toMatch(/observeServerGauge\(SERVER_GAUGE\.\w+, callback\)/);
    }
  });
});
