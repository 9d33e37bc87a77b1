/**
 * The dashboard's numbers, not only its shapes: panel queries of the committed JSON, evaluated by
 * promtool (`promtool test rules` runs any PromQL over series given in its notation) on series
 * whose true values are known, with the windows Grafana gives them (grafana-intervals.ts).
 *
 * - Tokens/s: streams record a decode rate, single responses tokens over the whole duration. A
 *   panel that speaks of streams shows the streams' number; the per-request panel keeps the two
 *   apart.
 * - Heatmaps: a cell is calls (or chunks) per second in one bucket, the same number at any zoom.
 * - The Tokens and cache, Serving, Gateway and System rows: every query of every panel returns the
 *   number of a known load (the token counters of two providers' models, an embedding model and an
 *   idle one; a model server with two models and the gauges two server processes report, a gateway
 *   with backends and fallbacks, a process with host metrics, GPUs reported by two processes), and a
 *   panel or query added to those rows without an expected value fails.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import {
  GPU_LABEL,
  HOST_LABEL,
  HOST_METRIC,
  HOST_VALUE,
  OUTCOME,
  PHASE,
  PROMETHEUS_GATEWAY_METRIC as PG,
  PROMETHEUS_GPU_METRIC as PGPU,
  PROMETHEUS_LABEL as L,
  PROMETHEUS_METRIC as P,
  PROMETHEUS_SERVER_GAUGE as PSG,
  PROMETHEUS_SERVER_METRIC as PS,
} from '../../grafana/names.js';
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

/** The time range of the `$__range` stats: 20 minutes, ending at the evaluation time. */
const RANGE_S = 1200;

/** The query with the dashboard variables on "All" and Grafana's window. */
function substitute(expr: string, rateWindowS: number): string {
  return expr
    .replace(/\$\{?__rate_interval\}?/g, `${rateWindowS}s`)
    .replace(/\$\{?__range\}?/g, `${RANGE_S}s`)
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
const series = (name: string, labels: Labels, per15s: number, base: Labels = BASE) => ({
  series: `${name}${labelText({ ...base, ...labels })}`,
  values: per15s === 0 ? `0x${SAMPLES}` : `0+${per15s}x${SAMPLES}`,
});

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

// ---------------------------------------------------------------- the serving, gateway and system rows

const SYSTEM_BASE = { job: BASE.job, instance: BASE.instance };
/** A gauge holding `value` at every scrape. */
const gauge = (name: string, labels: Labels, value: number, base: Labels = BASE) => ({
  series: `${name}${labelText({ ...base, ...labels })}`,
  values: `${value}x${SAMPLES}`,
});
/** Buckets given per second (le → cumulative count per second), scaled to a 15 s scrape. */
const perSecond = (buckets: Array<[string, number]>): Array<[string, number]> => buckets.map(([le, n]) => [le, n * 15]);
const M2 = { [L.requestModel]: 'm2' };
const model = (m: string) => ({ [L.requestModel]: m });
const OK = { [L.outcome]: OUTCOME.success };

/**
 * Known loads, per second. Serving: a model server with two models, m (2 requests/s) and m2
 * (1/s), and the client-side time to first chunk of the same two models (a gateway's view). Its
 * own gauges (observeServerGauge) carry job and instance and what the app gives, no gen_ai_* labels
 * otherwise: instance a runs one batch per model (8 and 4 requests, KV caches 80% and 60% full,
 * 25% padding) with 5 requests queued to tokenize and 2 to batch; instance b one batch of 3, 30%
 * and 10%, 1 queued to tokenize and none to batch.
 */
const serverGauge = (name: string, instance: string, labels: Labels, value: number) => gauge(name, labels, value, { ...SYSTEM_BASE, instance });
const servingSeries = [
  // server TTFT: m 1/s <= 0.1 s and 1/s in (0.1, 0.25]; m2 1/s in (0.01, 0.02]
  ...histogram(PS.timeToFirstToken.name, {}, perSecond([['0.1', 1], ['0.25', 2], ['+Inf', 2]]), 15 * 0.25),
  ...histogram(PS.timeToFirstToken.name, M2, perSecond([['0.01', 0], ['0.02', 1], ['+Inf', 1]]), 15 * 0.015),
  // client TTFC: m 2/s in (0.16, 0.32]; m2 1/s in (0.08, 0.16]
  ...histogram(P.timeToFirstChunk.name, {}, perSecond([['0.16', 0], ['0.32', 2], ['+Inf', 2]]), 15 * 0.5),
  ...histogram(P.timeToFirstChunk.name, M2, perSecond([['0.08', 0], ['0.16', 1], ['+Inf', 1]]), 15 * 0.12),
  // time per output token: 10 tokens/s, 4 <= 0.025 s, 6 more <= 0.05 s, 0.35 s of them per second
  ...histogram(PS.timePerOutputToken.name, {}, perSecond([['0.01', 0], ['0.025', 4], ['0.05', 10], ['+Inf', 10]]), 15 * 0.35),
  // queue time: m 1/s <= 0.32 s and 1/s in (0.32, 0.64]; m2 1/s in (0.04, 0.08]
  ...histogram(PS.queueDuration.name, {}, perSecond([['0.32', 1], ['0.64', 2], ['+Inf', 2]]), 15 * 0.8),
  ...histogram(PS.queueDuration.name, M2, perSecond([['0.04', 0], ['0.08', 1], ['+Inf', 1]]), 15 * 0.06),
  // waiting and active: instance a 3 and 7, instance b 0 and 2
  gauge(PS.waitingRequests.name, {}, 3),
  gauge(PS.activeRequests.name, {}, 7),
  gauge(PS.waitingRequests.name, { instance: 'b' }, 0),
  gauge(PS.activeRequests.name, { instance: 'b' }, 2),
  // phases, 1/s each: prefill in (0.08, 0.16], decode in (0.64, 1.28], tokenize in (0, 0.01]
  ...histogram(PS.phaseDuration.name, { [L.phase]: PHASE.prefill }, perSecond([['0.08', 0], ['0.16', 1], ['+Inf', 1]]), 15 * 0.12),
  ...histogram(PS.phaseDuration.name, { [L.phase]: PHASE.decode }, perSecond([['0.64', 0], ['1.28', 1], ['+Inf', 1]]), 15 * 1),
  ...histogram(PS.phaseDuration.name, { [L.phase]: PHASE.tokenize }, perSecond([['0.01', 1], ['+Inf', 1]]), 15 * 0.005),
  // served requests: 3 successes/s (m 2, m2 1), 0.5 errors/s, 0.25 cancelled/s
  series(PS.requests.name, OK, 15 * 2),
  series(PS.requests.name, { ...OK, ...M2 }, 15 * 1),
  series(PS.requests.name, { [L.outcome]: OUTCOME.error, [L.errorType]: '500' }, 15 * 0.5),
  series(PS.requests.name, { [L.outcome]: OUTCOME.cancelled }, 15 * 0.25),
  // duration: 2 successes/s, 1 in (0.32, 0.64] and 1 in (0.64, 1.28]; 0.5 errors/s <= 0.01 s (left out)
  ...histogram(PS.requestDuration.name, OK, perSecond([['0.32', 0], ['0.64', 1], ['1.28', 2], ['+Inf', 2]]), 15 * 1.5),
  ...histogram(PS.requestDuration.name, { [L.outcome]: OUTCOME.error, [L.errorType]: '500' }, perSecond([['0.01', 0.5], ['+Inf', 0.5]]), 15 * 0.002),
  // tokens: 200 read and 50 generated per second
  series(PS.tokens.name, { [L.tokenType]: 'input' }, 15 * 200),
  series(PS.tokens.name, { [L.tokenType]: 'output' }, 15 * 50),
  // output tokens/s: 2 requests/s at 50 tok/s, in (32, 64]
  ...histogram(PS.outputTokenRate.name, {}, perSecond([['32', 0], ['64', 2], ['+Inf', 2]]), 15 * 100),
  // the server's own gauges
  serverGauge(PSG.batchSize.name, 'a', model('m'), 8),
  serverGauge(PSG.batchSize.name, 'a', model('m2'), 4),
  serverGauge(PSG.batchSize.name, 'b', {}, 3),
  serverGauge(PSG.queueSize.name, 'a', { [L.phase]: PHASE.tokenize }, 5),
  serverGauge(PSG.queueSize.name, 'a', { [L.phase]: PHASE.batch }, 2),
  serverGauge(PSG.queueSize.name, 'b', { [L.phase]: PHASE.tokenize }, 1),
  serverGauge(PSG.queueSize.name, 'b', { [L.phase]: PHASE.batch }, 0),
  serverGauge(PSG.kvCacheUtilization.name, 'a', model('m'), 0.8),
  serverGauge(PSG.kvCacheUtilization.name, 'a', model('m2'), 0.6),
  serverGauge(PSG.kvCacheUtilization.name, 'b', {}, 0.3),
  serverGauge(PSG.paddingRatio.name, 'a', {}, 0.25),
  serverGauge(PSG.paddingRatio.name, 'b', {}, 0.1),
];

/**
 * Gateway: client-side calls per second, primary 1.5 successes and 0.5 errors (503), secondary
 * 0.6 successes, and 1 call routed to no named backend; fallbacks primary → secondary 0.5/s for a
 * 503 and 0.1/s for a timeout, secondary → tertiary 0.05/s for a 429.
 */
const backend = (name: string) => ({ [L.backend]: name });
const fallback = (from: string, to: string, reason: string) => ({ [L.fallbackFrom]: from, [L.fallbackTo]: to, [L.fallbackReason]: reason });
const gatewaySeries = [
  series(P.requests.name, { ...backend('primary'), ...OK }, 15 * 1.5),
  series(P.requests.name, { ...backend('primary'), [L.outcome]: OUTCOME.error, [L.errorType]: '503' }, 15 * 0.5),
  series(P.requests.name, { ...backend('secondary'), ...OK }, 15 * 0.6),
  series(P.requests.name, OK, 15 * 1),
  series(PG.fallbacks.name, fallback('primary', 'secondary', '503'), 15 * 0.5),
  series(PG.fallbacks.name, fallback('primary', 'secondary', 'timeout'), 15 * 0.1),
  series(PG.fallbacks.name, fallback('secondary', 'tertiary', '429'), 15 * 0.05),
];

/**
 * System, per second: the process uses 0.2 (user) + 0.05 (system) CPU seconds; the host's two CPUs
 * are busy 0.6 and 0.4 s (1 core in all); RSS 500 MB, host memory 8 GB used of 16 GB. Two GPUs, 75%
 * and 25% busy, 40 GB and 8 GB used of 80 GB each, reported alike by two processes on the host.
 */
const cpuTime = (n: string, mode: string) => ({ [HOST_LABEL.cpuLogicalNumber]: n, [HOST_LABEL.cpuMode]: mode });
const gpu = (n: string) => ({ [GPU_LABEL.id]: `GPU-uuid-${n}`, [GPU_LABEL.name]: `GPU ${n}`, [GPU_LABEL.type]: 'gpu' });
const gpuGauges = (instance: string) =>
  (
    [
      [PGPU.utilization.name, 0.75, 0.25],
      [PGPU.memoryUtilization.name, 0.5, 0.1],
      [PGPU.memoryUsage.name, 40e9, 8e9],
      [PGPU.memoryLimit.name, 80e9, 80e9],
    ] as const
  ).flatMap(([name, first, second]) => [
    gauge(name, gpu('0'), first, { ...SYSTEM_BASE, instance }),
    gauge(name, gpu('1'), second, { ...SYSTEM_BASE, instance }),
  ]);
const systemSeries = [
  series(HOST_METRIC.processCpuTime.name, { [HOST_LABEL.cpuMode]: 'user' }, 15 * 0.2, SYSTEM_BASE),
  series(HOST_METRIC.processCpuTime.name, { [HOST_LABEL.cpuMode]: 'system' }, 15 * 0.05, SYSTEM_BASE),
  ...(
    [
      ['0', 'user', 0.5],
      ['0', 'system', 0.1],
      ['0', 'nice', 0],
      ['0', 'interrupt', 0],
      ['0', HOST_VALUE.cpuIdle, 0.4],
      ['1', 'user', 0.3],
      ['1', 'system', 0.1],
      ['1', 'nice', 0],
      ['1', 'interrupt', 0],
      ['1', HOST_VALUE.cpuIdle, 0.6],
    ] as const
  ).map(([n, mode, v]) => series(HOST_METRIC.systemCpuTime.name, cpuTime(n, mode), 15 * v, SYSTEM_BASE)),
  gauge(HOST_METRIC.processMemoryUsage.name, {}, 500e6, SYSTEM_BASE),
  gauge(HOST_METRIC.systemMemoryUsage.name, { [HOST_LABEL.systemMemoryState]: HOST_VALUE.memoryUsed }, 8e9, SYSTEM_BASE),
  gauge(HOST_METRIC.systemMemoryUsage.name, { [HOST_LABEL.systemMemoryState]: 'free' }, 8e9, SYSTEM_BASE),
  ...gpuGauges('a'),
  ...gpuGauges('b'),
];

// The tokens and cache row

/**
 * The GenAI semconv token counters, per second. m (openai) on two instances: a 60 input (30 read
 * from the cache), 30 output (10 reasoning); b 40 input (10 cached), 20 output (no reasoning). m2
 * (anthropic: input counts cache reads and writes) 200 input, 150 read from the cache, 30 written,
 * 20 output. The embedding model e: 30 input, nothing cached, no output or reasoning counter. An
 * idle model whose counters do not move: rates of 0, no share (nothing to take a share of).
 */
const U = {
  input: P.usageInputTokens.name,
  output: P.usageOutputTokens.name,
  cacheRead: P.usageCacheReadInputTokens.name,
  cacheWrite: P.usageCacheWriteInputTokens.name,
  reasoning: P.usageReasoningOutputTokens.name,
};
const ANTHROPIC = { [L.providerName]: 'anthropic' };
const EMBEDDINGS = { [L.requestModel]: 'e', [L.operationName]: 'embeddings' };
const IDLE = model('idle');
const usage = (labels: Labels, perSecond: Partial<Record<keyof typeof U, number>>) =>
  Object.entries(perSecond).map(([type, n]) => series(U[type as keyof typeof U], { [L.tokenModality]: 'unknown', ...labels }, 15 * n));
const tokenSeries = [
  ...usage({ [L.requestStream]: 'true' }, { input: 60, cacheRead: 30, cacheWrite: 0, output: 30, reasoning: 10 }),
  ...usage({ instance: 'b', [L.requestStream]: 'false' }, { input: 40, cacheRead: 10, cacheWrite: 0, output: 20, reasoning: 0 }),
  ...usage({ ...ANTHROPIC, ...M2 }, { input: 200, cacheRead: 150, cacheWrite: 30, output: 20, reasoning: 0 }),
  ...usage(EMBEDDINGS, { input: 30, cacheRead: 0, cacheWrite: 0 }),
  ...usage(IDLE, { input: 0, cacheRead: 0, cacheWrite: 0, output: 0, reasoning: 0 }),
];
const providerModel = (provider: string, m: string) => ({ [L.providerName]: provider, [L.requestModel]: m });


const proc = { job: BASE.job, instance: BASE.instance };
const gpuLine = (n: string) => ({ [GPU_LABEL.id]: `GPU-uuid-${n}`, [GPU_LABEL.name]: `GPU ${n}` });
/**
 * What each target of these rows must return on these loads, by panel title and legend:
 * the labels and the value of every sample (rounded to 4 decimals). Derivations: a quantile in a
 * bucket (a, b] holding n of N observations below rank r is a + (r − below) / n × (b − a).
 */
type Samples = Array<[Labels, number]>;
const ROWS: Record<string, { load: Array<{ series: string; values: string }>; panels: Record<string, Record<string, Samples>> }> = {
  'Tokens and cache': {
    load: tokenSeries,
    panels: {
      // over the 20-minute range: (100 + 200 + 30) and (50 + 20) tokens per second
      'Input tokens (time range)': { 'Input tokens (time range)': [[{}, 330 * RANGE_S]] },
      'Output tokens (time range)': { 'Output tokens (time range)': [[{}, 70 * RANGE_S]] },
      // (40 + 150) / 330 and 10 / 70
      'Cache hit ratio (time range)': { 'Cache hit ratio (time range)': [[{}, 0.5758]] },
      'Reasoning share (time range)': { 'Reasoning share (time range)': [[{}, 0.1429]] },
      'Tokens/s by type and model': {
        [`input {{${L.requestModel}}}`]: [[model('m'), 100], [model('m2'), 200], [model('e'), 30], [IDLE, 0]],
        [`output {{${L.requestModel}}}`]: [[model('m'), 50], [model('m2'), 20], [IDLE, 0]],
        [`cache read {{${L.requestModel}}}`]: [[model('m'), 40], [model('m2'), 150], [model('e'), 0], [IDLE, 0]],
        [`cache write {{${L.requestModel}}}`]: [[model('m'), 0], [model('m2'), 30], [model('e'), 0], [IDLE, 0]],
        [`reasoning {{${L.requestModel}}}`]: [[model('m'), 10], [model('m2'), 0], [IDLE, 0]],
      },
      // input without a cache read is 0 (e); no input, no value (idle)
      'Cache hit ratio by provider and model': {
        [`{{${L.providerName}}} {{${L.requestModel}}}`]: [[providerModel('openai', 'm'), 0.4], [providerModel('anthropic', 'm2'), 0.75], [providerModel('openai', 'e'), 0]],
      },
      // no output, no value (e, idle)
      'Reasoning share by provider and model': {
        [`{{${L.providerName}}} {{${L.requestModel}}}`]: [[providerModel('openai', 'm'), 0.2], [providerModel('anthropic', 'm2'), 0]],
      },
    },
  },
  Serving: {
    load: servingSeries,
    panels: {
      'Time to first token: server vs client (p95 by model)': {
        // m: rank 1.9 of 2, 0.1 + 0.9 × 0.15; m2: 0.01 + 0.95 × 0.01
        [`server {{${L.requestModel}}}`]: [[model('m'), 0.235], [model('m2'), 0.0195]],
        // m: 0.16 + 0.95 × 0.16; m2: 0.08 + 0.95 × 0.08
        [`client {{${L.requestModel}}}`]: [[model('m'), 0.312], [model('m2'), 0.156]],
      },
      'Time per output token (server)': {
        // ranks 5, 9.5 and 9.9 of 10 in (0.025, 0.05] holding 6 above 4: 0.025 + (r − 4) / 6 × 0.025
        p50: [[{}, 0.0292]],
        p95: [[{}, 0.0479]],
        p99: [[{}, 0.0496]],
        mean: [[{}, 0.035]],
      },
      'Queue time p95 by model': {
        // m: rank 1.9 of 2, 0.32 + 0.9 × 0.32; m2: 0.04 + 0.95 × 0.04
        [`{{${L.requestModel}}}`]: [[model('m'), 0.608], [model('m2'), 0.078]],
      },
      'Waiting and active requests (server)': {
        'waiting {{instance}}': [[{ instance: 'a' }, 3], [{ instance: 'b' }, 0]],
        'active {{instance}}': [[{ instance: 'a' }, 7], [{ instance: 'b' }, 2]],
      },
      'Phase duration p95 by phase': {
        [`{{${L.phase}}}`]: [
          [{ [L.phase]: PHASE.prefill }, 0.156],
          [{ [L.phase]: PHASE.decode }, 1.248],
          [{ [L.phase]: PHASE.tokenize }, 0.0095],
        ],
      },
      'Server requests/s by outcome': {
        [`{{${L.outcome}}}`]: [
          [{ [L.outcome]: OUTCOME.success }, 3],
          [{ [L.outcome]: OUTCOME.error }, 0.5],
          [{ [L.outcome]: OUTCOME.cancelled }, 0.25],
        ],
      },
      'Server request duration (successful)': {
        // successes only: rank 1 of 2 is the top of (0.32, 0.64]; 1.9 and 1.98 in (0.64, 1.28]
        p50: [[{}, 0.64]],
        p95: [[{}, 1.216]],
        p99: [[{}, 1.2672]],
        mean: [[{}, 0.75]],
      },
      'Server tokens/s by token type': {
        [`{{${L.tokenType}}}`]: [[{ [L.tokenType]: 'input' }, 200], [{ [L.tokenType]: 'output' }, 50]],
      },
      'Server output tokens/s per request': {
        p50: [[{}, 48]],
        p95: [[{}, 62.4]],
        mean: [[{}, 50]],
      },
      // one line per process, the largest of its points (a sum would make 12 of two batches)
      'Batch size (server)': {
        '{{job}} {{instance}}': [[{ ...proc, instance: 'a' }, 8], [{ ...proc, instance: 'b' }, 3]],
      },
      // requests waiting per stage, over both processes
      'Queue size by stage (server)': {
        [`{{${L.phase}}}`]: [[{ [L.phase]: PHASE.tokenize }, 6], [{ [L.phase]: PHASE.batch }, 2]],
      },
      'KV-cache utilization (server)': {
        '{{job}} {{instance}}': [[{ ...proc, instance: 'a' }, 0.8], [{ ...proc, instance: 'b' }, 0.3]],
      },
      'Padding ratio (server)': {
        '{{job}} {{instance}}': [[{ ...proc, instance: 'a' }, 0.25], [{ ...proc, instance: 'b' }, 0.1]],
      },
    },
  },
  Gateway: {
    load: gatewaySeries,
    panels: {
      'Requests/s by backend': {
        // the unrouted call is left out
        [`{{${L.backend}}}`]: [[backend('primary'), 2], [backend('secondary'), 0.6]],
      },
      'Error ratio by backend': {
        // secondary has calls and no error series: 0, not missing
        [`{{${L.backend}}}`]: [[backend('primary'), 0.25], [backend('secondary'), 0]],
      },
      'Fallbacks/s by reason': {
        [`{{${L.fallbackReason}}}`]: [[{ [L.fallbackReason]: '503' }, 0.5], [{ [L.fallbackReason]: 'timeout' }, 0.1], [{ [L.fallbackReason]: '429' }, 0.05]],
      },
      'Fallbacks/s by route': {
        [`{{${L.fallbackFrom}}} → {{${L.fallbackTo}}}`]: [
          [{ [L.fallbackFrom]: 'primary', [L.fallbackTo]: 'secondary' }, 0.6],
          [{ [L.fallbackFrom]: 'secondary', [L.fallbackTo]: 'tertiary' }, 0.05],
        ],
      },
      'Fallbacks per backend call': {
        // 0.65 fallbacks/s over 3.6 finished calls/s, the unrouted one included
        'fallbacks / calls': [[{}, 0.1806]],
      },
    },
  },
  System: {
    load: systemSeries,
    panels: {
      'CPU (cores in use)': {
        'process {{job}} {{instance}}': [[proc, 0.25]],
        // the non-idle seconds of both CPUs: 0.6 + 0.4
        'host busy {{job}} {{instance}}': [[proc, 1]],
        'host CPUs {{job}} {{instance}}': [[proc, 2]],
      },
      Memory: {
        'process RSS {{job}} {{instance}}': [[proc, 500e6]],
        'host used {{job}} {{instance}}': [[proc, 8e9]],
        'host total {{job}} {{instance}}': [[proc, 16e9]],
      },
      // two processes report each GPU: one line per GPU with its value (a sum would double it)
      'GPU utilization': {
        [`busy {{${GPU_LABEL.name}}} {{${GPU_LABEL.id}}}`]: [[gpuLine('0'), 0.75], [gpuLine('1'), 0.25]],
        [`memory {{${GPU_LABEL.name}}} {{${GPU_LABEL.id}}}`]: [[gpuLine('0'), 0.5], [gpuLine('1'), 0.1]],
      },
      'GPU memory': {
        [`used {{${GPU_LABEL.name}}} {{${GPU_LABEL.id}}}`]: [[gpuLine('0'), 40e9], [gpuLine('1'), 8e9]],
        [`total {{${GPU_LABEL.name}}} {{${GPU_LABEL.id}}}`]: [[gpuLine('0'), 80e9], [gpuLine('1'), 80e9]],
      },
    },
  },
};

/** The panels under each row of the committed dashboard, in order (rows are not collapsed). */
function rowPanels(): Map<string, PanelJson[]> {
  const out = new Map<string, PanelJson[]>();
  let current: PanelJson[] | undefined;
  for (const p of dash.panels) {
    if (p.type === 'row') out.set(p.title ?? '', (current = []));
    else current?.push(p);
  }
  return out;
}

describe('the tokens and cache, serving, gateway and system rows, evaluated by promtool on known loads', () => {
  const rows = rowPanels();

  it('every panel and every query of these rows has an expected value here, and nothing else does', () => {
    for (const [row, { panels: want }] of Object.entries(ROWS)) {
      const got = rows.get(row) ?? [];
      expect(got.map((p) => p.title).sort(), row).toEqual(Object.keys(want).sort());
      for (const p of got) {
        expect((p.targets ?? []).map((t) => t.legendFormat).sort(), p.title).toEqual(Object.keys(want[p.title!]!).sort());
      }
    }
  });

  it.for(Object.keys(ROWS))('%s: each query returns the expected number of the known load, at every zoom', (row, ctx) => {
    requireTool(ctx, promtoolPresent, INSTALL_PROMTOOL);
    const { load, panels: want } = ROWS[row]!;
    const tests: ExprTest[] = [];
    for (const p of rows.get(row) ?? []) {
      for (const t of p.targets ?? []) {
        const samples = want[p.title!]?.[t.legendFormat ?? ''];
        expect(samples, `${p.title}: ${t.legendFormat}`).toBeDefined();
        for (const w of WINDOWS) {
          tests.push({
            expr: round(substitute(t.expr!, w)),
            eval_time: EVAL,
            exp_samples: samples!.map(([labels, value]) => ({ labels: labelText(labels), value })),
          });
        }
      }
    }
    expect(tests.length).toBeGreaterThan(0);
    const r = promtool(row, load, tests);
    expect(r.code, r.output).toBe(0);
  });
});
