/**
 * The whole pipeline with real processes: two demo load processes (real openai client, preloaded
 * with otel-inference/register) and the demo server → OTLP → the collector built with ocb →
 * Prometheus (Debian's) → every dashboard query and every rule, through Prometheus' HTTP API.
 *
 * One more load process runs the whole time at the library's default export interval, scaled:
 * every production timing divided by SCALE (export 60 s → 4 s, scrape 15 s → 1 s, the data
 * source's timeInterval alike). The dashboard's rate queries are read back with the windows
 * Grafana would give them from the provisioned data source, at every scrape.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  GPU_SERIES,
  HTTP_METRIC,
  INFERENCE_SERIES,
  OUTCOME,
  PROMETHEUS_GATEWAY_METRIC as G,
  PROMETHEUS_LABEL as L,
  PROMETHEUS_METRIC as P,
  PROMETHEUS_SERVER_METRIC as S,
  SERVING_SERIES,
} from '../../grafana/names.js';
import { DEMO_EMBEDDING_MODELS, DEMO_MODELS } from '../../demo/profile.mjs';
import { METER_NAME, OPERATION, SERVER_TTFT_BUCKETS } from '../../packages/instrumentation/src/semconv.js';
import { DEFAULT_EXPORT_INTERVAL_S, datasourceTimeInterval, grafanaWindows, prometheusScrapeInterval } from '../pipeline/grafana-intervals.js';
import { CI, collectorBinaryPath, read, repoPath, ROOT, which } from '../pipeline/tools.js';
import { parseExposition, sum, type Sample } from './exposition.js';
import { eventually, freePort, startProcess, type Proc } from './processes.js';

const REQUESTS_PER_KIND = 10;
/** Low, so the load spans several 1 s exports and scrapes and Prometheus sees rates above zero. */
const CONCURRENCY = 2;
const LOAD_SERVICE = 'e2e-load';
/** Prometheus names from the names table (grafana/names.ts); the collector's output is checked against it below. */
const REQUESTS = P.requests.name;
const ACTIVE = P.activeRequests.name;
const DURATION = P.operationDuration.name;
const TTFT = P.timeToFirstChunk.name;
const GRPC_SERVICE = 'e2e-grpc';

/**
 * The serving side: the demo's gateway (zero-code server metrics, the openai client inside
 * withFallback) in front of two demo backends (the explicit server API), each its own process,
 * and a deterministic load through the gateway whose `fallback` kind makes the primary answer 503.
 */
const GATEWAY_SERVICE = 'e2e-gateway';
const GATEWAY_LOAD_SERVICE = 'e2e-gateway-load';
const BACKEND_SERVICE = { primary: 'e2e-backend-primary', secondary: 'e2e-backend-secondary' } as const;
const GATEWAY_REQUESTS_PER_KIND = 6;

/**
 * The steady load: production timings divided by SCALE. The library's default export interval
 * (60 s) becomes 4 s, prometheus.yml's scrape interval (15 s) the e2e Prometheus' 1 s, and the
 * provisioned data source's timeInterval is divided alike to get Grafana's windows.
 */
const SCALE = 15;
const SCRAPE_S = prometheusScrapeInterval() / SCALE;
const STEADY_EXPORT_S = DEFAULT_EXPORT_INTERVAL_S / SCALE;
const STEADY_SERVICE = 'e2e-steady';
/** Requests of each kind: at 2 in flight, about 42 s of traffic (five kinds, 0.22 s per request on average). */
const STEADY_REQUESTS = 75;
/**
 * A rate read with Grafana's window may be this far from the true rate: a 16 s window over 1 s
 * scrapes spans 15 s, so it holds 3 or 4 exports of 4 s (0.8× or 1.07× the truth), plus the
 * load's own jitter. Checked where the window holds at least RATE_MIN_EVENTS events on average;
 * below that (a bucket that a few jittery chunk gaps reach) counting noise decides, not windows.
 */
const RATE_TOLERANCE = 0.35;
/** Every rule file of prometheus/rules. */
const RULE_FILES = readdirSync(repoPath('prometheus', 'rules')).filter((f) => f.endsWith('.yml')).sort();
const RATE_MIN_EVENTS = 10;

function missingTools(): string | undefined {
  const missing: string[] = [];
  if (!which('prometheus') || !which('promtool')) missing.push('Prometheus and promtool: `apt-get install prometheus` (or scripts/install-prometheus.sh)');
  if (!existsSync(collectorBinaryPath()) && !which('go')) {
    missing.push('Go ≥ 1.26 to build the collector (then scripts/build-collector.sh)');
  }
  return missing.length > 0 ? missing.join('; ') : undefined;
}

const missing = missingTools();
if (missing !== undefined && CI) throw new Error(`end-to-end test needs: ${missing}`);
if (missing !== undefined) console.warn(`SKIPPED end-to-end test; install ${missing}`);

interface LoadSummary {
  ok: boolean;
  sim: { ttftMs: number; chunkMs: number; chunks: number; tokensPerChunk: number; promptTokens: number; cacheReadTokens: number; reasoningChunks: number };
  expected: { success: number; error: number; cancelled: number };
  sent: Record<string, number>;
}

describe.skipIf(missing !== undefined)('collector → Prometheus → dashboard, end to end', () => {
  const procs: Proc[] = [];
  const tmp = mkdtempSync(join(tmpdir(), 'otel-inference-e2e-'));
  const ports: Record<string, number> = {};
  let collectorMetrics: Sample[] = [];
  let embeddedMetrics: Sample[] = [];
  let loads: LoadSummary[] = [];
  let gatewayLoad: Proc;
  let gatewayLoadSummary: LoadSummary;

  let steady: Proc;
  let steadyStarted = 0;

  async function prom(query: string, time?: number): Promise<{ status: string; data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> }; error?: string }> {
    const at = time === undefined ? '' : `&time=${time}`;
    const res = await fetch(`http://127.0.0.1:${ports.prometheus}/api/v1/query?query=${encodeURIComponent(query)}${at}`);
    return (await res.json()) as never;
  }

  /** A range query, as Grafana sends one: a value every `step` seconds from `start` to `end`. */
  async function promRange(query: string, start: number, end: number, step: number): Promise<Array<{ metric: Record<string, string>; values: Array<[number, string]> }>> {
    const params = new URLSearchParams({ query, start: String(start), end: String(end), step: String(step) });
    const body = (await (await fetch(`http://127.0.0.1:${ports.prometheus}/api/v1/query_range?${params}`)).json()) as {
      status: string;
      error?: string;
      data: { result: Array<{ metric: Record<string, string>; values: Array<[number, string]> }> };
    };
    if (body.status !== 'success') throw new Error(`${body.error}: ${query}`);
    return body.data.result;
  }

  beforeAll(async () => {
    let bin = collectorBinaryPath();
    if (!existsSync(bin)) {
      bin = execFileSync('bash', [repoPath('scripts/build-collector.sh')], { cwd: ROOT, encoding: 'utf8' }).trim().split('\n').pop()!;
    }
    for (const name of ['otlpHttp', 'otlpGrpc', 'exporter', 'telemetry', 'health', 'prometheus', 'sim', 'embedded', 'gateway', 'primary', 'secondary']) ports[name] = await freePort();

    const collector = startProcess('collector', bin, ['--config', 'otel-collector/config.yaml'], {
      OTLP_HTTP_ENDPOINT: `127.0.0.1:${ports.otlpHttp}`,
      OTLP_GRPC_ENDPOINT: `127.0.0.1:${ports.otlpGrpc}`,
      PROMETHEUS_EXPORTER_ENDPOINT: `127.0.0.1:${ports.exporter}`,
      HEALTH_CHECK_ENDPOINT: `127.0.0.1:${ports.health}`,
      OTELCOL_METRICS_HOST: '127.0.0.1',
      OTELCOL_METRICS_PORT: String(ports.telemetry),
    });
    procs.push(collector);
    await eventually('the collector health check', async () => ((await fetch(`http://127.0.0.1:${ports.health}/`)).ok ? true : undefined));

    // The repo's prometheus.yml, targets rewritten to loopback and its scrape interval scaled (15 s → 1 s).
    expect(SCRAPE_S).toBe(1);
    const config = read('prometheus', 'prometheus.yml')
      .replace('otel-collector:8889', `127.0.0.1:${ports.exporter}`)
      .replace('otel-collector:8888', `127.0.0.1:${ports.telemetry}`)
      .replace(/scrape_interval: \S+/, `scrape_interval: ${SCRAPE_S}s`)
      .replace(/evaluation_interval: \S+/, 'evaluation_interval: 1s');
    writeFileSync(join(tmp, 'prometheus.yml'), config);
    cpSync(repoPath('prometheus', 'rules'), join(tmp, 'rules'), { recursive: true });
    // The rule groups' own intervals (30 s) shortened alike, so recorded series exist in seconds.
    for (const file of RULE_FILES) {
      const path = join(tmp, 'rules', file);
      writeFileSync(path, readFileSync(path, 'utf8').replace(/^(\s+interval:) \S+$/gm, '$1 1s'));
    }
    const prometheus = startProcess('prometheus', 'prometheus', [
      `--config.file=${join(tmp, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(tmp, 'data')}`,
      `--web.listen-address=127.0.0.1:${ports.prometheus}`,
    ]);
    procs.push(prometheus);
    await eventually('Prometheus ready', async () => ((await fetch(`http://127.0.0.1:${ports.prometheus}/-/ready`)).ok ? true : undefined));

    const otel = {
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${ports.otlpHttp}`,
      OTEL_METRIC_EXPORT_INTERVAL: '1000',
      NODE_OPTIONS: '',
    };
    // The demo server, preloaded too: its HTTP server metrics feed the dashboard's HTTP panels.
    const sim = startProcess('sim-server', process.execPath, ['--import', 'otel-inference/register', 'demo/sim-server.mjs', '--port', String(ports.sim)], {
      ...otel,
      OTEL_SERVICE_NAME: 'e2e-sim-server',
    });
    procs.push(sim);
    await sim.waitFor('listening');

    // The serving side: two backends, the gateway in front of them, a load through the gateway.
    const gpuOff = { OTEL_INFERENCE_GPU_METRICS: 'false' };
    for (const name of ['primary', 'secondary'] as const) {
      const backend = startProcess(`backend-${name}`, process.execPath, ['--import', 'otel-inference/register', 'demo/backend.mjs', '--name', name, '--port', String(ports[name]), '--slots', '4'], {
        ...otel,
        ...gpuOff,
        OTEL_SERVICE_NAME: BACKEND_SERVICE[name],
      });
      procs.push(backend);
      await backend.waitFor('listening');
    }
    const gateway = startProcess(
      'gateway',
      process.execPath,
      [
        '--import',
        'otel-inference/register',
        'demo/gateway.mjs',
        '--port',
        String(ports.gateway),
        '--backend',
        `primary=http://127.0.0.1:${ports.primary}/v1`,
        '--backend',
        `secondary=http://127.0.0.1:${ports.secondary}/v1`,
      ],
      { ...otel, ...gpuOff, OTEL_SERVICE_NAME: GATEWAY_SERVICE, OTEL_INFERENCE_HOST_METRICS: 'true' },
    );
    procs.push(gateway);
    await gateway.waitFor('listening');
    gatewayLoad = startProcess(
      'load-gateway',
      process.execPath,
      // 16 chunks of 20 ms: an abandoned stream's cancel has about 280 ms to reach the primary
      // through the gateway before the stream would have ended anyway.
      ['--import', 'otel-inference/register', 'demo/load.mjs', '--requests', String(GATEWAY_REQUESTS_PER_KIND), '--concurrency', '2', '--chunks', '16', '--fail-backend', 'primary'],
      { ...otel, OTEL_SERVICE_NAME: GATEWAY_LOAD_SERVICE, SIM_BASE_URL: `http://127.0.0.1:${ports.gateway}/v1` },
    );
    procs.push(gatewayLoad);

    // The steady load, for the whole run, exporting at the default interval scaled (4 s).
    steadyStarted = Date.now() / 1000;
    steady = startProcess('load-steady', process.execPath, ['--import', 'otel-inference/register', 'demo/load.mjs', '--requests', String(STEADY_REQUESTS), '--concurrency', '2'], {
      ...otel,
      OTEL_METRIC_EXPORT_INTERVAL: String(STEADY_EXPORT_S * 1000),
      OTEL_SERVICE_NAME: STEADY_SERVICE,
      SIM_BASE_URL: `http://127.0.0.1:${ports.sim}/v1`,
    });
    procs.push(steady);

    // Two load processes at once, same service: their series must not collide.
    const runs = [1, 2].map((i) =>
      startProcess(`load-${i}`, process.execPath, ['--import', 'otel-inference/register', 'demo/load.mjs', '--requests', String(REQUESTS_PER_KIND), '--concurrency', String(CONCURRENCY)], {
        ...otel,
        OTEL_SERVICE_NAME: LOAD_SERVICE,
        SIM_BASE_URL: `http://127.0.0.1:${ports.sim}/v1`,
      }),
    );
    procs.push(...runs);
    // A third process on the embedded default (the Prometheus exporter in the app), to compare
    // its names with the collector's.
    const embedded = startProcess('load-embedded', process.execPath, ['--import', 'otel-inference/register', 'demo/load.mjs', '--requests', '2', '--linger', '60'], {
      NODE_OPTIONS: '',
      OTEL_METRICS_EXPORTER: 'prometheus',
      OTEL_EXPORTER_PROMETHEUS_HOST: '127.0.0.1',
      OTEL_EXPORTER_PROMETHEUS_PORT: String(ports.embedded),
      OTEL_SERVICE_NAME: 'e2e-embedded',
      SIM_BASE_URL: `http://127.0.0.1:${ports.sim}/v1`,
    });
    procs.push(embedded);
    // And one exporting over OTLP/gRPC, to the collector's gRPC receiver.
    const grpc = startProcess('load-grpc', process.execPath, ['--import', 'otel-inference/register', 'demo/load.mjs', '--requests', '1'], {
      ...otel,
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${ports.otlpGrpc}`,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
      OTEL_SERVICE_NAME: GRPC_SERVICE,
      SIM_BASE_URL: `http://127.0.0.1:${ports.sim}/v1`,
    });
    procs.push(grpc);
    const finished = [...runs, grpc, gatewayLoad];
    const codes = await Promise.all(finished.map((r) => r.exited));
    for (const [i, r] of finished.entries()) expect(codes[i], r.output()).toBe(0);
    const summaryOf = (r: Proc) => JSON.parse(r.output().trim().split('\n').filter((l) => l.startsWith('{')).pop()!) as LoadSummary;
    loads = runs.map(summaryOf);
    gatewayLoadSummary = summaryOf(gatewayLoad);
    await embedded.waitFor('"mode":"deterministic"');
    embeddedMetrics = parseExposition(await (await fetch(`http://127.0.0.1:${ports.embedded}/metrics`)).text());
    await embedded.stop();
    // The simulated server stays up for the steady load (afterAll stops it).

    const expectedTotal = loads.reduce((n, l) => n + l.expected.success + l.expected.error + l.expected.cancelled, 0);
    collectorMetrics = await eventually('both processes in the collector', async () => {
      const samples = parseExposition(await (await fetch(`http://127.0.0.1:${ports.exporter}/metrics`)).text());
      const served = 6 * GATEWAY_REQUESTS_PER_KIND;
      const arrived =
        sum(samples, REQUESTS, { job: LOAD_SERVICE }) === expectedTotal &&
        sum(samples, REQUESTS, { job: GRPC_SERVICE }) === 5 &&
        sum(samples, REQUESTS, { job: GATEWAY_LOAD_SERVICE }) === served &&
        sum(samples, S.requests.name, { job: GATEWAY_SERVICE }) === served &&
        sum(samples, S.requests.name, { job: BACKEND_SERVICE.primary }) === served &&
        // The secondary serves the fallback and error kinds; the gateway calls upstream once per
        // request and once more per fallback.
        sum(samples, S.requests.name, { job: BACKEND_SERVICE.secondary }) === 2 * GATEWAY_REQUESTS_PER_KIND &&
        sum(samples, REQUESTS, { job: GATEWAY_SERVICE }) === served + 2 * GATEWAY_REQUESTS_PER_KIND &&
        sum(samples, S.activeRequests.name, { job: GATEWAY_SERVICE }) === 0;
      return arrived ? samples : undefined;
    });
    await eventually('Prometheus to scrape the final counts', async () => {
      const r = await prom(`sum(${REQUESTS}{job="${LOAD_SERVICE}"})`);
      return Number(r.data.result[0]?.value[1]) === expectedTotal ? true : undefined;
    });
    // rate() needs two samples in its window; wait for a few scrapes of every series.
    await eventually('three scrapes of every series', async () => {
      const r = await prom(
        `min(count_over_time(${REQUESTS}{job="${LOAD_SERVICE}"}[1m])) >= 3 and min(count_over_time(${HTTP_METRIC.serverDuration.name}_count[1m])) >= 3` +
          ` and min(count_over_time(${G.fallbacks.name}[1m])) >= 3 and min(count_over_time(${S.requests.name}{job="${GATEWAY_SERVICE}"}[1m])) >= 3`,
      );
      return r.data.result.length > 0 ? true : undefined;
    });
  });

  afterAll(async () => {
    await Promise.all(procs.map((p) => p.stop()));
    rmSync(tmp, { recursive: true, force: true });
  });

  it('the load processes sent what they planned', () => {
    expect(loads).toHaveLength(2);
    for (const load of loads) {
      expect(load.ok).toBe(true);
      expect(Object.values(load.sent).every((n) => n === REQUESTS_PER_KIND)).toBe(true);
    }
  });

  // The names table (prometheusName over semconv.ts) against what the real collector wrote for
  // the real instruments: everything the collector exposes for the otel-inference scope is a
  // series of the table, and every series of the table is there.
  it('the collector exposes exactly the metric names of the names table', () => {
    const ours = new Set(collectorMetrics.filter((s) => s.labels.otel_scope_name === METER_NAME).map((s) => s.name));
    // Client and serving side, the demo backend reporting every server gauge; no GPU here (switched off).
    expect([...ours].sort()).toEqual([...INFERENCE_SERIES, ...SERVING_SERIES].sort());
    expect([...ours].filter((name) => GPU_SERIES.has(name))).toEqual([]);
    expect(collectorMetrics.some((s) => s.name.endsWith('_total_total'))).toBe(false);
    for (const m of Object.values(HTTP_METRIC)) {
      expect(m.series.every((name) => collectorMetrics.some((s) => s.name === name)), m.name).toBe(true);
    }
  });

  it('the embedded /metrics endpoint uses the same names and labels as the collector path', () => {
    // The embedded process is a client only: its names against the collector's client series.
    const names = (samples: Sample[]) =>
      [...new Set(samples.filter((x) => x.labels.otel_scope_name === METER_NAME && INFERENCE_SERIES.has(x.name)).map((x) => x.name))].sort();
    expect(names(embeddedMetrics)).toEqual(names(collectorMetrics));
    expect(names(embeddedMetrics)).toEqual([...INFERENCE_SERIES].sort());
    // An empty label value is no label in Prometheus (the collector writes otel_scope_schema_url="").
    const labelKeys = (samples: Sample[]) =>
      [...new Set(samples.filter((x) => x.name === REQUESTS && x.labels.job !== GATEWAY_SERVICE).flatMap((x) => Object.keys(x.labels).filter((k) => x.labels[k] !== '')))]
        .filter((k) => !['job', 'instance', 'service_version', 'deployment_environment_name'].includes(k))
        .sort();
    expect(labelKeys(embeddedMetrics)).toEqual(labelKeys(collectorMetrics));
    expect(sum(embeddedMetrics, REQUESTS)).toBe(10);
  });

  it('labels: job and one instance per process, the attribute labels, no resource flood', () => {
    const all = collectorMetrics.filter((s) => s.name === REQUESTS && [LOAD_SERVICE, GRPC_SERVICE].includes(s.labels.job!));
    expect(new Set(all.map((s) => s.labels.job))).toEqual(new Set([LOAD_SERVICE, GRPC_SERVICE]));
    const requests = all.filter((s) => s.labels.job === LOAD_SERVICE);
    const instances = new Set(requests.map((s) => s.labels.instance));
    expect(instances.size).toBe(2);
    for (const instance of instances) expect(instance).toMatch(/^[0-9a-f-]{36}$/);
    const required = [
      'job',
      'instance',
      L.operationName,
      L.providerName,
      L.requestModel,
      L.requestStream,
      L.serverAddress,
      L.serverPort,
      L.outcome,
      'otel_scope_name',
      'otel_scope_version',
    ];
    const optional = [L.responseModel, L.errorType, 'service_version', 'deployment_environment_name', 'otel_scope_schema_url'];
    for (const s of requests) {
      const keys = Object.keys(s.labels);
      for (const key of required) expect(keys, JSON.stringify(s.labels)).toContain(key);
      for (const key of keys) expect([...required, ...optional], key).toContain(key);
      expect(s.labels.otel_scope_name).toBe(METER_NAME);
      expect(s.labels[L.providerName]).toBe('openai_compatible');
      expect(s.labels[L.serverPort]).toBe(String(ports.sim));
    }
    expect(requests.filter((s) => s.labels[L.outcome] === 'error').every((s) => s.labels[L.errorType] === '500')).toBe(true);
  });

  it('request counts summed over both processes are exact, per outcome and per instance', () => {
    const total = (k: 'success' | 'error' | 'cancelled') => loads.reduce((n, l) => n + l.expected[k], 0);
    const load = { job: LOAD_SERVICE };
    for (const outcome of ['success', 'error', 'cancelled'] as const) {
      expect(sum(collectorMetrics, REQUESTS, { ...load, [L.outcome]: outcome }), outcome).toBe(total(outcome));
    }
    const perInstance = new Map<string, number>();
    for (const s of collectorMetrics.filter((x) => x.name === REQUESTS && x.labels.job === LOAD_SERVICE)) {
      perInstance.set(s.labels.instance!, (perInstance.get(s.labels.instance!) ?? 0) + s.value);
    }
    expect([...perInstance.values()]).toEqual([5 * REQUESTS_PER_KIND, 5 * REQUESTS_PER_KIND]);
    expect(sum(collectorMetrics, REQUESTS, { ...load, [L.operationName]: 'embeddings' })).toBe(2 * REQUESTS_PER_KIND);
    expect(sum(collectorMetrics, ACTIVE, load)).toBe(0);
    expect(sum(collectorMetrics, ACTIVE, { job: GRPC_SERVICE })).toBe(0);
    // Every call has one duration, whatever its outcome.
    expect(sum(collectorMetrics, `${DURATION}_count`, load)).toBe(10 * REQUESTS_PER_KIND);
  });

  it('token counters summed over both processes are exact: every input token, the cached part, every output token, the reasoning part', () => {
    const n = loads.length * REQUESTS_PER_KIND;
    const { promptTokens, cacheReadTokens, reasoningChunks, chunks, tokensPerChunk } = loads[0]!.sim;
    expect(cacheReadTokens).toBeGreaterThan(0);
    expect(reasoningChunks).toBeGreaterThan(0);
    const load = { job: LOAD_SERVICE };
    const tokens = (metric: string, match: Record<string, string> = {}) => sum(collectorMetrics, metric, { ...load, ...match });
    // Usage arrives for the stream, nonStream and embeddings kinds. The abandoned stream is left
    // before its usage chunk and the 500 has none: each adds 0. No prompt cache write in the load.
    expect(tokens(P.usageInputTokens.name)).toBe(3 * n * promptTokens);
    expect(tokens(P.usageInputTokens.name, { [L.operationName]: OPERATION.embeddings })).toBe(n * promptTokens);
    expect(tokens(P.usageCacheReadInputTokens.name)).toBe(2 * n * cacheReadTokens);
    expect(tokens(P.usageCacheWriteInputTokens.name)).toBe(0);
    // Output counts the reasoning chunks before the content.
    expect(tokens(P.usageOutputTokens.name)).toBe(2 * n * (reasoningChunks + chunks) * tokensPerChunk);
    expect(tokens(P.usageReasoningOutputTokens.name)).toBe(2 * n * reasoningChunks * tokensPerChunk);
    // The histogram beside them holds the same reported counts.
    expect(tokens(`${P.tokenUsage.name}_sum`, { [L.tokenType]: 'input' })).toBe(tokens(P.usageInputTokens.name));
    expect(tokens(`${P.tokenUsage.name}_sum`, { [L.tokenType]: 'output' })).toBe(tokens(P.usageOutputTokens.name));
    // Embeddings have no output or reasoning series; every series has the modality, none an outcome.
    const usageSeries = collectorMetrics.filter((x) => x.labels.job === LOAD_SERVICE && x.name.startsWith('gen_ai_client_inference_usage_'));
    expect(usageSeries.length).toBeGreaterThan(0);
    for (const x of usageSeries) {
      expect(x.labels[L.tokenModality], x.name).toBe('unknown');
      expect(x.labels[L.outcome], x.name).toBeUndefined();
      expect(x.labels[L.errorType], x.name).toBeUndefined();
    }
    for (const m of [P.usageOutputTokens, P.usageReasoningOutputTokens]) {
      expect(usageSeries.filter((x) => x.name === m.name && x.labels[L.operationName] === OPERATION.embeddings), m.name).toEqual([]);
    }
  });

  it('OTLP/gRPC export reaches the collector too, with the same counts', () => {
    const grpc = { job: GRPC_SERVICE };
    expect(sum(collectorMetrics, REQUESTS, { ...grpc, [L.outcome]: 'success' })).toBe(3);
    expect(sum(collectorMetrics, REQUESTS, { ...grpc, [L.outcome]: 'error' })).toBe(1);
    expect(sum(collectorMetrics, REQUESTS, { ...grpc, [L.outcome]: 'cancelled' })).toBe(1);
  });

  // The serving side. Every request of the gateway load goes to the primary first. Per kind (N each):
  // stream, nonStream, embeddings → primary, success; abandoned → the caller leaves after two
  // chunks: cancelled at the gateway, its upstream call and the primary; error → the primary
  // answers 500, the gateway falls back, the secondary answers 500 too, the caller gets the 500;
  // fallback → the primary answers 503, the secondary serves it.
  it('the serving side: exact request counts on each side of the gateway, and its fallbacks', () => {
    const n = GATEWAY_REQUESTS_PER_KIND;
    expect(gatewayLoadSummary.ok).toBe(true);
    expect(gatewayLoadSummary.expected).toMatchObject({ success: 4 * n, error: n, cancelled: n });
    const outcomes = (metric: string, match: Record<string, string>) =>
      Object.fromEntries(
        [OUTCOME.success, OUTCOME.error, OUTCOME.cancelled].map((outcome) => [outcome, sum(collectorMetrics, metric, { ...match, [L.outcome]: outcome })]),
      );
    // The caller of the gateway (client side), and the gateway's own served requests (server side).
    expect(outcomes(REQUESTS, { job: GATEWAY_LOAD_SERVICE })).toEqual({ success: 4 * n, error: n, cancelled: n });
    expect(outcomes(S.requests.name, { job: GATEWAY_SERVICE })).toEqual({ success: 4 * n, error: n, cancelled: n });
    expect(sum(collectorMetrics, S.requests.name, { job: GATEWAY_SERVICE, [L.outcome]: OUTCOME.error, [L.errorType]: '500' })).toBe(n);
    // The gateway's upstream calls, by backend.
    expect(outcomes(REQUESTS, { job: GATEWAY_SERVICE, [L.backend]: 'primary' })).toEqual({ success: 3 * n, error: 2 * n, cancelled: n });
    expect(outcomes(REQUESTS, { job: GATEWAY_SERVICE, [L.backend]: 'secondary' })).toEqual({ success: n, error: n, cancelled: 0 });
    // The backends' served requests (explicit API): each request once.
    expect(outcomes(S.requests.name, { job: BACKEND_SERVICE.primary })).toEqual({ success: 3 * n, error: 2 * n, cancelled: n });
    expect(outcomes(S.requests.name, { job: BACKEND_SERVICE.secondary })).toEqual({ success: n, error: n, cancelled: 0 });
    // Fallbacks: from the primary to the secondary, by the primary's status.
    const fallbacks = { job: GATEWAY_SERVICE, [L.fallbackFrom]: 'primary', [L.fallbackTo]: 'secondary' };
    expect(sum(collectorMetrics, G.fallbacks.name, { ...fallbacks, [L.fallbackReason]: '503' })).toBe(n);
    expect(sum(collectorMetrics, G.fallbacks.name, { ...fallbacks, [L.fallbackReason]: '500' })).toBe(n);
    expect(sum(collectorMetrics, G.fallbacks.name)).toBe(2 * n);
    // Every gauge back to 0.
    for (const job of [GATEWAY_SERVICE, BACKEND_SERVICE.primary, BACKEND_SERVICE.secondary]) {
      expect(sum(collectorMetrics, S.activeRequests.name, { job }), job).toBe(0);
      expect(sum(collectorMetrics, S.waitingRequests.name, { job }), job).toBe(0);
      expect(sum(collectorMetrics, ACTIVE, { job }), job).toBe(0);
    }
  });

  it('server-side time to first token read back from Prometheus: the backends\' prefill delay, the gateway above it', async () => {
    const prefill = gatewayLoadSummary.sim.ttftMs / 1000;
    const mean = async (metric: string, job: string) => {
      const sel = `{job="${job}"}`;
      return Number((await prom(`sum(${metric}_sum${sel}) / sum(${metric}_count${sel})`)).data.result[0]!.value[1]);
    };
    // The primary serves the stream kind; the secondary the fallback kind. Four slots, two callers: no queue.
    for (const job of [BACKEND_SERVICE.primary, BACKEND_SERVICE.secondary]) {
      const ttft = await mean(S.timeToFirstToken.name, job);
      expect(ttft, job).toBeGreaterThanOrEqual(prefill);
      expect(ttft, job).toBeLessThan(prefill + 0.1);
      const p50 = Number((await prom(`histogram_quantile(0.5, sum by (le) (${S.timeToFirstToken.name}_bucket{job="${job}"}))`)).data.result[0]!.value[1]);
      const upper = SERVER_TTFT_BUCKETS.find((b) => b > prefill)!;
      expect(p50, job).toBeGreaterThan(prefill);
      expect(p50, job).toBeLessThanOrEqual(upper);
    }
    // At the gateway: to its caller (server side) ≥ to the backend that answered (client side) ≥ the backend's own.
    const primary = await mean(S.timeToFirstToken.name, BACKEND_SERVICE.primary);
    const gatewayClient = await mean(TTFT, GATEWAY_SERVICE);
    const gatewayServer = await mean(S.timeToFirstToken.name, GATEWAY_SERVICE);
    expect(gatewayClient).toBeGreaterThanOrEqual(primary - 0.005);
    expect(gatewayServer).toBeGreaterThanOrEqual(gatewayClient);
    // The gateway's own time to first token is small beside the prefill (the fallback kind adds the primary's refusal).
    expect(gatewayServer - gatewayClient).toBeLessThan(0.1);
    // Time per output token on the backends: the fixed chunk gap (one token per chunk).
    const tpot = await mean(S.timePerOutputToken.name, BACKEND_SERVICE.primary);
    const gap = gatewayLoadSummary.sim.chunkMs / 1000;
    expect(tpot).toBeGreaterThanOrEqual(gap * 0.9);
    expect(tpot).toBeLessThan(gap + 0.02);
  });

  it('time to first token read back from Prometheus matches the server delay', async () => {
    const ttft = loads[0]!.sim.ttftMs / 1000;
    const sel = `{job="${LOAD_SERVICE}"}`;
    const mean = Number((await prom(`sum(${TTFT}_sum${sel}) / sum(${TTFT}_count${sel})`)).data.result[0]!.value[1]);
    expect(mean).toBeGreaterThanOrEqual(ttft - 0.005);
    expect(mean).toBeLessThan(ttft + 0.1);
    const p50 = Number((await prom(`histogram_quantile(0.5, sum by (le) (${TTFT}_bucket${sel}))`)).data.result[0]!.value[1]);
    // Within the bucket that holds the delay: (0.16, 0.32] for 250 ms.
    const buckets = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28];
    const upper = buckets.find((b) => b >= ttft)!;
    const lower = buckets[buckets.indexOf(upper) - 1]!;
    expect(p50).toBeGreaterThan(lower);
    expect(p50).toBeLessThanOrEqual(upper);
  });

  it('every dashboard panel query parses and returns data', async () => {
    const dashboard = JSON.parse(read('grafana', 'dashboards', 'inference-overview.json')) as { panels: Panel[] };
    interface Panel { title?: string; panels?: Panel[]; targets?: Array<{ expr?: string }> }
    const flat = (ps: Panel[]): Panel[] => ps.flatMap((p) => [p, ...flat(p.panels ?? [])]);
    const queries = flat(dashboard.panels).flatMap((p) => (p.targets ?? []).filter((t) => t.expr).map((t) => ({ title: p.title, expr: t.expr! })));
    expect(queries.length).toBeGreaterThan(20);
    const empty: string[] = [];
    for (const { title, expr } of queries) {
      const query = expr
        .replace(/\$__rate_interval|\$__interval/g, '1m')
        .replace(/\$__range/g, '5m')
        .replace(/\$\{?(job|instance|provider|model|operation|stream)\}?/g, '.*');
      const r = await prom(query);
      expect(r.status, `${title}: ${r.error} in ${query}`).toBe('success');
      // The GPU panels: no GPU on this machine (and nvidia-smi switched off).
      const gpu = [...GPU_SERIES].some((name) => query.includes(name));
      if (r.data.result.length === 0 && !gpu) empty.push(`${title}: ${query}`);
    }
    expect(empty).toEqual([]);
  });

  it('every recording rule returns data and every alert expression parses and watches live series', async () => {
    const rules = RULE_FILES.flatMap((file) =>
      [...read('prometheus', 'rules', file).matchAll(/^\s*- (record|alert): (\S+)\n(?:\s+.*\n)*?\s+expr: (.+)$/gm)].map((m) => ({ kind: m[1]!, name: m[2]!, expr: m[3]! })),
    );
    expect(rules.filter((r) => r.kind === 'alert').length).toBeGreaterThanOrEqual(3);
    const empty: string[] = [];
    for (const rule of rules) {
      const r = await prom(rule.expr);
      expect(r.status, `${rule.name}: ${r.error}`).toBe('success');
      // An alert is quiet here; what it compares must still exist: drop the thresholds and absent().
      const probe = rule.kind === 'record' ? rule.expr : rule.expr.replace(/\s*(>=|<=|==|!=|>|<)\s*-?[\d.]+(?![\w.])/g, '').replace(/^absent\((.*)\)$/, '$1');
      // Alerts read recorded series: give the 1 s rule evaluation a few rounds to write them.
      const hasData = async () => ((await prom(probe)).data.result.length > 0 ? true : undefined);
      const ok = rule.kind === 'record' ? r.data.result.length > 0 : await eventually(probe, hasData, 15_000).catch(() => false);
      if (!ok) {
        const parts = await Promise.all(probe.split(/\s+and on \([^)]*\)\s+/).map(async (q) => `${q} → ${JSON.stringify((await prom(q)).data.result)}`));
        empty.push(`${rule.name}: ${parts.join(' | ')}`);
      }
    }
    expect(empty).toEqual([]);
  });

  /** The committed dashboard's targets, flattened, with their panels. */
  function dashboardTargets(): Array<{ title: string; type: string; expr: string; legendFormat: string }> {
    interface Panel { title?: string; type?: string; panels?: Panel[]; targets?: Array<{ expr?: string; legendFormat?: string }> }
    const dashboard = JSON.parse(read('grafana', 'dashboards', 'inference-overview.json')) as { panels: Panel[] };
    const flat = (ps: Panel[]): Panel[] => ps.flatMap((p) => [p, ...flat(p.panels ?? [])]);
    return flat(dashboard.panels).flatMap((p) =>
      (p.targets ?? []).filter((t) => t.expr).map((t) => ({ title: p.title ?? '', type: p.type ?? '', expr: t.expr!, legendFormat: t.legendFormat ?? '' })),
    );
  }

  /** A dashboard query with the variables set (job: a regex; the others on All) and a rate window in seconds. */
  function dashboardQuery(expr: string, job: string, windowS: number): string {
    return expr
      .replace(/\$\{?__rate_interval\}?/g, `${windowS}s`)
      .replace(/\$\{?job\}?/g, job)
      .replace(/\$\{?(instance|provider|model|operation|stream)\}?/g, '.*');
  }

  /**
   * The steady load's stretch in Prometheus, once it has finished: when its counter first and last
   * moved, Grafana's window (from the provisioned timeInterval, scaled), and the evaluation range:
   * every step whose window lies wholly within the steady traffic.
   */
  let steadyStretch: Promise<{ firstSeen: number; lastChange: number; window: number; from: number; to: number }> | undefined;
  function steadyTraffic() {
    steadyStretch ??= (async () => {
      const code = await steady.exited;
      expect(code, steady.output()).toBe(0);
      const total = 5 * STEADY_REQUESTS;
      const sel = `{job="${STEADY_SERVICE}"}`;
      await eventually('the steady load\'s final count in Prometheus', async () => (Number((await prom(`sum(${REQUESTS}${sel})`)).data.result[0]?.value[1]) === total ? true : undefined));
      // The counter's timeline, at every scrape: it appears at the first export and reaches its total at the last.
      const [line] = await promRange(`sum(${REQUESTS}${sel})`, Math.floor(steadyStarted), Math.ceil(Date.now() / 1000), SCRAPE_S);
      const firstSeen = Number(line!.values[0]![0]);
      const lastChange = Number(line!.values.find(([, v]) => Number(v) === total)![0]);
      // Grafana's windows, from the provisioned data source's timeInterval, scaled like the rest.
      const { rateInterval: window } = grafanaWindows(datasourceTimeInterval() / SCALE);
      // From one export after the first sample plus a window, to one export before the last change.
      const from = Math.ceil(firstSeen + STEADY_EXPORT_S + window);
      const to = Math.floor(lastChange - STEADY_EXPORT_S);
      expect(to - from, `steady traffic from ${firstSeen} to ${lastChange}: too short for ${window} s windows`).toBeGreaterThanOrEqual(2 * STEADY_EXPORT_S);
      return { firstSeen, lastChange, window, from, to };
    })();
    return steadyStretch;
  }

  it(`rates at the default export interval (scaled 1:${SCALE}) with the windows Grafana picks from the provisioned data source: never 0, never blank, near the true rate`, { timeout: 120_000 }, async () => {
    const { firstSeen, window, from, to } = await steadyTraffic();
    /** The whole steady stretch ending at `to`: the true value of a query. */
    const whole = to - firstSeen - STEADY_EXPORT_S;

    const rateQueries = dashboardTargets().filter((t) => t.expr.includes('$__rate_interval'));
    const checked: string[] = [];
    const problems: string[] = [];
    let rated = 0;
    for (const t of rateQueries) {
      const truth = (await prom(dashboardQuery(t.expr, STEADY_SERVICE, whole), to)).data.result;
      if (truth.length === 0) continue; // the HTTP server panels: the steady load is a client only
      checked.push(`${t.title} ${t.legendFormat}`);
      // Evaluated at every scrape, so every phase of the export cycle is seen (Grafana's own
      // step, $__interval, picks some of these).
      const series = await promRange(dashboardQuery(t.expr, STEADY_SERVICE, window), from, to, SCRAPE_S);
      // A plain rate (no quantile, no ratio) must stay near the true rate; every line must be there, a finite number, at every step.
      const plainRate = !t.expr.includes('histogram_quantile') && !t.expr.includes(' / ');
      for (const want of truth) {
        const key = JSON.stringify(want.metric);
        const got = series.find((s) => JSON.stringify(s.metric) === key);
        const steps = (to - from) / SCRAPE_S + 1;
        const values = (got?.values ?? []).map(([, v]) => Number(v)).filter((v) => Number.isFinite(v));
        if (values.length !== steps) problems.push(`${t.title} ${key}: ${values.length} of ${steps} steps have a value`);
        if (!plainRate) continue;
        const ref = Number(want.value[1]);
        if (ref * window < RATE_MIN_EVENTS) continue;
        // Chunk gaps up to the load's fixed gap are the event loop catching up (two chunks read
        // in one turn after a stall): they come in bursts when the machine is busy, so their rate
        // is not a steady one to hold to ±35 %. Their cells are still required at every step.
        const le = Number(want.metric.le);
        if (t.expr.includes(`${P.timePerOutputChunk.name}_bucket`) && le <= loads[0]!.sim.chunkMs / 1000) continue;
        rated++;
        const off = values.filter((v) => Math.abs(v - ref) > RATE_TOLERANCE * ref);
        if (off.length > 0) problems.push(`${t.title} ${key}: ${off.join(', ')} vs ${ref.toFixed(3)} (±${RATE_TOLERANCE * 100}%)`);
      }
    }
    expect(problems).toEqual([]);
    expect(checked.length).toBeGreaterThan(25);
    expect(rated).toBeGreaterThan(20);
    expect(checked.join('\n')).toMatch(/Requests\/s/);

    // Control: the same traffic read with the windows of a data source whose timeInterval is the
    // scrape interval (15 s, scaled 1 s) flaps: a 4 s window spans 3 s of scrapes, so one step in
    // four sees no export and reads 0 (and the means, guarded by `> 0`, go blank); the others read
    // one export over 3 s, about 4/3 of the truth.
    const requests = dashboardTargets().find((t) => t.title === 'Requests/s')!;
    const oldWindow = grafanaWindows(SCRAPE_S).rateInterval;
    expect(oldWindow).toBeLessThan(window);
    const truth = Number((await prom(dashboardQuery(requests.expr, STEADY_SERVICE, whole), to)).data.result[0]!.value[1]);
    const read = async (w: number) => ((await promRange(dashboardQuery(requests.expr, STEADY_SERVICE, w), from, to, SCRAPE_S))[0]?.values ?? []).map(([, v]) => Number(v));
    const flapping = await read(oldWindow);
    expect(flapping.filter((v) => v === 0).length, flapping.join(', ')).toBeGreaterThan(0);
    expect(Math.max(...flapping), flapping.join(', ')).toBeGreaterThan(1.2 * truth);
    const steadyValues = await read(window);
    console.log(
      `steady load: true ${truth.toFixed(2)} req/s; ${window} s windows (timeInterval ${datasourceTimeInterval()} s / ${SCALE}): ${steadyValues.map((v) => v.toFixed(2)).join(' ')}; ` +
        `${oldWindow} s windows (timeInterval = scrape): ${flapping.map((v) => v.toFixed(2)).join(' ')}`,
    );
  });

  it('tokens/s read back: the streamed median is the streams\' decode rate (50 tok/s), single responses apart', { timeout: 120_000 }, async () => {
    // Deterministic streams: 8 chunks of 1 token, 20 ms apart: (8 - 1) / (7 × 0.02 s) = 50 tok/s,
    // in the bucket (32, 64]. Single responses record tokens / whole duration (with the 250 ms
    // before the first token): far slower.
    const { chunkMs, chunks } = loads[0]!.sim;
    expect((chunks - 1) / (((chunks - 1) * chunkMs) / 1000)).toBeCloseTo(50, 6);
    const { window, to } = await steadyTraffic();
    const targets = dashboardTargets().filter((t) => t.expr.includes(`${P.outputTokenRate.name}_bucket`));
    const statTarget = targets.find((t) => t.type === 'stat')!;
    const stat = await prom(dashboardQuery(statTarget.expr, STEADY_SERVICE, window), to);
    const median = Number(stat.data.result[0]?.value[1]);
    expect(median, statTarget.title).toBeGreaterThan(32);
    expect(median, statTarget.title).toBeLessThanOrEqual(64);
    const p50 = targets.find((t) => t.type === 'timeseries' && t.legendFormat.startsWith('p50'))!;
    const lines = (await prom(dashboardQuery(p50.expr, STEADY_SERVICE, window), to)).data.result;
    const byStream = Object.fromEntries(lines.map((r) => [r.metric[L.requestStream], Number(r.value[1])]));
    expect(Object.keys(byStream).sort()).toEqual(['false', 'true']);
    expect(byStream.true).toBeCloseTo(median, 9);
    expect(byStream.false).toBeLessThanOrEqual(32);
  });

  it("cache hit ratio and reasoning share read back per model: the load's fixed parts of input and output, at Grafana's window", { timeout: 120_000 }, async () => {
    // Every chat call that reports usage reads cacheReadTokens of its promptTokens from the cache
    // and reasons for reasoningChunks of its output chunks; both counters of a series move in the
    // same export, so the ratio of their rates is exact at any window. Embeddings: input, no cache.
    const { promptTokens, cacheReadTokens, reasoningChunks, chunks } = loads[0]!.sim;
    const { window, to } = await steadyTraffic();
    const byModel = async (title: string) => {
      const target = dashboardTargets().find((t) => t.title === title)!;
      const lines = (await prom(dashboardQuery(target.expr, STEADY_SERVICE, window), to)).data.result;
      return Object.fromEntries(lines.map((r) => [r.metric[L.requestModel], Number(r.value[1])]));
    };
    const chat = DEMO_MODELS.map((m) => m.name);
    const embedding = DEMO_EMBEDDING_MODELS[0]!.name;
    const cache = await byModel('Cache hit ratio by provider and model');
    expect(Object.keys(cache).sort()).toEqual([...chat, embedding].sort());
    for (const model of chat) expect(cache[model], model).toBeCloseTo(cacheReadTokens / promptTokens, 9);
    expect(cache[embedding]).toBe(0);
    const reasoning = await byModel('Reasoning share by provider and model');
    expect(Object.keys(reasoning).sort()).toEqual([...chat].sort());
    for (const model of chat) expect(reasoning[model], model).toBeCloseTo(reasoningChunks / (reasoningChunks + chunks), 9);
  });

  it('heatmaps read back: the +Inf cell of the duration heatmap is the successful calls per second, at any window', { timeout: 120_000 }, async () => {
    const { firstSeen, window, to } = await steadyTraffic();
    const heatmap = dashboardTargets().find((t) => t.type === 'heatmap' && t.expr.includes(`${DURATION}_bucket`))!;
    const ok = `job="${STEADY_SERVICE}", ${L.outcome}="${OUTCOME.success}"`;
    const value = async (query: string) => Number((await prom(query, to)).data.result[0]?.value[1]);
    for (const windowS of [window / 2, window, to - firstSeen - STEADY_EXPORT_S]) {
      const cells = (await prom(dashboardQuery(heatmap.expr, STEADY_SERVICE, windowS), to)).data.result;
      const inf = Number(cells.find((c) => c.metric.le === '+Inf')?.value[1]);
      // Calls/s: the rate of the histogram's own count, and the successful requests/s (counted at
      // the same moment). increase() would read windowS times more.
      const calls = await value(`sum(rate(${DURATION}_count{${ok}}[${windowS}s]))`);
      const requests = await value(`sum(rate(${REQUESTS}{${ok}}[${windowS}s]))`);
      expect(calls, `${windowS}s`).toBeGreaterThan(1);
      expect(inf, `${windowS}s`).toBeCloseTo(calls, 9);
      expect(Math.abs(inf - requests) / requests, `${windowS}s: ${inf} vs ${requests} requests/s`).toBeLessThan(0.01);
    }
  });

  it('promtool: check config, check rules, test rules', () => {
    const promtool = (...args: string[]) => execFileSync('promtool', args, { cwd: ROOT, encoding: 'utf8', stdio: 'pipe' });
    expect(() => promtool('check', 'config', join(tmp, 'prometheus.yml'))).not.toThrow();
    expect(promtool('check', 'rules', ...RULE_FILES.map((f) => repoPath('prometheus', 'rules', f)))).toMatch(/SUCCESS/);
    const tests = readdirSync(repoPath('prometheus', 'tests')).filter((f) => f.endsWith('.test.yml'));
    expect(tests.length).toBeGreaterThanOrEqual(3);
    expect(() => promtool('test', 'rules', ...tests.map((f) => repoPath('prometheus', 'tests', f)))).not.toThrow();
  });
});
