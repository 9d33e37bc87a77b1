// The gateway scenario of `npm run bench`: a node:http gateway (bench/gateway-worker.mjs) proxies
// streamed chat completions of 20 output chunks from the local simulated backend. The same gateway
// runs four ways, each in a process of its own, all at once:
//
//   bare          uninstrumented
//   otel-inference       `--import otel-inference/register`: the gateway's served requests
//                        (server side), its upstream calls (openai client side), and the HTTP
//                        metrics of instrumentation-http and -undici, with zero code
//   otel-inference core  the same without the HTTP metrics (OTEL_NODE_DISABLED_INSTRUMENTATIONS)
//   prom-client          the same counts and histograms, both sides, recorded by hand with prom-client
//
// Each round sends the same load to every gateway in turn and charges the CPU time the gateway
// process used (process.cpuUsage, read over GET /cpu) to the requests of that round: the backend
// and the load generator run in this process and are not counted. Medians over the rounds.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { startSimServer } from '../sim/dist/index.js';
import { median } from './lib.mjs';

const CHUNKS = 20;
/** The budget: added CPU per proxied request at 20 chunks, in µs. */
const TARGET_ADDED_US = 100;

const worker = fileURLToPath(new URL('./gateway-worker.mjs', import.meta.url));
const MODES = {
  bare: { args: [], env: {} },
  'otel-inference': { args: ['--import', 'otel-inference/register'], env: {} },
  'otel-inference core': { args: ['--import', 'otel-inference/register'], env: { OTEL_NODE_DISABLED_INSTRUMENTATIONS: 'http,undici' } },
  'prom-client': { args: [], env: {}, mode: 'prom-client' },
};

async function startGateway(name, backendURL) {
  const spec = MODES[name];
  const child = spawn(process.execPath, [...spec.args, worker, spec.mode ?? name, backendURL], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: {
      ...process.env,
      OTEL_SERVICE_NAME: 'bench-gateway',
      OTEL_METRICS_EXPORTER: 'prometheus',
      OTEL_EXPORTER_PROMETHEUS_HOST: '127.0.0.1',
      OTEL_EXPORTER_PROMETHEUS_PORT: '0',
      OTEL_TRACES_EXPORTER: 'none',
      OTEL_LOGS_EXPORTER: 'none',
      ...spec.env,
    },
  });
  const [line] = await once(child.stdout, 'data');
  return { name, child, url: `http://127.0.0.1:${String(line).trim()}` };
}

async function cpuOf(gateway) {
  const response = await fetch(`${gateway.url}/cpu`);
  return (await response.json()).cpuUs;
}

const body = JSON.stringify({ model: 'llama-3.1-8b', messages: [{ role: 'user', content: 'hi' }] });

/** `n` streamed requests through `gateway`, `concurrency` at a time, each read to its end. */
async function load(gateway, n, concurrency) {
  let next = 0;
  const one = async () => {
    while (next++ < n) {
      const response = await fetch(`${gateway.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
      const text = await response.text();
      if (response.status !== 200 || !text.endsWith('data: [DONE]\n\n')) throw new Error(`${gateway.name}: ${response.status} ${text.slice(0, 200)}`);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, one));
}

/** Runs the scenario and prints its table and verdict; returns the medians (µs per request). */
export async function gatewayBench({ quick = false, log = console.log } = {}) {
  const backend = await startSimServer({ chunks: CHUNKS, ttftMs: 0, chunkMs: 0, recordRequests: false });
  const gateways = [];
  try {
    for (const name of Object.keys(MODES)) gateways.push(await startGateway(name, backend.url));
    const perRound = quick ? 200 : 400;
    const rounds = quick ? 5 : 15;
    const concurrency = 8;
    // The JIT of gateway, client and backend settles over the first couple of thousand requests.
    for (const gateway of gateways) await load(gateway, quick ? 500 : 3000, concurrency);
    const samples = Object.fromEntries(gateways.map((g) => [g.name, []]));
    for (let round = 0; round < rounds; round++) {
      // A different order each round, so that no gateway always follows the same one.
      const order = gateways.map((g, i) => gateways[(i + round) % gateways.length]);
      for (const gateway of order) {
        const before = await cpuOf(gateway);
        await load(gateway, perRound, concurrency);
        samples[gateway.name].push(((await cpuOf(gateway)) - before) / perRound);
      }
    }
    // Each mode against bare of the same round: load that comes and goes on a shared machine
    // moves both sides of a pair alike.
    const addedOf = (name) => samples[name].map((value, round) => value - samples.bare[round]);
    const us = Object.fromEntries(Object.entries(samples).map(([name, s]) => [name, median(s)]));
    const added = Object.fromEntries(Object.keys(samples).map((name) => [name, addedOf(name)]));
    const bare = us.bare;
    const quartiles = (values) => {
      const sorted = [...values].sort((a, b) => a - b);
      const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
      return `${median(values).toFixed(1)} µs [${at(0.25).toFixed(1)}–${at(0.75).toFixed(1)}]`;
    };
    log(`\nGateway: CPU of the gateway process per proxied streamed request (${CHUNKS} chunks), ${rounds} rounds of ${perRound}, ${concurrency} at a time`);
    log('| gateway | CPU per request (median) | per chunk | added over bare, paired by round: median [p25–p75] | ratio to bare |');
    log('|---|---|---|---|---|');
    for (const [name, value] of Object.entries(us)) {
      log(`| ${name} | ${value.toFixed(1)} µs | ${(value / CHUNKS).toFixed(2)} µs | ${name === 'bare' ? '' : quartiles(added[name])} | ${(value / bare).toFixed(3)} |`);
    }
    const ours = median(added['otel-inference']);
    const theirs = median(added['prom-client']);
    log(`  target: otel-inference (client + server side + HTTP metrics) adds < ${TARGET_ADDED_US} µs of CPU per request at ${CHUNKS} chunks: ${ours.toFixed(1)} µs, ${ours < TARGET_ADDED_US ? 'met' : 'MISSED'}`);
    log(`  prom-client by hand adds ${theirs.toFixed(1)} µs; otel-inference without the HTTP metrics ${median(added['otel-inference core']).toFixed(1)} µs`);
    return { us, added: Object.fromEntries(Object.entries(added).map(([k, v]) => [k, median(v)])), target: TARGET_ADDED_US };
  } finally {
    for (const { child } of gateways) child.kill('SIGTERM');
    await backend.close();
  }
}

const invokedDirectly = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1];
if (invokedDirectly) await gatewayBench({ quick: process.argv.includes('--quick') });
