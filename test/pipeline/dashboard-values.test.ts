/**
 * The dashboard's numbers, not only its shapes: panel queries of the committed JSON, evaluated by
 * promtool (`promtool test rules` runs any PromQL over series given in its notation) on series
 * whose true values are known, with the windows Grafana gives them (grafana-intervals.ts).
 *
 * - Tokens/s: streams record a decode rate, single responses tokens over the whole duration. A
 *   panel that speaks of streams shows the streams' number; the per-request panel keeps the two
 *   apart.
 * - Heatmaps: a cell is calls (or chunks) per second in one bucket, the same number at any zoom.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { OUTCOME, PROMETHEUS_LABEL as L, PROMETHEUS_METRIC as P } from '../../grafana/names.js';
import { datasourceTimeInterval, grafanaWindows } from './grafana-intervals.js';
import { read, requireTool, run, which } from './tools.js';

interface Target {
  expr?: string;
  refId?: string;
  legendFormat?: string;
}
interface PanelJson {
  type: string;
  title?: string;
  panels?: PanelJson[];
  targets?: Target[];
}
const dash = JSON.parse(read('grafana', 'dashboards', 'inference-overview.json')) as { panels: PanelJson[] };
const flat = (ps: PanelJson[]): PanelJson[] => ps.flatMap((p) => [p, ...flat(p.panels ?? [])]);
const panels = flat(dash.panels).filter((p) => p.type !== 'row');

/** Panels of a type whose queries read a metric (found by what they query, not by title). */
function panelsOf(type: string, metric: string): PanelJson[] {
  return panels.filter((p) => p.type === type && (p.targets ?? []).some((t) => (t.expr ?? '').includes(`${metric}_`)));
}

/** The query with the dashboard variables on "All" and Grafana's window. */
function substitute(expr: string, rateWindowS: number): string {
  return expr
    .replace(/\$\{?__rate_interval\}?/g, `${rateWindowS}s`)
    .replace(/\$\{?(job|instance|provider|model|operation|stream)\}?/g, '.*');
}

// ---------------------------------------------------------------- promtool's series notation

const BASE = { job: 'chat-api', instance: 'a', [L.providerName]: 'openai', [L.requestModel]: 'm', [L.operationName]: 'chat' };
const SCRAPE = '15s';
const SAMPLES = 160; // 40 minutes at 15 s
const EVAL = '30m';

type Labels = Record<string, string>;
const labelText = (labels: Labels) => `{${Object.entries(labels).map(([k, v]) => `${k}="${v}"`).join(', ')}}`;
/** A counter growing by `per15s` every scrape. */
const series = (name: string, labels: Labels, per15s: number) => ({ series: `${name}${labelText({ ...BASE, ...labels })}`, values: `0+${per15s}x${SAMPLES}` });

/** Cumulative bucket counts per scrape (le → count), with _sum and _count. */
function histogram(metric: string, labels: Labels, buckets: Array<[string, number]>, sumPer15s: number) {
  const count = buckets.at(-1)![1];
  return [
    ...buckets.map(([le, n]) => series(`${metric}_bucket`, { ...labels, le }, n)),
    series(`${metric}_sum`, labels, sumPer15s),
    series(`${metric}_count`, labels, count),
  ];
}

// Tokens/s: 1 stream/s at 50 tok/s (bucket (32, 64]) and 3 single responses/s at 5 tok/s ((4, 8]).
const STREAM = { [L.requestStream]: 'true' };
const SINGLE = { [L.requestStream]: 'false' };
const TPS_LE = ['4', '8', '32', '64', '+Inf'];
const tokensPerSecond = [
  ...histogram(P.outputTokenRate.name, STREAM, TPS_LE.map((le) => [le, Number(le) >= 64 || le === '+Inf' ? 15 : 0]), 15 * 50),
  ...histogram(P.outputTokenRate.name, SINGLE, TPS_LE.map((le) => [le, le === '4' ? 0 : 45]), 45 * 5),
];

// Heatmaps: per second, 2 successful calls (1 <= 0.32 s, 1 more <= 0.64 s) and 66 failed ones
// (left out by the panel); 1 stream (0.4 <= 0.16 s, 0.6 more <= 0.32 s); 10 chunk gaps (4 <= 0.02 s,
// 6 more <= 0.04 s).
const heatmapSeries = [
  ...histogram(P.operationDuration.name, { [L.outcome]: OUTCOME.success }, [['0.32', 15], ['0.64', 30], ['+Inf', 30]], 15),
  ...histogram(P.operationDuration.name, { [L.outcome]: OUTCOME.error }, [['0.32', 0], ['0.64', 0], ['+Inf', 990]], 990),
  ...histogram(P.timeToFirstChunk.name, {}, [['0.16', 6], ['0.32', 15], ['+Inf', 15]], 3),
  ...histogram(P.timePerOutputChunk.name, {}, [['0.02', 60], ['0.04', 150], ['+Inf', 150]], 4.5),
];
/** Calls (chunks) per second at or under each bucket boundary: what each heatmap must show, whatever the zoom. */
const HEATMAP_RATES: Record<string, Record<string, number>> = {
  [P.operationDuration.name]: { '0.32': 1, '0.64': 2, '+Inf': 2 },
  [P.timeToFirstChunk.name]: { '0.16': 0.4, '0.32': 1, '+Inf': 1 },
  [P.timePerOutputChunk.name]: { '0.02': 4, '0.04': 10, '+Inf': 10 },
};

interface ExprTest {
  expr: string;
  eval_time: string;
  exp_samples: Array<{ labels: string; value: number }>;
}

/** Runs promtool on one test case; returns its exit code and output. */
function promtool(name: string, inputSeries: Array<{ series: string; values: string }>, tests: ExprTest[]): { code: number; output: string } {
  const file = join(dir, `${name.replace(/\W+/g, '-')}.test.yml`);
  // JSON is YAML: promtool reads it as its test file.
  writeFileSync(
    file,
    JSON.stringify({ rule_files: [], evaluation_interval: SCRAPE, tests: [{ name, interval: SCRAPE, input_series: inputSeries, promql_expr_test: tests }] }, null, 1),
  );
  return run('promtool', ['test', 'rules', file]);
}

const round = (expr: string) => `round(${expr}, 0.0001)`;
const dir = mkdtempSync(join(tmpdir(), 'otel-inference-dashboard-values-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const INSTALL_PROMTOOL = 'install promtool: `apt-get install prometheus` (scripts/install-prometheus.sh)';
const promtoolPresent = which('promtool') !== undefined;

/** The shortest window Grafana gives (short ranges) and one of a wide zoom ($__interval = 5 min). */
const timeInterval = datasourceTimeInterval();
const WINDOWS = [grafanaWindows(timeInterval).rateInterval, grafanaWindows(timeInterval, 300).rateInterval];

describe('dashboard numbers, evaluated by promtool on known series', () => {
  it('output tokens/s: the streamed median is the streams\' 50 tok/s bucket (48), not a median over streams and single responses', (ctx) => {
    requireTool(ctx, promtoolPresent, INSTALL_PROMTOOL);
    const stats = panelsOf('stat', P.outputTokenRate.name);
    const series = panelsOf('timeseries', P.outputTokenRate.name);
    expect(stats).toHaveLength(1);
    expect(series).toHaveLength(1);
    const tests: ExprTest[] = [];
    for (const w of WINDOWS) {
      // The stat tile speaks of streamed responses: (32, 64] interpolated at rank 1/2 = 48.
      tests.push({ expr: round(substitute(stats[0]!.targets![0]!.expr!, w)), eval_time: EVAL, exp_samples: [{ labels: '{}', value: 48 }] });
      // The per-request panel: every line belongs to one group: p50, p95 and the mean of each.
      const want: Record<string, [number, number]> = { p50: [48, 6], p95: [62.4, 7.8], mean: [50, 5] };
      for (const t of series[0]!.targets!) {
        const kind = Object.keys(want).find((k) => (t.legendFormat ?? '').startsWith(k));
        expect(kind, `legend ${t.legendFormat}`).toBeDefined();
        const [streamed, single] = want[kind!]!;
        tests.push({
          expr: round(substitute(t.expr!, w)),
          eval_time: EVAL,
          exp_samples: [
            { labels: labelText(STREAM), value: streamed },
            { labels: labelText(SINGLE), value: single },
          ],
        });
      }
    }
    const r = promtool('tokens per second', tokensPerSecond, tests);
    expect(r.code, r.output).toBe(0);
  });

  it('heatmaps: a cell is calls (chunks) per second in its bucket, the same at every zoom', (ctx) => {
    requireTool(ctx, promtoolPresent, INSTALL_PROMTOOL);
    const heatmaps = panels.filter((p) => p.type === 'heatmap');
    expect(heatmaps.length).toBeGreaterThanOrEqual(3);
    const tests: ExprTest[] = [];
    for (const p of heatmaps) {
      const expr = p.targets![0]!.expr!;
      const metric = Object.keys(HEATMAP_RATES).find((m) => expr.includes(`${m}_bucket`));
      expect(metric, p.title).toBeDefined();
      for (const w of WINDOWS) {
        tests.push({
          expr: round(substitute(expr, w)),
          eval_time: EVAL,
          exp_samples: Object.entries(HEATMAP_RATES[metric!]!).map(([le, value]) => ({ labels: labelText({ le }), value })),
        });
      }
    }
    const r = promtool('heatmaps', heatmapSeries, tests);
    expect(r.code, r.output).toBe(0);
  });
});
