/**
 * The PromQL linter's own tests: the dashboard and rule tests trust it, so it must pass the query
 * shapes this repo uses and flag each shape it exists to forbid, one rule at a time, with that
 * rule's message and no other.
 */
import { describe, expect, it } from 'vitest';
import { HOST_METRIC, PROMETHEUS_GPU_METRIC, PROMETHEUS_METRIC, PROMETHEUS_SERVER_GAUGE, PROMETHEUS_SERVER_METRIC } from '../../grafana/names.js';
import { GAUGES, lintPromQL, matchingClose, metricReferences, stripStrings, THROUGHPUT_SUMS } from './promql-lint.js';

const DURATION = 'gen_ai_client_operation_duration_seconds';
const TTFC = 'gen_ai_client_operation_time_to_first_chunk_seconds';
const TOKENS = 'gen_ai_client_token_usage';
const REQUESTS = 'inference_requests_total';
const ACTIVE = 'inference_requests_active';
const WAITING = 'inference_server_requests_waiting';
const GPU_UTILIZATION = 'hw_gpu_utilization_ratio';
const PROCESS_MEMORY = 'process_memory_usage';
const BATCH_SIZE = 'inference_server_batch_size';

it('the names used here are the ones of the names table', () => {
  expect(PROMETHEUS_METRIC.operationDuration.name).toBe(DURATION);
  expect(PROMETHEUS_METRIC.timeToFirstChunk.name).toBe(TTFC);
  expect(PROMETHEUS_METRIC.tokenUsage.name).toBe(TOKENS);
  expect(PROMETHEUS_METRIC.requests.name).toBe(REQUESTS);
  expect(PROMETHEUS_METRIC.activeRequests).toMatchObject({ name: ACTIVE, type: 'gauge' });
  expect([...THROUGHPUT_SUMS]).toEqual([TOKENS]);
  expect(PROMETHEUS_SERVER_METRIC.waitingRequests).toMatchObject({ name: WAITING, type: 'gauge' });
  expect(PROMETHEUS_GPU_METRIC.utilization).toMatchObject({ name: GPU_UTILIZATION, type: 'gauge' });
  expect(HOST_METRIC.processMemoryUsage).toMatchObject({ name: PROCESS_MEMORY, type: 'gauge' });
  expect(PROMETHEUS_SERVER_GAUGE.batchSize).toMatchObject({ name: BATCH_SIZE, type: 'gauge' });
  for (const g of [ACTIVE, WAITING, GPU_UTILIZATION, PROCESS_MEMORY, BATCH_SIZE]) expect(GAUGES.has(g), g).toBe(true);
  for (const g of Object.values(PROMETHEUS_SERVER_GAUGE)) expect(GAUGES.has(g.name), g.name).toBe(true);
});

describe('queries that must pass', () => {
  it.each([
    ['a counter rate', `sum by (job) (rate(${REQUESTS}[5m]))`],
    ['a counter increase, a label value that looks like a series', `sum(increase(${REQUESTS}{error_type="x_total"}[1h]))`],
    ['a quantile', `histogram_quantile(0.95, sum by (le, job) (rate(${DURATION}_bucket{inference_outcome="success"}[5m])))`],
    ['a quantile over $__rate_interval', `histogram_quantile(0.5, sum by (job, le) (rate(${TTFC}_bucket[$__rate_interval])))`],
    ['a quantile compared to a constant', `histogram_quantile(0.95, sum by (le) (rate(${TTFC}_bucket[5m]))) > 1.28`],
    ['a mean', `sum(rate(${DURATION}_sum[5m])) / (sum(rate(${DURATION}_count[5m])) > 0)`],
    ['a throughput: the rate of the token sum alone', `sum by (gen_ai_token_type) (rate(${TOKENS}_sum[5m]))`],
    ['a gauge, summed', `sum(${ACTIVE})`],
    ['logical CPUs counted from the rates of their idle time', `count by (instance) (rate(system_cpu_time_seconds_total{cpu_mode="idle"}[5m]))`],
    ['a GPU gauge, one line per GPU', `max by (hw_id) (hw_gpu_utilization_ratio)`],
    ["a server's own gauge, one line per process", `max by (job, instance) (${BATCH_SIZE})`],
    ["a server's own gauge, averaged over time", `avg by (job) (avg_over_time(${BATCH_SIZE}[5m]))`],
    ['a heatmap: bucket rates per second', `sum by (le) (rate(${DURATION}_bucket[$__rate_interval]))`],
    ['a per-bucket count over a fixed window', `sum by (le) (increase(${DURATION}_bucket[1h]))`],
    ['an le SLO ratio', `sum(rate(${TTFC}_bucket{le="1.28"}[5m])) / (sum(rate(${TTFC}_count[5m])) > 0)`],
    ['an error ratio', `sum(rate(${REQUESTS}{inference_outcome="error"}[5m])) / (sum(rate(${REQUESTS}[5m])) > 0)`],
    ['absent()', `absent(${REQUESTS})`],
    ['a __name__ selector inside rate()', `sum(rate({__name__=~"inference_.*_total"}[5m]))`],
    ['recording rule outputs', `job:inference_requests:error_ratio_5m > 0.05 and on (job) job:inference_requests:rate5m >= 0.05`],
    [
      'a recorded quantile over an SLO, filtered by a traffic floor',
      `job_model:${TTFC}:p95_5m > 1.28 and on (job, gen_ai_request_model) job_model:${TTFC}_count:rate5m >= 0.05`,
    ],
    ['a recorded quantile compared to a constant', `job_model:${TTFC}:p95_5m > 1.28`],
    ['up', `up{job=~"inference-apps|otel-collector"} == 0`],
  ])('%s', (_what, query) => {
    expect(lintPromQL(query)).toEqual([]);
  });
});

describe('queries that must be flagged, one rule each', () => {
  it.each([
    { rule: 'brackets balance', query: `sum(rate(${REQUESTS}[5m])`, problem: 'unbalanced brackets' },
    { rule: 'a counter only inside rate()/increase()', query: `sum(${REQUESTS})`, problem: `${REQUESTS} is used outside rate()/increase()` },
    { rule: 'a histogram _count only inside rate()/increase()', query: `${DURATION}_count > 10`, problem: `${DURATION}_count is used outside rate()/increase()` },
    { rule: 'a gauge never inside rate()', query: `sum(rate(${ACTIVE}[5m]))`, problem: `${ACTIVE} is a gauge: do not rate() it` },
    { rule: 'a gauge never inside irate()', query: `sum(irate(${ACTIVE}[5m]))`, problem: `${ACTIVE} is a gauge: do not rate() it` },
    { rule: 'a server gauge never inside rate()', query: `sum(rate(${WAITING}[5m]))`, problem: `${WAITING} is a gauge: do not rate() it` },
    { rule: 'a GPU gauge never inside rate()', query: `sum(rate(${GPU_UTILIZATION}[5m]))`, problem: `${GPU_UTILIZATION} is a gauge: do not rate() it` },
    { rule: 'a host gauge never inside rate()', query: `sum(rate(${PROCESS_MEMORY}[5m]))`, problem: `${PROCESS_MEMORY} is a gauge: do not rate() it` },
    { rule: "a server's own gauge never inside rate()", query: `sum(rate(${BATCH_SIZE}[5m]))`, problem: `${BATCH_SIZE} is a gauge: do not rate() it` },
    {
      rule: 'a __name__ selector only inside rate()',
      query: `sum({__name__=~"inference_.*_total"})`,
      problem: '{__name__=~"inference_.*_total" selector used outside rate()',
    },
    {
      rule: 'histogram_quantile over sum by (le) of bucket rates',
      query: `histogram_quantile(0.95, rate(${DURATION}_bucket[5m]))`,
      problem: 'histogram_quantile must be histogram_quantile(q, sum by (le, ...) (rate(x_bucket[...])))',
    },
    {
      rule: 'histogram_quantile keeps le',
      query: `histogram_quantile(0.95, sum by (job) (rate(${DURATION}_bucket[5m])))`,
      problem: 'histogram_quantile: sum by (...) must keep le',
    },
    {
      rule: 'a _bucket series feeds a quantile, a heatmap or an SLO ratio',
      query: `sum(rate(${DURATION}_bucket[5m]))`,
      problem: `${DURATION}_bucket: a _bucket series must feed histogram_quantile, a heatmap (sum by (le) (rate(x_bucket[...]))) or an le="..." SLO ratio`,
    },
    {
      rule: 'no increase() over $__rate_interval (a heatmap overcounting with zoom)',
      query: `sum by (le) (increase(${DURATION}_bucket[$__rate_interval]))`,
      problem: 'increase() over $__rate_interval counts each event $__rate_interval / $__interval times (the windows overlap): use rate(), per second',
    },
    {
      rule: 'no increase() over ${__rate_interval} either',
      query: `sum(increase(${REQUESTS}[\${__rate_interval}]))`,
      problem: 'increase() over $__rate_interval counts each event $__rate_interval / $__interval times (the windows overlap): use rate(), per second',
    },
    {
      rule: 'rate(_sum) is divided by rate(_count)',
      query: `sum(rate(${DURATION}_sum[5m]))`,
      problem: `rate(${DURATION}_sum) must be divided by rate(${DURATION}_count) (a mean is sum/count)`,
    },
    {
      rule: 'rate(_sum) is divided by its own rate(_count)',
      query: `sum(rate(${DURATION}_sum[5m])) / (sum(rate(${TTFC}_count[5m])) > 0)`,
      problem: `rate(${DURATION}_sum) must be divided by rate(${DURATION}_count) (a mean is sum/count)`,
    },
    {
      rule: 'a division by a parenthesised expression',
      query: `sum(rate(${REQUESTS}{inference_outcome="error"}[5m])) / sum(rate(${REQUESTS}[5m]))`,
      problem: 'division right-hand side must be a parenthesised (x > 0)',
    },
    {
      rule: 'a division by (x > 0)',
      query: `sum(rate(${REQUESTS}{inference_outcome="error"}[5m])) / (sum(rate(${REQUESTS}[5m])))`,
      problem: 'division right-hand side must end with "> 0" so idle periods give no NaN',
    },
    {
      rule: 'quantiles are never added',
      query: `histogram_quantile(0.95, sum by (le) (rate(${DURATION}_bucket[5m]))) + histogram_quantile(0.5, sum by (le) (rate(${DURATION}_bucket[5m])))`,
      problem: 'a quantile must stand alone (optionally compared to a constant): never add, average or sum quantiles',
    },
    {
      rule: 'a quantile is not combined with another series by `or`',
      query: `job_model:${TTFC}:p95_5m > 1.28 or job:inference_requests:rate5m`,
      problem: 'a quantile must stand alone (optionally compared to a constant): never add, average or sum quantiles',
    },
    {
      rule: 'recorded quantiles are never averaged',
      query: `avg(job_model:${DURATION}:p95_5m)`,
      problem: 'a quantile must stand alone (optionally compared to a constant): never add, average or sum quantiles',
    },
  ])('$rule', ({ query, problem }) => {
    expect(lintPromQL(query)).toEqual([problem]);
  });
});

describe('helpers', () => {
  it('stripStrings blanks string contents and keeps every index', () => {
    const expr = 'rate(x_total{a="b_total", c="d\\"e"}[5m])';
    const stripped = stripStrings(expr);
    expect(stripped).toHaveLength(expr.length);
    expect(stripped).toBe('rate(x_total{a="       ", c="    "}[5m])');
  });

  it('matchingClose finds the bracket closing the one opened, across nested kinds, or -1', () => {
    const text = 'f(a{b}[c](d))';
    expect(matchingClose(text, 1)).toBe(text.length - 1);
    expect(matchingClose(text, 3)).toBe(5);
    expect(matchingClose('f(a]', 1)).toBe(-1);
    expect(matchingClose('f(a', 1)).toBe(-1);
  });

  it('metricReferences names metrics, not functions, labels, durations, keywords or variables', () => {
    const expr = `sum by (job, le) (rate(${DURATION}_bucket{job="x_total"}[$__rate_interval])) > 0.5 and on (job) ${ACTIVE} offset 5m`;
    expect(metricReferences(expr).map((r) => r.name)).toEqual([`${DURATION}_bucket`, ACTIVE]);
  });
});
