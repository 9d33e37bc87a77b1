/**
 * One source of truth for names: every Prometheus metric and label name in the rules, the
 * rule tests, the dashboard and the collector config must be one the names table derives
 * from semconv.ts (grafana/names.ts: the client, server, server-gauge, gateway and GPU tables and
 * PROMETHEUS_LABEL, plus the instrumentation-http and host-metrics metrics the dashboard
 * shows), and every metric of the table must be on the dashboard. Renaming a metric or an
 * attribute in semconv.ts fails here until the YAML, the dashboard (npm run dashboard) and the
 * docs follow.
 */
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';

import { DataPointType, type MeterProvider } from '@opentelemetry/sdk-metrics';
import { describe, expect, it } from 'vitest';

import {
  GPU_LABEL,
  HOST_LABEL,
  HOST_METRIC,
  HTTP_LABEL,
  PROMETHEUS_GATEWAY_METRIC,
  PROMETHEUS_LABEL,
  PROMETHEUS_METRIC,
  PROMETHEUS_SERVER_GAUGE,
  PROMETHEUS_SERVER_METRIC,
  TABLE_END,
  TABLE_METRICS,
  TABLE_START,
  renderMetricNamesTable,
} from '../../grafana/names.js';
import { prometheusLabel, prometheusMetric } from '../../packages/instrumentation/src/prometheus-names.js';
import { createTestMetrics } from '../helpers/metrics.js';
import { metricReferences, stripStrings } from './promql-lint.js';
import { read, repoPath } from './tools.js';

// ---------------------------------------------------------------- what may be named

const TABLE = TABLE_METRICS;
/** Every series name of the table. */
const SERIES = new Set(TABLE.flatMap((m) => m.series));
/**
 * Metric names a recording rule's middle part may be (`level:metric:operation`): a metric's name,
 * a counter's without `_total`, or one of its series (`x_count:rate5m`, observations per second).
 */
const RECORDED_METRICS = new Set(
  TABLE.flatMap((m) => [m.name, ...m.series, ...(m.type === 'counter' ? [m.name.replace(/_total$/, '')] : [])]),
);
/** Series that are not OTel instruments: Prometheus' scrape health and the collector's own telemetry. */
const isForeignSeries = (name: string) => name === 'up' || name.startsWith('otelcol_');

const collectorConfig = read('otel-collector', 'config.yaml');
/** Resource attributes the collector promotes to labels (`resource_constant_labels.included`). */
const promotedResourceLabels = [...(/resource_constant_labels:\s*\n\s*included:\s*\n((?:\s+-\s*\S+\n)+)/.exec(collectorConfig)?.[1] ?? '').matchAll(/-\s*(\S+)/g)].map(
  (m) => prometheusLabel(m[1] as string),
);
/** Label names a query or a series of ours may carry. */
const LABELS = new Set([
  ...Object.values(PROMETHEUS_LABEL),
  ...Object.values(HTTP_LABEL),
  ...Object.values(HOST_LABEL),
  ...Object.values(GPU_LABEL),
  // set by Prometheus or by the collector's exporter (service.name → job, service.instance.id → instance)
  'job',
  'instance',
  'le',
  '__name__',
  'otel_scope_name',
  'otel_scope_version',
  ...promotedResourceLabels,
]);
/**
 * Prefixes of the table's names (`gen_ai_`, `inference_`, `hw_`, `http_`, `process_`, `system_`):
 * any such word in a file must be a known name.
 */
const PREFIXES = [...new Set(TABLE.map((m) => `${m.otelName.split('.')[0]}_`))];

// ---------------------------------------------------------------- where names are used

const ruleFiles = readdirSync(repoPath('prometheus', 'rules')).filter((f) => f.endsWith('.yml'));
const testFiles = readdirSync(repoPath('prometheus', 'tests')).filter((f) => f.endsWith('.yml'));
const DASHBOARD = 'grafana/dashboards/inference-overview.json';

interface Source {
  file: string;
  text: string;
  /** PromQL expressions (rule `expr:`, test `expr:`, dashboard targets and variable selectors). */
  exprs: string[];
  /** Series selectors of promtool test input (`series: 'name{...}'`) and expected samples. */
  selectors: string[];
}

const lines = (text: string, re: RegExp) => text.split('\n').flatMap((l) => (re.exec(l)?.[1] ?? '').trim() || []);
const unquote = (s: string) => s.replace(/^'(.*)'$/, '$1').replace(/^"(.*)"$/, '$1');

const rules: Source[] = ruleFiles.map((f) => {
  const text = read('prometheus', 'rules', f);
  return { file: `prometheus/rules/${f}`, text, exprs: lines(text, /^\s*expr:\s*(.*)$/), selectors: [] };
});
const ruleTests: Source[] = testFiles.map((f) => {
  const text = read('prometheus', 'tests', f);
  return {
    file: `prometheus/tests/${f}`,
    text,
    exprs: lines(text, /^\s*-?\s*expr:\s*(.*)$/),
    selectors: [...lines(text, /^\s*-\s*series:\s*(.*)$/), ...lines(text, /^\s*-\s*labels:\s*(.*)$/)].map(unquote),
  };
});
const dashboardText = read(...DASHBOARD.split('/'));
interface PanelJson {
  panels?: PanelJson[];
  targets?: Array<{ expr?: string; legendFormat?: string }>;
}
const dashboardJson = JSON.parse(dashboardText) as { panels: PanelJson[]; templating: { list: Array<{ query?: unknown }> } };
const flat = (ps: PanelJson[]): PanelJson[] => ps.flatMap((p) => [p, ...flat(p.panels ?? [])]);
const targets = flat(dashboardJson.panels).flatMap((p) => p.targets ?? []);
const dashboard: Source = {
  file: DASHBOARD,
  text: dashboardText,
  exprs: [
    ...targets.map((t) => t.expr ?? ''),
    // label_values(selector, label) → the selector
    ...dashboardJson.templating.list.flatMap((v) => /^label_values\((.*),\s*\w+\)$/.exec(String(v.query))?.[1] ?? []),
  ],
  selectors: [],
};
const collector: Source = { file: 'otel-collector/config.yaml', text: collectorConfig, exprs: [], selectors: [] };
const SOURCES = [...rules, ...ruleTests, dashboard, collector];

/** The recording rules the rule files define. */
const recorded = new Set(rules.flatMap((r) => [...r.text.matchAll(/^\s*-\s*record:\s*(\S+)/gm)].map((m) => m[1] as string)));

/** Metric names an expression or a selector refers to, including `{__name__=~"a|b"}` alternatives. */
function metricNames(expr: string): string[] {
  const names = metricReferences(expr).map((r) => r.name);
  for (const m of expr.matchAll(/__name__\s*=~?\s*"([^"]*)"/g)) {
    for (const alt of (m[1] as string).split('|')) names.push(alt.startsWith('otelcol_') ? 'otelcol_' : alt);
  }
  return names;
}

/** Label names an expression or a selector uses: matchers and by/without/on/ignoring lists. */
function labelNames(expr: string): string[] {
  const text = stripStrings(expr);
  const out: string[] = [];
  for (const m of text.matchAll(/\{([^}]*)\}/g)) for (const l of (m[1] as string).matchAll(/([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)/g)) out.push(l[1] as string);
  for (const m of text.matchAll(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g)) {
    out.push(...(m[1] as string).split(',').map((s) => s.trim()).filter(Boolean));
  }
  return out;
}

/** A problem with one metric name used in `file`, or undefined. */
function checkMetric(name: string): string | undefined {
  if (name.includes(':')) {
    const metric = name.split(':')[1] ?? '';
    return RECORDED_METRICS.has(metric) ? undefined : `recording rule ${name}: "${metric}" is no metric of the names table`;
  }
  if (SERIES.has(name) || isForeignSeries(name)) return undefined;
  return `${name} is no series of the names table`;
}

/** A series selector's metric is ours (so its labels are checked) unless it is Prometheus' or the collector's own. */
function selectorMetric(selector: string): string {
  return /^([a-zA-Z_:][\w:]*)/.exec(selector)?.[1] ?? '';
}

describe('names: one source of truth (semconv.ts → grafana/names.ts)', () => {
  it('the table has unique, valid Prometheus names', () => {
    const series = TABLE.flatMap((m) => m.series);
    expect(new Set(series).size).toBe(series.length);
    for (const s of series) expect(s).toMatch(/^[a-zA-Z_:][a-zA-Z0-9_:]*$/);
    const labels = Object.values(PROMETHEUS_LABEL);
    expect(new Set(labels).size).toBe(labels.length);
    for (const l of labels) expect(l).toMatch(/^[a-zA-Z_][a-zA-Z0-9_]*$/);
    expect(promotedResourceLabels.length).toBeGreaterThan(0);
  });

  it('every metric an expression or a test series refers to is in the table', () => {
    const problems: string[] = [];
    let checked = 0;
    for (const src of SOURCES) {
      for (const expr of src.exprs) {
        for (const name of metricNames(expr)) {
          checked++;
          const p = checkMetric(name);
          if (p) problems.push(`${src.file}: ${p}\n    in ${expr}`);
          if (name.includes(':') && !recorded.has(name)) problems.push(`${src.file}: ${name} is not recorded by prometheus/rules\n    in ${expr}`);
        }
      }
      for (const sel of src.selectors) {
        const name = selectorMetric(sel);
        if (name === '') continue; // a bare label set, e.g. exp_samples labels
        checked++;
        const p = checkMetric(name);
        if (p) problems.push(`${src.file}: ${p}\n    in ${sel}`);
      }
    }
    expect(problems).toEqual([]);
    expect(checked).toBeGreaterThan(100);
  });

  it('every word with a metric prefix (gen_ai_, inference_, hw_, http_, process_, system_) in these files is a known metric or label name', () => {
    expect(PREFIXES).toEqual(expect.arrayContaining(['gen_ai_', 'inference_', 'hw_', 'http_', 'process_', 'system_']));
    const known = new Set([...SERIES, ...LABELS]);
    const problems: string[] = [];
    for (const src of SOURCES) {
      for (const m of src.text.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
        const word = m[0];
        if (word.includes(':')) {
          // a recording rule name, as an expression, a record: or a test's expected labels
          if (!PREFIXES.some((p) => (word.split(':')[1] ?? '').startsWith(p))) continue;
          const p = checkMetric(word);
          if (p) problems.push(`${src.file}: ${p}`);
        } else if (PREFIXES.some((p) => word.startsWith(p)) && !known.has(word)) {
          problems.push(`${src.file}: ${word} is neither a series nor a label of the names table`);
        }
      }
    }
    expect([...new Set(problems)]).toEqual([]);
  });

  it('every label a query, a rule or a test series of ours uses is in the table', () => {
    const problems: string[] = [];
    for (const src of SOURCES) {
      for (const expr of src.exprs) {
        for (const l of labelNames(expr)) if (!LABELS.has(l)) problems.push(`${src.file}: label ${l}\n    in ${expr}`);
      }
      for (const sel of src.selectors) {
        const name = selectorMetric(sel);
        if (isForeignSeries(name)) continue;
        for (const l of labelNames(sel.slice(name.length))) if (!LABELS.has(l)) problems.push(`${src.file}: label ${l}\n    in ${sel}`);
      }
    }
    // label_values(selector, label) of the dashboard variables
    for (const v of dashboardJson.templating.list) {
      const l = /^label_values\(.*,\s*(\w+)\)$/.exec(String(v.query))?.[1];
      if (l !== undefined && !LABELS.has(l)) problems.push(`${DASHBOARD}: variable label ${l}`);
    }
    // legends show label values: {{label}}
    for (const t of targets) {
      for (const m of (t.legendFormat ?? '').matchAll(/\{\{\s*(\w+)\s*\}\}/g)) {
        if (!LABELS.has(m[1] as string)) problems.push(`${DASHBOARD}: legend label ${m[1]}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('every metric of the table is on the dashboard (a renamed metric fails here)', () => {
    const used = new Set(dashboard.exprs.flatMap(metricNames));
    const missing = TABLE.filter((m) => !m.series.some((s) => used.has(s))).map((m) => `${m.otelName} (${m.series.join(', ')})`);
    expect(missing).toEqual([]);
  });

  it("every otel-inference request metric (client, server, gateway) and server gauge is used by a rule or a rule test too", () => {
    const used = new Set([...rules, ...ruleTests].flatMap((s) => [...s.exprs.flatMap(metricNames), ...s.selectors.map(selectorMetric)]));
    // recording rules name their metric: job_model:<metric>:p95_5m
    for (const name of [...used]) if (name.includes(':')) used.add(name.split(':')[1] ?? '');
    // The GPU, HTTP and host gauges are on the dashboard only: no rule reads them.
    const missing = [
      ...Object.values(PROMETHEUS_METRIC),
      ...Object.values(PROMETHEUS_SERVER_METRIC),
      ...Object.values(PROMETHEUS_SERVER_GAUGE),
      ...Object.values(PROMETHEUS_GATEWAY_METRIC),
    ]
      .filter((m) => ![...m.series, m.name.replace(/_total$/, '')].some((s) => used.has(s)))
      .map((m) => m.otelName);
    expect(missing).toEqual([]);
  });

  it('the host metrics are declared as @opentelemetry/instrumentation-host-metrics creates them (name, unit, kind)', async (ctx) => {
    // Installed with the preload's host metrics (OTEL_INFERENCE_HOST_METRICS); before that, nothing to compare.
    const spec = '@opentelemetry/instrumentation-host-metrics';
    try {
      createRequire(import.meta.url).resolve(spec);
    } catch {
      ctx.skip(`${spec} is not installed`);
      return;
    }
    const { HostMetricsInstrumentation } = (await import(spec)) as {
      HostMetricsInstrumentation: new (config: { metricGroups?: string[] }) => { setMeterProvider(p: MeterProvider): void; disable(): void };
    };
    const t = createTestMetrics();
    const instrumentation = new HostMetricsInstrumentation({ metricGroups: ['process.cpu', 'process.memory', 'system.cpu', 'system.memory'] });
    instrumentation.setMeterProvider(t.provider);
    const collected = await t.collect();
    instrumentation.disable();
    await t.shutdown();
    for (const declared of Object.values(HOST_METRIC)) {
      const m = collected.metric(declared.otelName);
      expect(m, declared.otelName).toBeDefined();
      const kind = m!.dataPointType === DataPointType.GAUGE ? 'gauge' : m!.dataPointType === DataPointType.SUM && m!.isMonotonic ? 'counter' : 'updowncounter';
      expect(prometheusMetric({ name: m!.descriptor.name, unit: m!.descriptor.unit, kind }), declared.otelName).toEqual(declared);
      // and the attributes the dashboard groups and selects by
      const keys = new Set(m!.dataPoints.flatMap((p) => Object.keys(p.attributes)).map(prometheusLabel));
      for (const k of keys) expect(Object.values(HOST_LABEL), `${declared.otelName}: ${k}`).toContain(k);
    }
  });

  it('docs/metrics.md carries the rendered names table between the metric-names markers', (ctx) => {
    const docs = repoPath('docs', 'metrics.md');
    if (!existsSync(docs)) {
      ctx.skip('docs/metrics.md does not exist yet: paste the output of `npx tsx grafana/names.ts` between <!-- metric-names:start --> and <!-- metric-names:end --> there');
      return;
    }
    const text = read('docs', 'metrics.md');
    expect(text, 'run `npx tsx grafana/names.ts` and paste its output between the markers').toContain(
      `${TABLE_START}\n${renderMetricNamesTable()}\n${TABLE_END}`,
    );
  });

  it("the README's short metric table gives each metric the table's Prometheus name", () => {
    const rows = [...read('README.md').matchAll(/^\| `([a-z_.]+)`[^|]*\| `([a-z_]+)` \|$/gm)].map((m) => [m[1], m[2]]);
    expect(rows.map(([otel]) => otel)).toEqual(Object.values(PROMETHEUS_METRIC).map((m) => m.otelName));
    for (const [otel, prom] of rows) expect(prom, otel).toBe(TABLE.find((m) => m.otelName === otel)!.name);
  });
});
