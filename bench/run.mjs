// npm run bench: the wrappers' own overhead beside the SDK's record calls, the real openai
// client instrumented vs uninstrumented vs @opentelemetry/instrumentation-openai, and heap
// over 1M wrapped calls. Every ratio is measured side by side in this one run.
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import * as metricsApi from '@opentelemetry/api';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { createInferenceMetrics, METRIC, DURATION_BUCKETS, TOKEN_BUCKETS } from '../packages/instrumentation/dist/index.js';
import { startSimServer } from '../sim/dist/index.js';
import { compare, fmt, median, verdict } from './lib.mjs';

if (typeof globalThis.gc !== 'function') throw new Error('run with node --expose-gc (npm run bench does)');
const quick = process.argv.includes('--quick');

class Reader extends MetricReader {
  async onShutdown() {}
  async onForceFlush() {}
}
function provider() {
  return new MeterProvider({ readers: [new Reader()] });
}

const request = { provider: 'vllm', model: 'llama-3.1-8b', serverAddress: '127.0.0.1', serverPort: 8000 };
const attrs = {
  'gen_ai.operation.name': 'chat',
  'gen_ai.provider.name': 'vllm',
  'gen_ai.request.model': 'llama-3.1-8b',
  'server.address': '127.0.0.1',
  'server.port': 8000,
  'gen_ai.request.stream': false,
};
const response = { model: 'llama-3.1-8b', usage: { prompt_tokens: 20, completion_tokens: 50 } };

/** The record calls the library makes for one call, on a provider of their own. */
function sdkRecords(meterProvider) {
  const meter = meterProvider.getMeter('bench');
  const h = (name, boundaries) => meter.createHistogram(name, { advice: { explicitBucketBoundaries: [...boundaries] } });
  const duration = h(METRIC.operationDuration, DURATION_BUCKETS);
  const tokens = h(METRIC.tokenUsage, TOKEN_BUCKETS);
  const rate = h(METRIC.outputTokenRate, TOKEN_BUCKETS);
  const gap = h(METRIC.timePerOutputChunk, DURATION_BUCKETS);
  const ttfc = h(METRIC.timeToFirstChunk, DURATION_BUCKETS);
  const requests = meter.createCounter(METRIC.requests);
  const active = meter.createUpDownCounter(METRIC.activeRequests);
  const done = { ...attrs, 'gen_ai.response.model': 'llama-3.1-8b' };
  const withOutcome = { ...done, 'inference.outcome': 'success' };
  const input = { ...done, 'gen_ai.token.type': 'input' };
  const output = { ...done, 'gen_ai.token.type': 'output' };
  return {
    call() {
      active.add(1, attrs);
      active.add(-1, attrs);
      requests.add(1, withOutcome);
      duration.record(0.5, withOutcome);
      tokens.record(20, input);
      tokens.record(50, output);
      rate.record(100, done);
    },
    streamRequest() {
      this.call();
      ttfc.record(0.1, done);
    },
    chunk() {
      gap.record(0.02, done);
    },
  };
}

async function wrapperOverhead() {
  const records = sdkRecords(provider());
  // The wrappers' own cost: the same code with record calls that do nothing.
  const noopMeter = metricsApi.createNoopMeter();
  const noop = createInferenceMetrics({ meterProvider: { getMeter: () => noopMeter } });
  const fn = () => response;
  const ops = quick ? 50_000 : 500_000;
  const call = await compare(
    {
      'direct call': (n) => {
        for (let i = 0; i < n; i++) fn();
      },
      'instrumentCall, no-op SDK': (n) => {
        for (let i = 0; i < n; i++) noop.instrumentCall(request, fn);
      },
      "the SDK's records for a call": (n) => {
        for (let i = 0; i < n; i++) records.call();
      },
    },
    { ops },
  );
  const callOverhead = call['instrumentCall, no-op SDK'] - call['direct call'];

  const CHUNKS = 1000;
  const chunk = { model: 'llama-3.1-8b', choices: [{ index: 0, delta: { content: 'tok' }, finish_reason: null }] };
  const source = () => {
    let i = 0;
    return {
      [Symbol.asyncIterator]() {
        return this;
      },
      next() {
        return Promise.resolve(i++ < CHUNKS ? { done: false, value: chunk } : { done: true, value: undefined });
      },
    };
  };
  const streams = quick ? 50 : 500;
  const stream = await compare(
    {
      'raw stream': async (n) => {
        for (let s = 0; s < n / CHUNKS; s++) for await (const _ of source());
      },
      'instrumentStream, no-op SDK': async (n) => {
        for (let s = 0; s < n / CHUNKS; s++) for await (const _ of noop.instrumentStream(request, source()));
      },
      "the SDK's record for a chunk": async (n) => {
        for (let i = 0; i < n; i++) records.chunk();
      },
    },
    { ops: streams * CHUNKS },
  );
  const chunkOverhead = stream['instrumentStream, no-op SDK'] - stream['raw stream'];
  return { call, callOverhead, stream, chunkOverhead };
}

function heapOverMillionCalls() {
  const metrics = createInferenceMetrics({ meterProvider: provider() });
  const fn = () => response;
  const total = quick ? 200_000 : 1_000_000;
  const marks = [];
  for (let done = 0; done < total; ) {
    for (let i = 0; i < total / 4; i++) metrics.instrumentCall(request, fn);
    done += total / 4;
    globalThis.gc();
    marks.push({ calls: done, heapMB: process.memoryUsage().heapUsed / 2 ** 20 });
  }
  return marks;
}

/** Runs the e2e worker in a child process and returns its per-call µs. */
function worker(mode, baseURL, { calls, warmup, stream, sim }) {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [fileURLToPath(new URL('./e2e-worker.cjs', import.meta.url)), mode, baseURL, String(calls), stream ? 'stream' : 'call', String(warmup), JSON.stringify(sim)],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`worker ${mode} exited ${code}`))));
  });
}

const MODES = ['uninstrumented', 'otel-inference', 'otel-inference-noop-sdk', 'instrumentation-openai'];

/**
 * Each round runs the three modes back to back in fresh processes; a mode's ratio is taken
 * within its round (so drift between rounds cancels) and summarised as median [min–max].
 */
async function endToEnd() {
  const server = await startSimServer({ port: 0, recordRequests: false });
  const scenarios = [
    { name: 'non-streaming, zero-latency server', stream: false, sim: { chunks: 20 }, calls: quick ? 200 : 1000, warmup: quick ? 500 : 2000, rounds: quick ? 3 : 7 },
    { name: 'stream of 20 chunks, zero-latency server', stream: true, sim: { chunks: 20 }, calls: quick ? 200 : 1000, warmup: quick ? 500 : 2000, rounds: quick ? 3 : 7 },
    { name: 'stream of 20 chunks, model-like latency (TTFT 20 ms, 2 ms/chunk)', stream: true, sim: { chunks: 20, ttftMs: 20, chunkMs: 2 }, calls: quick ? 10 : 40, warmup: quick ? 500 : 2000, rounds: 3 },
  ];
  const results = [];
  try {
    for (const scenario of scenarios) {
      const us = Object.fromEntries(MODES.map((m) => [m, []]));
      const cpu = Object.fromEntries(MODES.map((m) => [m, []]));
      const ratios = Object.fromEntries(MODES.map((m) => [m, []]));
      for (let r = 0; r < scenario.rounds; r++) {
        const round = {};
        for (const mode of MODES) round[mode] = await worker(mode, server.url, scenario);
        for (const mode of MODES) {
          us[mode].push(round[mode].usPerCall);
          cpu[mode].push(round[mode].cpuUsPerCall);
          ratios[mode].push(round[mode].usPerCall / round.uninstrumented.usPerCall);
        }
      }
      results.push({ scenario, us, cpu, ratios });
    }
  } finally {
    await server.close();
  }
  return results;
}

/** The cost of one performance.now() on this machine: one is needed per output chunk. */
function clockCost() {
  const n = 2_000_000;
  let sink = 0;
  const start = performance.now();
  for (let i = 0; i < n; i++) sink += performance.now();
  return sink > 0 ? ((performance.now() - start) * 1e6) / n : 0;
}

const { call, callOverhead, stream, chunkOverhead } = await wrapperOverhead();
console.log('\n## Wrapper overhead (median of interleaved rounds)');
for (const [name, ns] of Object.entries(call)) console.log(`  ${name.padEnd(32)} ${fmt(ns)} / call`);
console.log(`  => call wrapper's own cost: ${fmt(callOverhead)} / call  (target ≤ 2 µs: ${verdict(callOverhead <= 2000)})`);
for (const [name, ns] of Object.entries(stream)) console.log(`  ${name.padEnd(32)} ${fmt(ns)} / chunk`);
console.log(`  => stream wrapper's own cost: ${fmt(chunkOverhead)} / chunk  (target ≤ 50 ns: ${verdict(chunkOverhead <= 50)}; one clock read here costs ${fmt(clockCost())})`);

const marks = heapOverMillionCalls();
console.log(`\n## Heap over ${marks.at(-1).calls.toLocaleString('en')} wrapped calls (after GC)`);
for (const m of marks) console.log(`  after ${m.calls.toLocaleString('en').padStart(9)} calls: ${m.heapMB.toFixed(2)} MB`);
const growth = marks.at(-1).heapMB - marks[0].heapMB;
console.log(`  growth after the first quarter: ${growth.toFixed(2)} MB  (flat: ${verdict(growth < 1)})`);

const e2e = await endToEnd();
console.log('\n## Real openai client against the local server (per call; ratio to uninstrumented within each round: median [min–max])');
for (const { scenario, us, cpu, ratios } of e2e) {
  console.log(`  ${scenario.name} (${scenario.rounds} rounds of ${scenario.calls} calls):`);
  const baseCpu = median(cpu.uninstrumented);
  for (const mode of MODES) {
    const r = ratios[mode];
    const target = mode === 'otel-inference' ? `  (target ≤ 1.03×: ${verdict(median(r) <= 1.03)})` : '';
    const extraCpu = median(cpu[mode]) - baseCpu;
    console.log(
      `    ${mode.padEnd(24)} ${median(us[mode]).toFixed(1).padStart(9)} µs  ${median(r).toFixed(3)}× [${Math.min(...r).toFixed(3)}–${Math.max(...r).toFixed(3)}]` +
        `  client CPU ${median(cpu[mode]).toFixed(1)} µs/call (${extraCpu >= 0 ? '+' : ''}${extraCpu.toFixed(1)})${target}`,
    );
  }
}
