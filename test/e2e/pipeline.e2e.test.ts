/**
 * The whole pipeline with real processes: two demo load processes (real openai client, preloaded
 * with otel-inference/register) and the demo server → OTLP → the collector built with ocb →
 * Prometheus (Debian's) → every dashboard query and every rule, through Prometheus' HTTP API.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HTTP_METRIC, INFERENCE_SERIES, PROMETHEUS_LABEL as L, PROMETHEUS_METRIC as P } from '../../grafana/names.js';
import { METER_NAME } from '../../packages/instrumentation/src/semconv.js';
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
  sim: { ttftMs: number };
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

  async function prom(query: string): Promise<{ status: string; data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> }; error?: string }> {
    const res = await fetch(`http://127.0.0.1:${ports.prometheus}/api/v1/query?query=${encodeURIComponent(query)}`);
    return (await res.json()) as never;
  }

  beforeAll(async () => {
    let bin = collectorBinaryPath();
    if (!existsSync(bin)) {
      bin = execFileSync('bash', [repoPath('scripts/build-collector.sh')], { cwd: ROOT, encoding: 'utf8' }).trim().split('\n').pop()!;
    }
    for (const name of ['otlpHttp', 'otlpGrpc', 'exporter', 'telemetry', 'health', 'prometheus', 'sim', 'embedded']) ports[name] = await freePort();

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

    // The repo's prometheus.yml, targets rewritten to loopback and a 1 s scrape interval.
    const config = read('prometheus', 'prometheus.yml')
      .replace('otel-collector:8889', `127.0.0.1:${ports.exporter}`)
      .replace('otel-collector:8888', `127.0.0.1:${ports.telemetry}`)
      .replace(/scrape_interval: \S+/, 'scrape_interval: 1s')
      .replace(/evaluation_interval: \S+/, 'evaluation_interval: 1s');
    writeFileSync(join(tmp, 'prometheus.yml'), config);
    cpSync(repoPath('prometheus', 'rules'), join(tmp, 'rules'), { recursive: true });
    // The rule groups' own intervals (30 s) shortened alike, so recorded series exist in seconds.
    for (const file of ['inference-recording.yml', 'inference-alerts.yml']) {
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
    const codes = await Promise.all([...runs, grpc].map((r) => r.exited));
    for (const [i, r] of [...runs, grpc].entries()) expect(codes[i], r.output()).toBe(0);
    loads = runs.map((r) => JSON.parse(r.output().trim().split('\n').filter((l) => l.startsWith('{')).pop()!) as LoadSummary);
    await embedded.waitFor('"mode":"deterministic"');
    embeddedMetrics = parseExposition(await (await fetch(`http://127.0.0.1:${ports.embedded}/metrics`)).text());
    await embedded.stop();
    await sim.stop();

    const expectedTotal = loads.reduce((n, l) => n + l.expected.success + l.expected.error + l.expected.cancelled, 0);
    collectorMetrics = await eventually('both processes in the collector', async () => {
      const samples = parseExposition(await (await fetch(`http://127.0.0.1:${ports.exporter}/metrics`)).text());
      const arrived = sum(samples, REQUESTS, { job: LOAD_SERVICE }) === expectedTotal && sum(samples, REQUESTS, { job: GRPC_SERVICE }) === 5;
      return arrived ? samples : undefined;
    });
    await eventually('Prometheus to scrape the final counts', async () => {
      const r = await prom(`sum(${REQUESTS}{job="${LOAD_SERVICE}"})`);
      return Number(r.data.result[0]?.value[1]) === expectedTotal ? true : undefined;
    });
    // rate() needs two samples in its window; wait for a few scrapes of every series.
    await eventually('three scrapes of every series', async () => {
      const r = await prom(`min(count_over_time(${REQUESTS}{job="${LOAD_SERVICE}"}[1m])) >= 3 and min(count_over_time(${HTTP_METRIC.serverDuration.name}_count[1m])) >= 3`);
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
    expect([...ours].sort()).toEqual([...INFERENCE_SERIES].sort());
    expect(collectorMetrics.some((s) => s.name.endsWith('_total_total'))).toBe(false);
    for (const m of Object.values(HTTP_METRIC)) {
      expect(m.series.every((name) => collectorMetrics.some((s) => s.name === name)), m.name).toBe(true);
    }
  });

  it('the embedded /metrics endpoint uses the same names and labels as the collector path', () => {
    const names = (samples: Sample[]) => [...new Set(samples.filter((x) => x.labels.otel_scope_name === METER_NAME).map((x) => x.name))].sort();
    expect(names(embeddedMetrics)).toEqual(names(collectorMetrics));
    // An empty label value is no label in Prometheus (the collector writes otel_scope_schema_url="").
    const labelKeys = (samples: Sample[]) =>
      [...new Set(samples.filter((x) => x.name === REQUESTS).flatMap((x) => Object.keys(x.labels).filter((k) => x.labels[k] !== '')))]
        .filter((k) => !['job', 'instance', 'service_version', 'deployment_environment_name'].includes(k))
        .sort();
    expect(labelKeys(embeddedMetrics)).toEqual(labelKeys(collectorMetrics));
    expect(sum(embeddedMetrics, REQUESTS)).toBe(10);
  });

  it('labels: job and one instance per process, the attribute labels, no resource flood', () => {
    const all = collectorMetrics.filter((s) => s.name === REQUESTS);
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
    expect(sum(collectorMetrics, ACTIVE)).toBe(0);
    // Every call has one duration, whatever its outcome.
    expect(sum(collectorMetrics, `${DURATION}_count`, load)).toBe(10 * REQUESTS_PER_KIND);
  });

  it('OTLP/gRPC export reaches the collector too, with the same counts', () => {
    const grpc = { job: GRPC_SERVICE };
    expect(sum(collectorMetrics, REQUESTS, { ...grpc, [L.outcome]: 'success' })).toBe(3);
    expect(sum(collectorMetrics, REQUESTS, { ...grpc, [L.outcome]: 'error' })).toBe(1);
    expect(sum(collectorMetrics, REQUESTS, { ...grpc, [L.outcome]: 'cancelled' })).toBe(1);
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
      if (r.data.result.length === 0) empty.push(`${title}: ${query}`);
    }
    expect(empty).toEqual([]);
  });

  it('every recording rule returns data and every alert expression parses and watches live series', async () => {
    const rules = ['inference-recording.yml', 'inference-alerts.yml'].flatMap((file) =>
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

  it('promtool: check config, check rules, test rules', () => {
    const promtool = (...args: string[]) => execFileSync('promtool', args, { cwd: ROOT, encoding: 'utf8', stdio: 'pipe' });
    expect(() => promtool('check', 'config', join(tmp, 'prometheus.yml'))).not.toThrow();
    expect(promtool('check', 'rules', ...['inference-recording.yml', 'inference-alerts.yml'].map((f) => repoPath('prometheus', 'rules', f)))).toMatch(/SUCCESS/);
    expect(() => promtool('test', 'rules', repoPath('prometheus', 'tests', 'inference-alerts.test.yml'), repoPath('prometheus', 'tests', 'inference-recording.test.yml'))).not.toThrow();
  });
});
