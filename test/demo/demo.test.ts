/**
 * The demo end to end: `npm start` (demo/start.mjs, shortened), and the load generator's
 * deterministic mode through the gateway (demo/gateway.mjs) to two simulated backends
 * (demo/backend.mjs), each started here as its own process, as the e2e test and a deployment do.
 * Every process runs with the register preload resolved through the package's own exports map
 * (needs dist/: `npm test` builds first).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { isDeepStrictEqual } from 'node:util';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InferenceStats, ModelStats, RequestCounts } from '../../packages/instrumentation/src/index.js';
import { histogramQuantile } from '../../packages/instrumentation/src/stats/quantiles.js';
import { DEMO_MODELS } from '../../demo/profile.mjs';
import { bucketsOf, parseExposition, sumOf, type Sample } from '../helpers/exposition.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CHAT_MODELS = DEMO_MODELS.map((m) => m.name);

/** The environment without the test runner's own OTEL_* / NODE_OPTIONS / npm variables. */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('OTEL_') || k.startsWith('VITEST') || k.startsWith('SIM_') || k.startsWith('DEMO_')) continue;
    if (k === 'NODE_OPTIONS' || k.startsWith('npm_')) continue;
    env[k] = v;
  }
  return { ...env, ...extra };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

interface Run {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Resolves once stdout satisfies `test`. */
  until(test: (stdout: string) => boolean, timeoutMs: number): Promise<void>;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>;
}

function run(args: string[], env: NodeJS.ProcessEnv, killAfterMs: number): Run {
  const began = Date.now();
  const child = spawn(process.execPath, args, { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const checks: (() => void)[] = [];
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    out += d;
    for (const c of [...checks]) c();
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>((resolve) =>
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, ms: Date.now() - began });
    }),
  );
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    done,
    until(test, timeoutMs) {
      return new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`timed out; stdout:\n${out}\nstderr:\n${err}`)), timeoutMs);
        const check = () => {
          if (test(out)) {
            clearTimeout(t);
            checks.splice(checks.indexOf(check), 1);
            resolve();
          }
        };
        checks.push(check);
        check();
        void done.then(() => {
          if (!test(out)) {
            clearTimeout(t);
            reject(new Error(`exited first; stdout:\n${out}\nstderr:\n${err}`));
          }
        });
      });
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Prometheus text exposition: the shared parser and sums (test/helpers/exposition.ts)

async function scrape(port: number): Promise<{ samples: Sample[]; types: Map<string, string> }> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  expect(res.status).toBe(200);
  return parseExposition(await res.text());
}

/** The /v1/stats document of a process's embedded endpoint. */
async function stats(port: number): Promise<InferenceStats> {
  const res = await fetch(`http://127.0.0.1:${port}/v1/stats`);
  expect(res.status).toBe(200);
  return (await res.json()) as InferenceStats;
}

// ---------------------------------------------------------------------------------------------

describe('npm start (demo/start.mjs, shortened)', () => {
  it('serves /metrics with requests of several models, prints the per-model summary, exits 0 by itself', async () => {
    const promPort = await freePort();
    const demo = run(
      ['demo/start.mjs', '--duration', '14', '--summary', '2', '--sim-port', '0', '--seed', '7', '--fail-rate', '0.3', '--no-build'],
      cleanEnv({ OTEL_EXPORTER_PROMETHEUS_PORT: String(promPort) }),
      50_000,
    );
    // The banner says where the metrics are: the load's, and the gateway's and backends' beside it.
    await demo.until((o) => o.includes(`curl localhost:${promPort}/metrics`), 20_000);
    const banner = demo.stdout();
    const portOf = (line: string) => Number(new RegExp(`^  ${line}.*curl localhost:(\\d+)/metrics`, 'm').exec(banner)?.[1]);
    const gatewayPort = portOf('gateway');
    const backendPorts = [portOf('backend +primary'), portOf('backend +secondary')];
    expect([gatewayPort, ...backendPorts].every((p) => p > 0), banner).toBe(true);
    // Two refreshes of the summary (about 4 s of load), then scrape while it runs.
    await demo.until((o) => o.split('per gen_ai.request.model').length - 1 >= 2, 20_000);
    const { samples, types } = await scrape(promPort);

    const modelsWithRequests = CHAT_MODELS.filter(
      (model) => sumOf(samples, 'inference_requests_total', { gen_ai_request_model: model }) > 0,
    );
    expect(modelsWithRequests.length).toBeGreaterThanOrEqual(2);
    expect(sumOf(samples, 'inference_requests_total')).toBeGreaterThan(3);
    expect(sumOf(samples, 'inference_requests_total', { inference_outcome: 'success' })).toBeGreaterThan(0);
    // The collector's names and suffixes.
    expect(types.get('inference_requests_total')).toBe('counter');
    expect(types.get('inference_requests_active')).toBe('gauge');
    for (const h of [
      'gen_ai_client_operation_duration_seconds',
      'gen_ai_client_operation_time_to_first_chunk_seconds',
      'gen_ai_client_operation_time_per_output_chunk_seconds',
      'gen_ai_client_token_usage',
      'inference_output_token_rate_per_second',
    ]) {
      expect(types.get(h), h).toBe('histogram');
      for (const suffix of ['_bucket', '_sum', '_count']) {
        expect(samples.some((s) => s.name === h + suffix), h + suffix).toBe(true);
      }
    }
    expect(sumOf(samples, 'gen_ai_client_operation_time_to_first_chunk_seconds_count')).toBeGreaterThan(0);

    // The gateway and the backends, polled while the demo runs: their first requests (the
    // secondary's are slow) end a few seconds in. Each check names what it wants.
    const checks = async (): Promise<string[]> => {
      const gateway = (await scrape(gatewayPort)).samples;
      const [primary, secondary] = await Promise.all(backendPorts.map(async (p) => (await scrape(p)).samples));
      const wanted: Array<[string, number]> = [
        // The gateway forwarded to both backends, and fell back from the failing primary.
        ['gateway: calls to primary that succeeded', sumOf(gateway, 'inference_requests_total', { inference_backend: 'primary', inference_outcome: 'success' })],
        ['gateway: calls to primary answered 503', sumOf(gateway, 'inference_requests_total', { inference_backend: 'primary', inference_outcome: 'error', error_type: '503' })],
        ['gateway: calls to secondary', sumOf(gateway, 'inference_requests_total', { inference_backend: 'secondary' })],
        ['gateway: fallbacks primary → secondary (503)', sumOf(gateway, 'inference_fallbacks_total', { inference_fallback_from: 'primary', inference_fallback_to: 'secondary', inference_fallback_reason: '503' })],
        // Its served side, beside: what the load asked of it.
        ['gateway: served requests that succeeded', sumOf(gateway, 'inference_server_requests_total', { inference_outcome: 'success' })],
        ['gateway: server TTFT', sumOf(gateway, 'gen_ai_server_time_to_first_token_seconds_count')],
      ];
      // Each backend reports what it served through the explicit server API: queue, prefill, decode.
      for (const [name, samples] of [['primary', primary!], ['secondary', secondary!]] as const) {
        wanted.push(
          [`${name}: served requests`, sumOf(samples, 'inference_server_requests_total')],
          [`${name}: server TTFT`, sumOf(samples, 'gen_ai_server_time_to_first_token_seconds_count')],
          [`${name}: queue time`, sumOf(samples, 'inference_server_queue_duration_seconds_count')],
          [`${name}: prefill`, sumOf(samples, 'inference_server_phase_duration_seconds_count', { inference_phase: 'prefill' })],
          [`${name}: decode`, sumOf(samples, 'inference_server_phase_duration_seconds_count', { inference_phase: 'decode' })],
        );
      }
      return wanted.filter(([, n]) => !(n > 0)).map(([what]) => what);
    };
    expect(await settled(checks, (missing) => missing.length === 0, 15_000)).toEqual([]);

    const result = await demo.done;
    expect(result.code, demo.stderr()).toBe(0);
    expect(result.ms).toBeLessThan(45_000);
    const out = demo.stdout();
    expect(out).toContain('final summary over the whole run');
    expect(out).toMatch(/req\/s\s+err%\s+canc%\s+active\s+TTFT p50 \/ p95/);
    // Per-model lines with numbers: rate, error %, active, TTFT p50 / p95.
    const final = out.slice(out.lastIndexOf('final summary'));
    let linesWithNumbers = 0;
    for (const model of CHAT_MODELS) {
      const line = final.split('\n').find((l) => l.startsWith(model + ' '));
      if (line && /^\S+\s+\d+\.\d\d\s+\d+\.\d\s+\d+\.\d\s+\d+\s+\d+(?:ms|\.\d+s) \/ \d+(?:ms|\.\d+s)/.test(line)) linesWithNumbers++;
    }
    expect(linesWithNumbers, final).toBeGreaterThanOrEqual(2);
    // The gateway's part, from its /v1/stats over its whole run: per model, the rate and errors its
    // callers saw with server beside client TTFT; each backend under it; the fallbacks.
    const gatewayPart = final.slice(final.indexOf('the gateway, over its whole run'));
    expect(gatewayPart).toMatch(/^model \/ backend\s+req\/s\s+err%\s+server TTFT p50 \/ p95\s+client TTFT p50 \/ p95$/m);
    const duration = String.raw`\d+(?:ms|\.\d+s)`;
    const modelLine = new RegExp(String.raw`^(\S+)\s+\d+\.\d\d\s+\d+\.\d\s+${duration} \/ ${duration}\s+${duration} \/ ${duration}$`, 'gm');
    const modelsWithBothSides = [...gatewayPart.matchAll(modelLine)].map((m) => m[1]);
    expect(modelsWithBothSides.filter((m) => CHAT_MODELS.includes(m!)).length, gatewayPart).toBeGreaterThanOrEqual(2);
    expect(gatewayPart).toMatch(new RegExp(String.raw`^  primary\s+\d+\.\d\d\s+\d+\.\d\s+${duration} \/ ${duration}$`, 'm'));
    expect(gatewayPart).toMatch(/^fallbacks: \d+\.\d\d\/s \(primary → secondary 503: \d+/m);
    // Every endpoint stopped with the demo.
    for (const port of [promPort, gatewayPort, ...backendPorts]) await expect(fetch(`http://127.0.0.1:${port}/metrics`)).rejects.toThrow();
  }, 60_000);
});

/** Starts a preloaded service (a backend, the gateway) and resolves with its URL once it listens. */
async function service(args: string[], env: NodeJS.ProcessEnv): Promise<{ run: Run; url: string }> {
  const r = run(['--import', 'otel-inference/register', ...args], env, 90_000);
  await r.until((o) => / listening on \S+/.test(o), 20_000);
  return { run: r, url: / listening on (\S+)/.exec(r.stdout())![1]! };
}

/** Polls `read` until `done` holds of its result (the end of a request reaches each hop a little later). */
async function settled<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > until) return value;
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('load generator, deterministic mode (--requests N), through the gateway to two backends, each its own process', () => {
  const N = 6;
  // 16 chunks 20 ms apart: an abandoned stream (left after 2) is cancelled with ~280 ms to spare
  // on every hop; the prefill (ttftMs) is the deterministic mode's 250 ms.
  const CHUNKS = 16;
  const TTFT_S = 0.25;
  // A Node.js timer can fire up to about a millisecond before its delay, measured with performance.now()
  // (libuv starts it from the loop's cached time): the backend's 250 ms prefill may measure 249.x ms.
  const TIMER_SLACK_S = 0.002;
  let ports: { load: number; gateway: number; primary: number; secondary: number };
  let services: Run[] = [];
  let load: Run;
  let report: any;
  let metrics: { samples: Sample[]; types: Map<string, string> };

  beforeAll(async () => {
    ports = { load: await freePort(), gateway: await freePort(), primary: await freePort(), secondary: await freePort() };
    const env = (port: number, extra: Record<string, string> = {}) =>
      cleanEnv({ OTEL_METRICS_EXPORTER: 'prometheus', OTEL_EXPORTER_PROMETHEUS_PORT: String(port), OTEL_NODE_DISABLED_INSTRUMENTATIONS: 'http,undici', ...extra });
    // The backends record their served requests themselves, with the zero-code server side on, as in
    // npm start: it steps aside for them (the exact counts below would show a second record).
    // Their random failures and latency are on too: the fixed x-sim behaviour must override them.
    const backendEnv = (port: number) => env(port);
    const [primary, secondary] = await Promise.all([
      service(['demo/backend.mjs', '--name', 'primary', '--port', '0', '--slots', '16', '--fail-rate', '0.5', '--seed', '1'], backendEnv(ports.primary)),
      service(['demo/backend.mjs', '--name', 'secondary', '--port', '0', '--latency-factor', '2', '--seed', '2'], backendEnv(ports.secondary)),
    ]);
    const gateway = await service(
      ['demo/gateway.mjs', '--port', '0', '--backend', `primary=${primary.url}`, '--backend', `secondary=${secondary.url}`],
      env(ports.gateway),
    );
    services = [primary.run, secondary.run, gateway.run];
    load = run(
      [
        '--import', 'otel-inference/register', 'demo/load.mjs', '--requests', String(N), '--concurrency', '5', '--chunks', String(CHUNKS), '--fail-backend', 'primary', '--linger', '60',
        // The live summary with the gateway's part, as npm start runs it: its final section is checked below.
        '--summary', '1', '--gateway-stats-url', `127.0.0.1:${ports.gateway}/v1/stats`,
      ],
      env(ports.load, { SIM_BASE_URL: gateway.url, OTEL_INFERENCE_IN_PROCESS_READER: 'true' }),
      90_000,
    );
    await load.until((o) => o.trimEnd().split('\n').at(-1)!.startsWith('{"mode":"deterministic"'), 40_000);
    report = JSON.parse(load.stdout().trimEnd().split('\n').at(-1)!);
    // --linger keeps the endpoint up after the report: the values are final.
    metrics = await scrape(ports.load);
  }, 80_000);

  afterAll(async () => {
    for (const r of [load, ...services]) if (r && r.child.exitCode === null) r.child.kill('SIGKILL');
  });

  it('prints what it sent and what the client saw', () => {
    expect(report.ok).toBe(true);
    expect(report.requestsPerKind).toBe(N);
    expect(report.sent).toEqual({ stream: N, nonStream: N, abandoned: N, embeddings: N, error: N, fallback: N });
    expect(report.expected).toMatchObject({ success: 4 * N, error: N, cancelled: N });
    expect(report.observed).toEqual({ success: 4 * N, error: N, cancelled: N });
    expect(report.sim).toMatchObject({ ttftMs: 250, chunkMs: 20, chunks: CHUNKS, tokensPerChunk: 1 });
    // N = 6 over three chat models: two of each chat kind per model.
    for (const model of CHAT_MODELS) {
      expect(report.sentByModel[model]).toEqual({ stream: 2, nonStream: 2, abandoned: 2, embeddings: 0, error: 2, fallback: 2 });
      expect(report.expected.byModel[model]).toEqual({ success: 6, error: 2, cancelled: 2 });
      // What the SDK recorded (in-process reader) is exactly what was planned.
      expect(report.recorded[model]).toEqual({ success: 6, error: 2, cancelled: 2 });
    }
    expect(report.recorded['bge-small-sim']).toEqual({ success: N, error: 0, cancelled: 0 });
  });

  it("/metrics of the load has the exact request counts per model and outcome (the caller's side of the gateway)", () => {
    const { samples } = metrics;
    for (const model of CHAT_MODELS) {
      const m = { gen_ai_request_model: model };
      expect(sumOf(samples, 'inference_requests_total', { ...m, inference_outcome: 'success' })).toBe(6);
      expect(sumOf(samples, 'inference_requests_total', { ...m, inference_outcome: 'cancelled' })).toBe(2);
      // Every backend failed: the gateway answers with the last backend's status.
      expect(sumOf(samples, 'inference_requests_total', { ...m, inference_outcome: 'error', error_type: '500' })).toBe(2);
      expect(sumOf(samples, 'inference_requests_active', m)).toBe(0);
      expect(sumOf(samples, 'gen_ai_client_operation_duration_seconds_count', m)).toBe(10);
      // TTFT: every stream that produced output (stream, fallback, and abandoned after 2 chunks).
      expect(sumOf(samples, 'gen_ai_client_operation_time_to_first_chunk_seconds_count', m)).toBe(6);
      expect(sumOf(samples, 'gen_ai_client_operation_time_per_output_chunk_seconds_count', m)).toBe(4 * (CHUNKS - 1) + 2 * 1);
      // Output tokens as reported: CHUNKS per completed chat call; none for abandoned.
      expect(sumOf(samples, 'gen_ai_client_token_usage_sum', { ...m, gen_ai_token_type: 'output' })).toBe(6 * CHUNKS);
    }
    expect(sumOf(samples, 'inference_requests_total', { gen_ai_request_model: 'bge-small-sim', inference_outcome: 'success' })).toBe(N);
    // The load names no backend: that is the gateway's business.
    expect(samples.some((s) => 'inference_backend' in s.labels)).toBe(false);
  });

  it("the gateway's client side: each backend's calls, and every fallback with from, to and reason", async () => {
    const expected = {
      primary: { success: 3 * N, cancelled: N, error500: N, error503: N },
      secondary: { success: N, cancelled: 0, error500: N, error503: 0 },
    };
    const read = async () => (await scrape(ports.gateway)).samples;
    const counts = (samples: Sample[], backend: string) => {
      const b = { inference_backend: backend };
      return {
        success: sumOf(samples, 'inference_requests_total', { ...b, inference_outcome: 'success' }),
        cancelled: sumOf(samples, 'inference_requests_total', { ...b, inference_outcome: 'cancelled' }),
        error500: sumOf(samples, 'inference_requests_total', { ...b, inference_outcome: 'error', error_type: '500' }),
        error503: sumOf(samples, 'inference_requests_total', { ...b, inference_outcome: 'error', error_type: '503' }),
      };
    };
    const samples = await settled(read, (s) => JSON.stringify(counts(s, 'primary')) === JSON.stringify(expected.primary));
    expect(counts(samples, 'primary')).toEqual(expected.primary);
    expect(counts(samples, 'secondary')).toEqual(expected.secondary);
    expect(sumOf(samples, 'inference_requests_total')).toBe(8 * N);
    const fallbacks = samples.filter((s) => s.name === 'inference_fallbacks_total').map((s) => [s.labels.inference_fallback_from, s.labels.inference_fallback_to, s.labels.inference_fallback_reason, s.value]);
    expect(fallbacks.sort()).toEqual([
      ['primary', 'secondary', '500', N],
      ['primary', 'secondary', '503', N],
    ]);
    expect(sumOf(samples, 'inference_requests_active')).toBe(0);
  });

  it("the gateway's /v1/stats: exact counts on its server side and per backend, the fallbacks, the same numbers as its /metrics", async () => {
    const counts = (success: number, error: number, cancelled: number): RequestCounts => ({ total: success + error + cancelled, success, error, cancelled });
    // Per chat model (2 requests of each kind): the gateway's callers saw the load's outcomes; primary
    // answered stream, nonStream and abandoned, and failed error (500) and fallback (503); secondary
    // failed error (500) again and answered fallback.
    const expected: Record<string, { server: RequestCounts; primary: RequestCounts; secondary?: RequestCounts }> = {
      'bge-small-sim': { server: counts(N, 0, 0), primary: counts(N, 0, 0) },
    };
    for (const model of CHAT_MODELS) expected[model] = { server: counts(6, 2, 2), primary: counts(4, 4, 2), secondary: counts(2, 2, 0) };
    const shape = (doc: InferenceStats) =>
      Object.fromEntries(
        doc.models
          .filter((m) => m.model !== null && m.server !== undefined && m.server.lifetime.requests.total > 0)
          .map((m) => [m.model, { server: m.server!.lifetime.requests, ...Object.fromEntries((m.backends ?? []).map((b) => [b.backend, b.lifetime.requests])) }]),
      );
    const doc = await settled(() => stats(ports.gateway), (d) => isDeepStrictEqual(shape(d), expected));
    expect(shape(doc)).toEqual(expected);
    const byModel = new Map<string | null, ModelStats>(doc.models.map((m) => [m.model, m]));
    for (const m of doc.models) {
      expect(m.server?.active ?? 0, String(m.model)).toBe(0);
      expect(m.client?.active ?? 0, String(m.model)).toBe(0);
    }
    expect([...doc.fallbacks.lifetime].sort((a, b) => String(a.reason).localeCompare(String(b.reason)))).toEqual([
      { from: 'primary', to: 'secondary', reason: '500', count: N },
      { from: 'primary', to: 'secondary', reason: '503', count: N },
    ]);

    // The same collection as /metrics, read after it: equal once nothing moves any more.
    const { samples } = await scrape(ports.gateway);
    for (const model of CHAT_MODELS) {
      const m = byModel.get(model)!;
      const server = bucketsOf(samples, 'gen_ai_server_time_to_first_token_seconds', { gen_ai_request_model: model });
      const serverTtft = m.server!.lifetime.ttft_s;
      // Server TTFT: the successful streams (stream and fallback), each from its arrival at the gateway.
      expect(serverTtft.count, model).toBe(4);
      expect(serverTtft.count).toBe(sumOf(samples, 'gen_ai_server_time_to_first_token_seconds_count', { gen_ai_request_model: model }));
      expect(serverTtft.p50).toBeCloseTo(histogramQuantile(0.5, server.boundaries, server.counts), 9);
      // Client TTFT, per backend: primary's streams that produced output (stream and abandoned), secondary's fallback streams.
      const [primary, secondary] = m.backends!;
      expect([primary!.backend, primary!.lifetime.ttft_s.count, secondary!.backend, secondary!.lifetime.ttft_s.count], model).toEqual(['primary', 4, 'secondary', 2]);
      const client = bucketsOf(samples, 'gen_ai_client_operation_time_to_first_chunk_seconds', { gen_ai_request_model: model, inference_backend: 'primary' });
      expect(primary!.lifetime.ttft_s.p95).toBeCloseTo(histogramQuantile(0.95, client.boundaries, client.counts), 9);
      // Every server TTFT includes the 250 ms prefill; the gateway's own time comes on top of the
      // client's. Compared by their means, which are exact: a p50 is interpolated inside a bucket,
      // and the server and client TTFT histograms have different buckets (0.25, 0.5 against 0.16,
      // 0.32, 0.64), so the server p50 of the same requests can come out below the client p50.
      const serverMean = serverTtft.sum / serverTtft.count;
      const clientTtft = m.client!.lifetime.ttft_s;
      expect(serverMean, model).toBeGreaterThanOrEqual(TTFT_S - TIMER_SLACK_S);
      expect(serverMean, model).toBeGreaterThanOrEqual(clientTtft.sum / clientTtft.count - 0.005);
    }
  });

  it("the load's final summary shows the gateway's part, from the gateway's /v1/stats", () => {
    const out = load.stdout();
    const part = out.slice(out.lastIndexOf('the gateway, over its whole run'));
    expect(part, out).toMatch(/^model \/ backend\s+req\/s\s+err%\s+server TTFT p50 \/ p95\s+client TTFT p50 \/ p95$/m);
    // Times in ms, or in s on a machine busy enough to push a p95 past one second.
    const time = String.raw`(?:\d+ms|\d+\.\d+s)`;
    for (const model of CHAT_MODELS) expect(part, part).toMatch(new RegExp(String.raw`^${model.replace(/\./g, '\\.')}\s+\d+\.\d\d\s+\d+\.\d\s+${time} \/ ${time}\s+${time} \/ ${time}$`, 'm'));
    expect(part).toMatch(new RegExp(String.raw`^  secondary\s+\d+\.\d\d\s+50\.0\s+${time} \/ ${time}$`, 'm'));
    // Fallbacks are recorded before the next backend is called: final when the load has its answers.
    expect(part).toMatch(new RegExp(String.raw`^fallbacks: \d+\.\d\d/s \(primary → secondary 50[03]: ${N}, primary → secondary 50[03]: ${N}\)$`, 'm'));
  });

  it("each backend's server side: what it served, by outcome, through queue, prefill and decode; TTFT above the prefill", async () => {
    const served = (samples: Sample[]) => ({
      success: sumOf(samples, 'inference_server_requests_total', { inference_outcome: 'success' }),
      cancelled: sumOf(samples, 'inference_server_requests_total', { inference_outcome: 'cancelled' }),
      error500: sumOf(samples, 'inference_server_requests_total', { inference_outcome: 'error', error_type: '500' }),
      error503: sumOf(samples, 'inference_server_requests_total', { inference_outcome: 'error', error_type: '503' }),
    });
    const expected = { primary: { success: 3 * N, cancelled: N, error500: N, error503: N }, secondary: { success: N, cancelled: 0, error500: N, error503: 0 } };
    for (const backend of ['primary', 'secondary'] as const) {
      const read = async () => (await scrape(ports[backend])).samples;
      const samples = await settled(read, (s) => JSON.stringify(served(s)) === JSON.stringify(expected[backend]));
      expect(served(samples), backend).toEqual(expected[backend]);
      // Each one recorded by the backend itself (its provider name): the zero-code side stepped aside every time.
      expect(sumOf(samples, 'inference_server_requests_total', { gen_ai_provider_name: 'otel_inference_demo' }), backend).toBe(sumOf(samples, 'inference_server_requests_total'));
      expect(sumOf(samples, 'inference_server_requests_active'), backend).toBe(0);
      expect(sumOf(samples, 'inference_server_requests_waiting'), backend).toBe(0);
      // Every request queued and was admitted; each chat one had a prefill, each one that got that far a decode.
      const all = Object.values(expected[backend]).reduce((a, b) => a + b, 0);
      expect(sumOf(samples, 'inference_server_queue_duration_seconds_count'), backend).toBe(all);
      const chatStarted = backend === 'primary' ? 2 * N + N : N; // stream, nonStream, abandoned / fallback
      expect(sumOf(samples, 'inference_server_phase_duration_seconds_count', { inference_phase: 'prefill' }), backend).toBe(chatStarted);
      expect(sumOf(samples, 'inference_server_phase_duration_seconds_count', { inference_phase: 'decode' }), backend).toBe(chatStarted);
      // TTFT from arrival to the first token, successful chat requests: at least the 250 ms prefill.
      const ttft = bucketsOf(samples, 'gen_ai_server_time_to_first_token_seconds', { gen_ai_operation_name: 'chat' });
      const count = ttft.counts.reduce((a, b) => a + b, 0);
      expect(count, backend).toBe(backend === 'primary' ? 2 * N : N);
      // The bucket (0.1, 0.25] holds what a timer fired a hair early gives (TIMER_SLACK_S): none below it.
      const below = ttft.counts.slice(0, ttft.boundaries.findIndex((b) => b >= TTFT_S)).reduce((a, b) => a + b, 0);
      expect(below, backend).toBe(0);
      expect(sumOf(samples, 'gen_ai_server_time_to_first_token_seconds_sum', { gen_ai_operation_name: 'chat' }) / count, backend).toBeGreaterThanOrEqual(TTFT_S - TIMER_SLACK_S);
    }
  });

  it('latencies match the fixed x-sim behaviour, and the summary quantiles equal histogram_quantile over /metrics', () => {
    const { samples } = metrics;
    for (const model of CHAT_MODELS) {
      const m = { gen_ai_request_model: model };
      // ttftMs 250 plus two hops: at least the prefill on average, and a p50 in the (0.16, 0.32]
      // bucket, or in the next one on a machine so busy that the two hops add more than 70 ms.
      const ttft = bucketsOf(samples, 'gen_ai_client_operation_time_to_first_chunk_seconds', m);
      const p50 = histogramQuantile(0.5, ttft.boundaries, ttft.counts);
      expect(sumOf(samples, 'gen_ai_client_operation_time_to_first_chunk_seconds_sum', m) / 6, model).toBeGreaterThanOrEqual(TTFT_S - TIMER_SLACK_S);
      expect(p50).toBeGreaterThanOrEqual(0.16);
      expect(p50).toBeLessThanOrEqual(0.64);
      // Chunks 20 ms apart: the median gap is in (0.01, 0.04].
      const gap = bucketsOf(samples, 'gen_ai_client_operation_time_per_output_chunk_seconds', m);
      const g50 = histogramQuantile(0.5, gap.boundaries, gap.counts);
      expect(g50).toBeGreaterThan(0.01);
      expect(g50).toBeLessThanOrEqual(0.04);

      // The in-process numbers (what the live summary prints) come from the same buckets.
      const q = report.quantiles[model];
      expect(q.ttft.count).toBe(6);
      expect(q.ttft.p50).toBeCloseTo(p50, 9);
      expect(q.ttft.p95).toBeCloseTo(histogramQuantile(0.95, ttft.boundaries, ttft.counts), 9);
      const allSuccess = bucketsOf(samples, 'gen_ai_client_operation_duration_seconds', { ...m, inference_outcome: 'success' });
      expect(q.duration.count).toBe(6); // successful calls only
      expect(q.duration.p50).toBeCloseTo(histogramQuantile(0.5, allSuccess.boundaries, allSuccess.counts), 9);
      expect(q.perChunk.p95).toBeCloseTo(histogramQuantile(0.95, gap.boundaries, gap.counts), 9);
      expect(q.outputTokens).toBe(6 * CHUNKS);
    }
  });

  it('the load flushes and exits 0 when told to stop, and so do the gateway and the backends', async () => {
    for (const r of [load, ...services]) r.child.kill('SIGTERM');
    for (const r of [load, ...services]) expect((await r.done).code, r.stderr()).toBe(0);
  });
});
