// The gateway scenario of `npm run bench`: a node:http gateway (bench/gateway-worker.mjs) proxies
// streamed chat completions of 20 output chunks from the local simulated backend with the real
// openai client, as an inference gateway does. One gateway process runs three ways, switched
// between rounds:
//
//   bare             uninstrumented
//   otel-inference   what otel-inference/register sets up for a gateway: its served requests
//                    (the zero-code server side) and its upstream calls (the openai client side,
//                    through the aggregator), recorded with zero code
//   prom-client      the same counts and histograms, both sides, recorded by hand with prom-client
//
// Each round sends the same load through the gateway in each mode in turn (the order rotates) and
// charges the CPU time the gateway process used (process.cpuUsage, read over GET /cpu) to the
// requests of that round: the backend and the load generator run in this process and are not
// counted. One process for every mode: separate processes differ by more (JIT, heap, placement)
// than the cost measured. Medians over the rounds, each mode paired with bare of the same round.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { startSimServer } from '../sim/dist/index.js';
import { median } from './lib.mjs';

const CHUNKS = 20;
/** The issue's budget: added CPU per proxied request at 20 chunks, in µs. */
const TARGET_ADDED_US = 100;
const MODES = ['bare', 'otel-inference', 'prom-client'];

const worker = fileURLToPath(new URL('./gateway-worker.mjs', import.meta.url));

async function startGateway(backendURL) {
  const child = spawn(process.execPath, [worker, backendURL], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = await once(child.stdout, 'data');
  return { child, url: `http://127.0.0.1:${String(line).trim()}` };
}

async function cpuOf(gateway) {
  return (await (await fetch(`${gateway.url}/cpu`)).json()).cpuUs;
}

async function setMode(gateway, mode) {
  const response = await fetch(`${gateway.url}/mode?m=${encodeURIComponent(mode)}`, { method: 'POST' });
  if ((await response.text()) !== mode) throw new Error(`the gateway did not switch to ${mode}`);
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
      if (response.status !== 200 || !text.endsWith('data: [DONE]\n\n')) throw new Error(`${response.status} ${text.slice(0, 200)}`);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, one));
}

/** Runs the scenario and prints its table and verdict; returns the medians (µs per request). */
export async function gatewayBench({ quick = false, log = console.log } = {}) {
  const backend = await startSimServer({ chunks: CHUNKS, ttftMs: 0, chunkMs: 0, recordRequests: false });
  const gateway = await startGateway(backend.url);
  try {
    const perRound = quick ? 200 : 400;
    const rounds = quick ? 5 : 15;
    const concurrency = 8;
    // The JIT of gateway, client and backend settles over the first couple of thousand requests, in every mode.
    for (const mode of MODES) {
      await setMode(gateway, mode);
      await load(gateway, quick ? 300 : 1500, concurrency);
    }
    const samples = Object.fromEntries(MODES.map((m) => [m, []]));
    for (let round = 0; round < rounds; round++) {
      for (const mode of MODES.map((_, i) => MODES[(i + round) % MODES.length])) {
        await setMode(gateway, mode);
        await load(gateway, quick ? 100 : 200, concurrency); // past the switch: the JIT re-settles on the patched or restored paths
        const before = await cpuOf(gateway);
        await load(gateway, perRound, concurrency);
        samples[mode].push(((await cpuOf(gateway)) - before) / perRound);
      }
    }
    // What the instrumented mode recorded: both sides, or the measurement is void.
    await setMode(gateway, 'otel-inference');
    const { names, errors } = await (await fetch(`${gateway.url}/collect`)).json();
    for (const name of ['gen_ai.server.request.duration', 'gen_ai.client.operation.duration']) {
      if (!names.includes(name) || errors > 0) throw new Error(`the instrumented gateway did not record ${name}: ${names.join(', ')}`);
    }
    const us = Object.fromEntries(MODES.map((m) => [m, median(samples[m])]));
    const added = Object.fromEntries(MODES.map((m) => [m, samples[m].map((value, r) => value - samples.bare[r])]));
    const quartiles = (values) => {
      const sorted = [...values].sort((a, b) => a - b);
      const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
      return `${median(values).toFixed(1)} µs [${at(0.25).toFixed(1)}–${at(0.75).toFixed(1)}]`;
    };
    log(`\nGateway: CPU of the gateway process per proxied streamed request (${CHUNKS} chunks), one process, ${rounds} rounds of ${perRound} per mode, ${concurrency} at a time`);
    log('| gateway | CPU per request (median) | added over bare, paired by round: median [p25–p75] | added per chunk | ratio to bare |');
    log('|---|---|---|---|---|');
    for (const mode of MODES) {
      const extra = median(added[mode]);
      log(`| ${mode} | ${us[mode].toFixed(1)} µs | ${mode === 'bare' ? '' : quartiles(added[mode])} | ${mode === 'bare' ? '' : `${(extra / CHUNKS).toFixed(2)} µs`} | ${(us[mode] / us.bare).toFixed(3)} |`);
    }
    const ours = median(added['otel-inference']);
    const theirs = median(added['prom-client']);
    log(`  target: otel-inference (server + client side) adds < ${TARGET_ADDED_US} µs of CPU per request at ${CHUNKS} chunks: ${ours.toFixed(1)} µs, ${ours < TARGET_ADDED_US ? 'met' : 'MISSED'}`);
    log(`  prom-client by hand adds ${theirs.toFixed(1)} µs; otel-inference / prom-client: ${(ours / theirs).toFixed(2)}`);
    return { us, added: Object.fromEntries(MODES.map((m) => [m, median(added[m])])), target: TARGET_ADDED_US };
  } finally {
    gateway.child.kill('SIGTERM');
    await backend.close();
  }
}

const invokedDirectly = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1];
if (invokedDirectly) await gatewayBench({ quick: process.argv.includes('--quick') });
