/**
 * The demo end to end: `npm start` (demo/start.mjs, shortened) and the load generator's
 * deterministic mode against a simulated server started here. Both run as child processes with
 * the register preload resolved through the package's own exports map (needs dist/: `npm test`
 * builds first).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { histogramQuantile } from '../../packages/instrumentation/src/stats/quantiles.js';
import { DEMO_MODELS, DEMO_PROFILE } from '../../demo/profile.mjs';
import { startSimServer, type SimServer } from '../../sim/index.js';

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
// Prometheus text exposition

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parseExposition(text: string): { samples: Sample[]; types: Map<string, string> } {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)/.exec(line);
    if (type) {
      types.set(type[1]!, type[2]!);
      continue;
    }
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return { samples, types };
}

function sum(samples: Sample[], name: string, match: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v))
    .reduce((a, s) => a + s.value, 0);
}

/** Per-bucket counts (OTel shape) of one histogram from its cumulative `_bucket` series, summed over series. */
function buckets(samples: Sample[], name: string, match: Record<string, string> = {}): { boundaries: number[]; counts: number[] } {
  const byLe = new Map<number, number>();
  for (const s of samples) {
    if (s.name !== `${name}_bucket` || !Object.entries(match).every(([k, v]) => s.labels[k] === v)) continue;
    const le = s.labels.le === '+Inf' ? Infinity : Number(s.labels.le);
    byLe.set(le, (byLe.get(le) ?? 0) + s.value);
  }
  const les = [...byLe.keys()].sort((a, b) => a - b);
  const cumulative = les.map((le) => byLe.get(le)!);
  return {
    boundaries: les.filter((le) => le !== Infinity),
    counts: cumulative.map((c, i) => c - (i > 0 ? cumulative[i - 1]! : 0)),
  };
}

async function scrape(port: number): Promise<{ samples: Sample[]; types: Map<string, string> }> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  expect(res.status).toBe(200);
  return parseExposition(await res.text());
}

// ---------------------------------------------------------------------------------------------

describe('npm start (demo/start.mjs, shortened)', () => {
  it('serves /metrics with requests of several models, prints the per-model summary, exits 0 by itself', async () => {
    const promPort = await freePort();
    const demo = run(
      ['demo/start.mjs', '--duration', '8', '--summary', '2', '--sim-port', '0', '--seed', '7', '--no-build'],
      cleanEnv({ OTEL_EXPORTER_PROMETHEUS_PORT: String(promPort) }),
      40_000,
    );
    // The banner says where the metrics are.
    await demo.until((o) => o.includes(`curl localhost:${promPort}/metrics`), 10_000);
    // Two refreshes of the summary (about 4 s of load), then scrape while it runs.
    await demo.until((o) => o.split('per gen_ai.request.model').length - 1 >= 2, 20_000);
    const { samples, types } = await scrape(promPort);

    const modelsWithRequests = CHAT_MODELS.filter(
      (model) => sum(samples, 'inference_requests_total', { gen_ai_request_model: model }) > 0,
    );
    expect(modelsWithRequests.length).toBeGreaterThanOrEqual(2);
    expect(sum(samples, 'inference_requests_total')).toBeGreaterThan(3);
    expect(sum(samples, 'inference_requests_total', { inference_outcome: 'success' })).toBeGreaterThan(0);
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
    expect(sum(samples, 'gen_ai_client_operation_time_to_first_chunk_seconds_count')).toBeGreaterThan(0);

    const result = await demo.done;
    expect(result.code, demo.stderr()).toBe(0);
    expect(result.ms).toBeLessThan(30_000);
    const out = demo.stdout();
    expect(out).toContain('final summary over the whole run');
    expect(out).toMatch(/req\/s\s+err%\s+canc%\s+active\s+TTFT p50 \/ p95/);
    // Per-model lines with numbers: rate, error %, active, TTFT p50 / p95.
    const final = out.slice(out.lastIndexOf('final summary'));
    let linesWithNumbers = 0;
    for (const model of CHAT_MODELS) {
      const line = final.split('\n').find((l) => l.startsWith(model + ' '));
      if (line && /^\S+\s+\d+\.\d\d\s+\d+\.\d\s+\d+\.\d\s+\d+\s+\d+ms \/ \d+ms/.test(line)) linesWithNumbers++;
    }
    expect(linesWithNumbers, final).toBeGreaterThanOrEqual(2);
    // The endpoint stopped with the demo.
    await expect(fetch(`http://127.0.0.1:${promPort}/metrics`)).rejects.toThrow();
  }, 45_000);
});

describe('load generator, deterministic mode (--requests N)', () => {
  const N = 6;
  let sim: SimServer;
  let promPort: number;
  let load: Run;
  let report: any;
  let metrics: { samples: Sample[]; types: Map<string, string> };

  beforeAll(async () => {
    // The demo profile (random latency and errors): the fixed x-sim behaviour must override it.
    sim = await startSimServer({ profile: DEMO_PROFILE, seed: 1 });
    promPort = await freePort();
    load = run(
      ['--import', 'otel-inference/register', 'demo/load.mjs', '--requests', String(N), '--concurrency', '5', '--linger', '30'],
      cleanEnv({
        SIM_BASE_URL: sim.url,
        OTEL_METRICS_EXPORTER: 'prometheus',
        OTEL_EXPORTER_PROMETHEUS_PORT: String(promPort),
        OTEL_INFERENCE_IN_PROCESS_READER: 'true',
        OTEL_INFERENCE_HTTP_METRICS: 'false',
      }),
      40_000,
    );
    await load.until((o) => o.trimEnd().split('\n').at(-1)!.startsWith('{"mode":"deterministic"'), 25_000);
    report = JSON.parse(load.stdout().trimEnd().split('\n').at(-1)!);
    // --linger keeps the endpoint up after the report: the values are final.
    metrics = await scrape(promPort);
  }, 35_000);

  afterAll(async () => {
    if (load && load.child.exitCode === null) load.child.kill('SIGKILL');
    await sim?.close();
  });

  it('prints what it sent and what the client saw', () => {
    expect(report.ok).toBe(true);
    expect(report.requestsPerKind).toBe(N);
    expect(report.sent).toEqual({ stream: N, nonStream: N, abandoned: N, embeddings: N, error: N });
    expect(report.expected).toMatchObject({ success: 3 * N, error: N, cancelled: N });
    expect(report.observed).toEqual({ success: 3 * N, error: N, cancelled: N });
    expect(report.sim).toMatchObject({ ttftMs: 250, chunkMs: 20, chunks: 8, tokensPerChunk: 1 });
    // N = 6 over three chat models: two of each chat kind per model.
    for (const model of CHAT_MODELS) {
      expect(report.sentByModel[model]).toEqual({ stream: 2, nonStream: 2, abandoned: 2, embeddings: 0, error: 2 });
      expect(report.expected.byModel[model]).toEqual({ success: 4, error: 2, cancelled: 2 });
      // What the SDK recorded (in-process reader) is exactly what was planned.
      expect(report.recorded[model]).toEqual({ success: 4, error: 2, cancelled: 2 });
    }
    expect(report.recorded['bge-small-sim']).toEqual({ success: N, error: 0, cancelled: 0 });
    // The sim server saw every request once (no retries).
    const apiCalls = sim.requests.filter((r) => r.method === 'POST');
    expect(apiCalls.length).toBe(5 * N);
  });

  it('/metrics has the exact request counts per model and outcome', () => {
    const { samples } = metrics;
    for (const model of CHAT_MODELS) {
      const m = { gen_ai_request_model: model };
      expect(sum(samples, 'inference_requests_total', { ...m, inference_outcome: 'success' })).toBe(4);
      expect(sum(samples, 'inference_requests_total', { ...m, inference_outcome: 'cancelled' })).toBe(2);
      expect(sum(samples, 'inference_requests_total', { ...m, inference_outcome: 'error', error_type: '500' })).toBe(2);
      expect(sum(samples, 'inference_requests_active', m)).toBe(0);
      // Every call once in the duration histogram, with its outcome.
      expect(sum(samples, 'gen_ai_client_operation_duration_seconds_count', m)).toBe(8);
      expect(sum(samples, 'gen_ai_client_operation_duration_seconds_count', { ...m, inference_outcome: 'success' })).toBe(4);
      // TTFT: every stream that produced output (read to the end or left after 2 chunks).
      expect(sum(samples, 'gen_ai_client_operation_time_to_first_chunk_seconds_count', m)).toBe(4);
      // Per-chunk gaps: 7 per full stream of 8 chunks, 1 per stream left after 2.
      expect(sum(samples, 'gen_ai_client_operation_time_per_output_chunk_seconds_count', m)).toBe(2 * 7 + 2 * 1);
      // Output tokens as reported: 8 per completed chat call (streams asked for usage); none for abandoned.
      expect(sum(samples, 'gen_ai_client_token_usage_sum', { ...m, gen_ai_token_type: 'output' })).toBe(4 * 8);
    }
    const e = { gen_ai_request_model: 'bge-small-sim', gen_ai_operation_name: 'embeddings' };
    expect(sum(samples, 'inference_requests_total', { ...e, inference_outcome: 'success' })).toBe(N);
    expect(sum(samples, 'inference_requests_total', { inference_outcome: 'success' })).toBe(3 * N);
    expect(sum(samples, 'inference_requests_total', { inference_outcome: 'error' })).toBe(N);
    expect(sum(samples, 'inference_requests_total', { inference_outcome: 'cancelled' })).toBe(N);
  });

  it('latencies match the fixed x-sim behaviour, and the summary quantiles equal histogram_quantile over /metrics', () => {
    const { samples } = metrics;
    for (const model of CHAT_MODELS) {
      const m = { gen_ai_request_model: model };
      // ttftMs 250: in the (0.16, 0.32] bucket for nearly every stream.
      const ttft = buckets(samples, 'gen_ai_client_operation_time_to_first_chunk_seconds', m);
      const p50 = histogramQuantile(0.5, ttft.boundaries, ttft.counts);
      expect(p50).toBeGreaterThanOrEqual(0.16);
      expect(p50).toBeLessThanOrEqual(0.32);
      // Successful chat calls take 250 + 7 * 20 = 390 ms: (0.32, 0.64].
      const dur = buckets(samples, 'gen_ai_client_operation_duration_seconds', {
        ...m,
        gen_ai_operation_name: 'chat',
        inference_outcome: 'success',
      });
      const d50 = histogramQuantile(0.5, dur.boundaries, dur.counts);
      expect(d50).toBeGreaterThan(0.32);
      expect(d50).toBeLessThanOrEqual(0.64);
      // Chunks 20 ms apart: the median gap is in (0.01, 0.04].
      const gap = buckets(samples, 'gen_ai_client_operation_time_per_output_chunk_seconds', m);
      const g50 = histogramQuantile(0.5, gap.boundaries, gap.counts);
      expect(g50).toBeGreaterThan(0.01);
      expect(g50).toBeLessThanOrEqual(0.04);

      // The in-process numbers (what the live summary prints) come from the same buckets.
      const q = report.quantiles[model];
      expect(q.ttft.count).toBe(4);
      expect(q.ttft.p50).toBeCloseTo(p50, 9);
      expect(q.ttft.p95).toBeCloseTo(histogramQuantile(0.95, ttft.boundaries, ttft.counts), 9);
      const allSuccess = buckets(samples, 'gen_ai_client_operation_duration_seconds', { ...m, inference_outcome: 'success' });
      expect(q.duration.count).toBe(4); // successful calls only
      expect(q.duration.p50).toBeCloseTo(histogramQuantile(0.5, allSuccess.boundaries, allSuccess.counts), 9);
      expect(q.perChunk.p95).toBeCloseTo(histogramQuantile(0.95, gap.boundaries, gap.counts), 9);
      expect(q.outputTokens).toBe(32);
    }
  });

  it('flushes and exits 0 when told to stop', async () => {
    load.child.kill('SIGTERM');
    const result = await load.done;
    expect(result.code, load.stderr()).toBe(0);
  });
});
