/**
 * /v1/stats of a real process, `node --import otel-inference/register` with the embedded
 * Prometheus endpoint on port 0: the endpoint serves it beside /metrics, and statsHandler() on the
 * app's own server reads the same source. Its numbers agree with the /metrics exposition scraped
 * from the same idle process: every count and sum exactly, every quantile inside the exposition's
 * bucket that holds its rank (and equal to histogram_quantile over those buckets). Both documents
 * validate against stats.schema.json.
 */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  OUTCOME,
  PROMETHEUS_GATEWAY_METRIC,
  PROMETHEUS_LABEL,
  PROMETHEUS_METRIC,
  PROMETHEUS_SERVER_METRIC,
  histogramQuantile,
  type InferenceStats,
  type PrometheusMetric,
  type QuantileStats,
} from '../../../packages/instrumentation/src/index.js';
import { startSimServer, type SimServer } from '../../../sim/index.js';
import { diagLines, start, type Started } from '../../helpers/apps.js';
import { bucketsOf, parseExposition, sumOf, type Sample } from '../../helpers/exposition.js';
import { validateStats } from '../../helpers/stats-schema.js';

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function ask(port: number, path: string, method = 'GET'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject).end();
  });
}

const MODEL = PROMETHEUS_LABEL.requestModel;
const OUTCOME_LABEL = PROMETHEUS_LABEL.outcome;
const TOKEN_TYPE_LABEL = PROMETHEUS_LABEL.tokenType;

let sim: SimServer;
let app: Started;
let stdout = '';
let samples: Sample[];
let fromEndpoint: InferenceStats;
let fromApp: InferenceStats;
let promPort: number;

beforeAll(async () => {
  sim = await startSimServer();
  app = start({
    app: 'stats-app.mjs',
    env: {
      SIM_URL: sim.url,
      OTEL_METRICS_EXPORTER: 'prometheus',
      OTEL_EXPORTER_PROMETHEUS_PORT: '0',
      OTEL_EXPORTER_PROMETHEUS_HOST: '127.0.0.1',
      OTEL_NODE_DISABLED_INSTRUMENTATIONS: 'http,undici',
      OTEL_INFERENCE_STATS_WINDOW: '30',
    },
    timeoutMs: 30_000,
  });
  app.child.stdout!.on('data', (d: string) => (stdout += d));
  await app.waitForOutput('ready ', 20_000);
  const [, prom, own] = /ready (\d+) (\d+)/.exec(stdout)!;
  promPort = Number(prom);
  // The app records nothing more: one scrape and two reads see the same data.
  const metrics = await ask(promPort, '/metrics');
  expect(metrics.status).toBe(200);
  samples = parseExposition(metrics.body).samples;
  const a = await ask(promPort, '/v1/stats');
  expect(a.status, a.body).toBe(200);
  expect(a.headers['content-type']).toBe('application/json; charset=utf-8');
  fromEndpoint = JSON.parse(a.body) as InferenceStats;
  const b = await ask(Number(own), '/v1/stats');
  expect(b.status, b.body).toBe(200);
  fromApp = JSON.parse(b.body) as InferenceStats;
}, 40_000);

afterAll(async () => {
  if (app && app.child.exitCode === null) app.child.kill('SIGKILL');
  await app?.done;
  await sim?.close();
});

/** Checks one histogram of the document against the exposition's series matching `match`. */
function agrees(stats: QuantileStats, metric: PrometheusMetric, match: Record<string, string>, what: string) {
  const count = sumOf(samples, `${metric.name}_count`, match);
  expect(stats.count, `${what} count`).toBe(count);
  expect(stats.sum, `${what} sum`).toBe(count > 0 ? sumOf(samples, `${metric.name}_sum`, match) : 0);
  const { boundaries, counts, cumulative } = bucketsOf(samples, metric.name, match);
  expect(cumulative.at(-1) ?? 0, `${what} +Inf bucket`).toBe(count);
  for (const [key, q] of [['p50', 0.5], ['p95', 0.95], ['p99', 0.99]] as const) {
    const value = stats[key];
    if (count === 0) {
      expect(value, `${what} ${key}`).toBeNull();
      continue;
    }
    // The bucket that holds the rank: (lower, upper]; in +Inf, the highest finite bound is returned.
    const rank = q * count;
    const b = cumulative.findIndex((c) => c >= rank);
    const lower = b === 0 ? 0 : boundaries[b - 1]!;
    const upper = b < boundaries.length ? boundaries[b]! : boundaries.at(-1)!;
    expect(value!, `${what} ${key} ≥ ${lower}`).toBeGreaterThanOrEqual(lower);
    expect(value!, `${what} ${key} ≤ ${upper}`).toBeLessThanOrEqual(upper);
    expect(value!, `${what} ${key} = histogram_quantile`).toBeCloseTo(histogramQuantile(q, boundaries, counts), 12);
  }
}

describe('/v1/stats of a process preloaded with otel-inference/register', () => {
  it('is served beside /metrics and by statsHandler() on the app\'s own server, and validates against the schema', () => {
    expect(validateStats(fromEndpoint)).toEqual([]);
    expect(validateStats(fromApp)).toEqual([]);
    expect(fromEndpoint.window.target_s).toBe(30);
    // One source: the same lifetime numbers from both (the window differs with the time of the read).
    const lifetimes = (d: InferenceStats) =>
      d.models.map((m) => ({ model: m.model, client: m.client?.lifetime.requests, server: m.server?.lifetime.requests, d: m.client?.lifetime.duration_s }));
    expect(lifetimes(fromApp)).toEqual(lifetimes(fromEndpoint));
    expect(fromEndpoint.uptime_s).toBeGreaterThan(0);
    expect(fromApp.uptime_s).toBeGreaterThanOrEqual(fromEndpoint.uptime_s);
    // The process started with the reader empty: the window reaches back to the start, incomplete.
    expect(fromEndpoint.window.complete).toBe(false);
    expect(fromEndpoint.models.find((m) => m.model === 'model-a')!.client!.window.requests).toEqual(
      fromEndpoint.models.find((m) => m.model === 'model-a')!.client!.lifetime.requests,
    );
    // No prompt, key or header value in the document.
    expect(JSON.stringify(fromEndpoint)).not.toMatch(/secret/);
  });

  it('the client side agrees with /metrics: counts, sums, quantiles in the right bucket', () => {
    expect(fromEndpoint.models.map((m) => m.model)).toEqual(['model-a', 'model-b']);
    for (const model of ['model-a', 'model-b']) {
      const client = fromEndpoint.models.find((m) => m.model === model)!.client!;
      const m = { [MODEL]: model };
      const requests = PROMETHEUS_METRIC.requests.name;
      expect(client.lifetime.requests).toEqual({
        total: sumOf(samples, requests, m),
        success: sumOf(samples, requests, { ...m, [OUTCOME_LABEL]: OUTCOME.success }),
        error: sumOf(samples, requests, { ...m, [OUTCOME_LABEL]: OUTCOME.error }),
        cancelled: sumOf(samples, requests, { ...m, [OUTCOME_LABEL]: OUTCOME.cancelled }),
      });
      expect(client.active).toBe(sumOf(samples, PROMETHEUS_METRIC.activeRequests.name, m));
      const ok = { ...m, [OUTCOME_LABEL]: OUTCOME.success };
      agrees(client.lifetime.duration_s, PROMETHEUS_METRIC.operationDuration, ok, `${model} duration`);
      agrees(client.lifetime.ttft_s, PROMETHEUS_METRIC.timeToFirstChunk, m, `${model} ttft`);
      agrees(client.lifetime.time_per_output_chunk_s, PROMETHEUS_METRIC.timePerOutputChunk, m, `${model} per chunk`);
      agrees(client.lifetime.output_token_rate, PROMETHEUS_METRIC.outputTokenRate, m, `${model} rate`);
      const tokens = (type: string) => sumOf(samples, `${PROMETHEUS_METRIC.tokenUsage.name}_sum`, { ...m, [TOKEN_TYPE_LABEL]: type });
      expect(client.lifetime.tokens).toEqual({ input: tokens('input'), output: tokens('output') });
    }
    // What the app did: model-a 3 streams + 1 single response + 1 failure; model-b 2 streams + 1 failure.
    const a = fromEndpoint.models[0]!.client!.lifetime;
    expect(a.requests).toEqual({ total: 5, success: 4, error: 1, cancelled: 0 });
    expect(a.error_rate).toBe(0.2);
    expect(a.ttft_s.count).toBe(3); // streams only
    expect(a.duration_s.count).toBe(4);
    expect(fromEndpoint.models[1]!.client!.lifetime.requests).toEqual({ total: 3, success: 2, error: 1, cancelled: 0 });
    // The streams of model-a were asked for a TTFT of 20, 60 and 100 ms: p99 is in the bucket of
    // the slowest, above 0.08 (how far above depends on the machine's load: no upper bound here).
    expect(a.ttft_s.p99!).toBeGreaterThan(0.08);
  });

  it('the server side and the fallbacks agree with /metrics', () => {
    for (const model of ['model-a', 'model-b']) {
      const server = fromEndpoint.models.find((m) => m.model === model)!.server!;
      const m = { [MODEL]: model };
      const requests = PROMETHEUS_SERVER_METRIC.requests.name;
      expect(server.lifetime.requests).toEqual({
        total: sumOf(samples, requests, m),
        success: sumOf(samples, requests, { ...m, [OUTCOME_LABEL]: OUTCOME.success }),
        error: sumOf(samples, requests, { ...m, [OUTCOME_LABEL]: OUTCOME.error }),
        cancelled: sumOf(samples, requests, { ...m, [OUTCOME_LABEL]: OUTCOME.cancelled }),
      });
      expect(server.active).toBe(sumOf(samples, PROMETHEUS_SERVER_METRIC.activeRequests.name, m));
      agrees(server.lifetime.duration_s, PROMETHEUS_SERVER_METRIC.requestDuration, { ...m, [OUTCOME_LABEL]: OUTCOME.success }, `${model} server duration`);
      agrees(server.lifetime.ttft_s, PROMETHEUS_SERVER_METRIC.timeToFirstToken, m, `${model} server ttft`);
      agrees(server.lifetime.time_per_output_token_s, PROMETHEUS_SERVER_METRIC.timePerOutputToken, m, `${model} tpot`);
      agrees(server.lifetime.queue_s, PROMETHEUS_SERVER_METRIC.queueDuration, m, `${model} queue`);
      agrees(server.lifetime.output_token_rate, PROMETHEUS_SERVER_METRIC.outputTokenRate, m, `${model} server rate`);
      const tokens = (type: string) => sumOf(samples, PROMETHEUS_SERVER_METRIC.tokens.name, { ...m, [TOKEN_TYPE_LABEL]: type });
      expect(server.lifetime.tokens).toEqual({ input: tokens('input'), output: tokens('output') });
    }
    const a = fromEndpoint.models[0]!.server!;
    expect(a.lifetime.requests).toEqual({ total: 6, success: 5, error: 1, cancelled: 0 });
    expect(a.active).toBe(2);
    const fallbacks = PROMETHEUS_GATEWAY_METRIC.fallbacks.name;
    expect(fromEndpoint.fallbacks.lifetime).toEqual([
      {
        from: 'backend-b',
        to: 'backend-a',
        reason: '503',
        count: sumOf(samples, fallbacks, {
          [PROMETHEUS_LABEL.fallbackFrom]: 'backend-b',
          [PROMETHEUS_LABEL.fallbackTo]: 'backend-a',
          [PROMETHEUS_LABEL.fallbackReason]: '503',
        }),
      },
    ]);
    expect(fromEndpoint.fallbacks.lifetime[0]!.count).toBe(3);
  });

  it('the endpoint: 405 for other methods, 404 for other paths, /metrics unchanged; never breaks', async () => {
    const post = await ask(promPort, '/v1/stats', 'POST');
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD');
    expect((await ask(promPort, '/v1/stats?pretty')).status).toBe(200);
    const head = await ask(promPort, '/v1/stats', 'HEAD');
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
    for (const path of ['/v1/stats/', '/v1/statsx', '/v1', '/']) expect((await ask(promPort, path)).status, path).toBe(404);
    // A request line the URL parser refuses: the exporter's own answer.
    expect([400, 404]).toContain((await ask(promPort, '//%%')).status);
    const metrics = await ask(promPort, '/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.body).toContain(PROMETHEUS_METRIC.requests.name);
    expect(app.child.exitCode).toBeNull();
  });

  it("the app exits 0 on SIGTERM, with no diag line but the port's (no collection before the resource settled, no error)", async () => {
    app.child.kill('SIGTERM');
    const res = await app.done;
    expect(res.code, res.stderr).toBe(0);
    expect(diagLines(res.stderr)).toEqual([`otel-inference: info: the Prometheus endpoint listens on http://127.0.0.1:${promPort}/metrics`]);
  });
});


describe('without the Prometheus exporter', () => {
  async function appStats(env: Record<string, string>): Promise<Answer> {
    const sim = await startSimServer();
    const app = start({ app: 'stats-app.mjs', env: { SIM_URL: sim.url, OTEL_NODE_DISABLED_INSTRUMENTATIONS: 'http,undici', ...env }, timeoutMs: 30_000 });
    let out = '';
    app.child.stdout!.on('data', (d: string) => (out += d));
    try {
      await app.waitForOutput('ready ', 20_000);
      return await ask(Number(/ready \d+ (\d+)/.exec(out)![1]), '/v1/stats');
    } finally {
      app.child.kill('SIGTERM');
      const res = await app.done;
      expect(res.code, res.stderr).toBe(0);
      await sim.close();
    }
  }

  it('OTEL_INFERENCE_IN_PROCESS_READER=true: statsHandler() reads the in-process reader', async () => {
    const answer = await appStats({ OTEL_METRICS_EXPORTER: 'none', OTEL_INFERENCE_IN_PROCESS_READER: 'true' });
    expect(answer.status, answer.body).toBe(200);
    const doc = JSON.parse(answer.body) as InferenceStats;
    expect(validateStats(doc)).toEqual([]);
    expect(doc.window.target_s).toBe(60);
    expect(doc.models.map((m) => [m.model, m.client!.lifetime.requests.total, m.server!.lifetime.requests.total])).toEqual([
      ['model-a', 5, 6],
      ['model-b', 3, 3],
    ]);
  });

  it('no pull reader (OTLP alone, or none): 503, saying what to set', async () => {
    const answer = await appStats({ OTEL_METRICS_EXPORTER: 'none' });
    expect(answer.status).toBe(503);
    expect(JSON.parse(answer.body).error).toMatch(/OTEL_INFERENCE_IN_PROCESS_READER=true/);
  });
});
