// Demo load generator: the real `openai` client against an OpenAI-compatible server (by default
// the simulated one, sim/ with the demo profile), preloaded with otel-inference/register exactly
// as an app would be:
//
//   node --import otel-inference/register demo/load.mjs [flags]       (npm run demo:load)
//
// Nothing in this file records a metric: the preload instruments `openai`.
//
// Environment:
//   SIM_BASE_URL    base URL of the server (default http://127.0.0.1:8000/v1)
//   OPENAI_API_KEY  sent as is (default: a dummy key; the simulated server ignores it)
//   OTEL_*          configure the preload (exporter, endpoint, ...); the live summary needs
//                   OTEL_INFERENCE_IN_PROCESS_READER=true (npm start sets it)
//
// Flags (each also as an environment variable, given in brackets):
//   --duration <s>      stop after s seconds; 0 = run until SIGINT/SIGTERM (default)  [DEMO_DURATION]
//   --concurrency <n>   requests in flight at once (default 6)                         [DEMO_CONCURRENCY]
//   --summary <s>       print the per-model summary every s seconds, computed from the
//                       SDK's own data (needs the in-process reader); 0 = off (default) [DEMO_SUMMARY]
//   --window <s>        the summary's sliding window (default 30)                       [DEMO_WINDOW]
//   --max-retries <n>   the openai client's maxRetries (default 0, so that the simulated
//                       429/500s show up as errors instead of being retried away)      [DEMO_MAX_RETRIES]
//   --metrics-url <u>   shown in the summary footer (e.g. http://localhost:9464/metrics) [DEMO_METRICS_URL]
//   --gateway-stats-url <u>  the gateway's /v1/stats: the summary adds the gateway's server and
//                       client TTFT per model, its backends and its fallbacks        [DEMO_GATEWAY_STATS_URL]
//   --quiet             no summary and no banner
//
// Deterministic mode (for end-to-end tests):
//   --requests <N>      send exactly N requests of each kind, then stop                 [DEMO_REQUESTS]
//   --ttft-ms <ms>      fixed time to first chunk (default 250: well inside the (0.16, 0.32] s bucket)
//   --chunk-ms <ms>     fixed gap between output chunks (default 20)
//   --chunks <n>        output chunks per response, 1 token each (default 8)
//   --abandon-after <n> chunks read before an abandoned stream is left (default 2)
//   --fail-backend <name> adds the `fallback` kind, which makes that backend fail     [DEMO_FAIL_BACKEND]
//   --linger <s>        after the summary, keep the process (and its /metrics endpoint)
//                       up for s seconds or until SIGTERM/SIGINT, so a scraper can read
//                       the final values (default 0)
//
//   The kinds, round-robin over the chat models of DEMO_MODELS (llama-3.1-8b, qwen2.5-32b,
//   gpt-4o-mini-sim; request i of a kind goes to model i mod 3) and bge-small-sim for embeddings:
//     stream      chat stream read to the end                       → inference.outcome=success
//     nonStream   chat, no stream                                   → success
//     abandoned   chat stream, left (break) after --abandon-after chunks → cancelled
//     embeddings  embeddings.create                                 → success
//     error       chat, no stream, answered 500 (maxRetries 0)      → error, error.type=500
//     fallback    (with --fail-backend only) chat stream read to the end; its
//                 `x-sim-<fail-backend>` header makes that backend answer 503, so a gateway in
//                 front falls back to the next one (a simulated server ignores it) → success
//   Every request carries a fixed `x-sim` header (no random latency, no random 429/500; 7 input
//   tokens, 4 of a chat request's read from the prompt cache, 2 reasoning chunks before a chat
//   response's --chunks content chunks: a simulated server reports them, the demo backends only
//   the input) and streams ask for usage (stream_options.include_usage). When done it prints ONE line of JSON
//   on stdout (the last line), then flushes (shutdown() of otel-inference/register) and exits 0
//   (1 if a request did not end as planned):
//
//   {"mode":"deterministic","baseURL":"…","requestsPerKind":N,
//    "sim":{"ttftMs":250,"chunkMs":20,"chunks":8,"tokensPerChunk":1,"promptTokens":7,"cacheReadTokens":4,
//           "reasoningChunks":2,"abandonAfter":2},
//    "sent":{"stream":N,"nonStream":N,"abandoned":N,"embeddings":N,"error":N[,"fallback":N]},
//    "sentByModel":{"llama-3.1-8b":{"stream":…,…},…},
//    "expected":{"success":3N (4N with fallback),"error":N,"cancelled":N,"byModel":{"llama-3.1-8b":{"success":…,"error":…,"cancelled":…},…}},
//    "observed":{"success":…,"error":…,"cancelled":…},           (what the client saw)
//    "recorded":{"llama-3.1-8b":{"success":…,"error":…,"cancelled":…},…} | null,   (the SDK's
//                inference.requests, read with the in-process reader when it is enabled)
//    "quantiles":{"llama-3.1-8b":{"ttft":{"count":…,"sum":…,"p50":…,"p95":…,"p99":…},"perChunk":{…},
//                 "duration":{…},"outputTokens":…},…} | null,   (the lifetime numbers of /v1/stats, as
//                the final summary shows them, in seconds; duration: successful calls only; null
//                without the in-process reader)
//    "ok":true,"elapsedMs":…}
//
// Random mode (the default): chat across the DEMO_MODELS (streams, single responses, streams
// abandoned part-way) and a few embeddings, with the server's own latency and error profile; chat
// requests carry a shared system prompt that a simulated server mostly reports as read from its
// prompt cache, and half of qwen2.5-32b's reason first (randomHeaders below).

import OpenAI from 'openai';
import { createStatsSource } from 'otel-inference';
import { getRegisteredMetricReader, shutdown } from 'otel-inference/register';
import { DEMO_EMBEDDING_MODELS, DEMO_MODELS } from './profile.mjs';
import { readGatewaySection } from './gateway-summary.mjs';
import { rowsOf, startLiveSummary } from './summary.mjs';

const BASE_KINDS = ['stream', 'nonStream', 'abandoned', 'embeddings', 'error'];
const CHAT_MODELS = DEMO_MODELS.map((m) => m.name);
const EMBEDDING_MODEL = DEMO_EMBEDDING_MODELS[0]?.name ?? 'bge-small-sim';

// ---------------------------------------------------------------------------------------------
// Options

function parseArgs(argv) {
  const spec = {
    duration: ['DEMO_DURATION', 0],
    concurrency: ['DEMO_CONCURRENCY', 6],
    summary: ['DEMO_SUMMARY', 0],
    window: ['DEMO_WINDOW', 30],
    'max-retries': ['DEMO_MAX_RETRIES', 0],
    'metrics-url': ['DEMO_METRICS_URL', ''],
    'gateway-stats-url': ['DEMO_GATEWAY_STATS_URL', ''],
    'fail-backend': ['DEMO_FAIL_BACKEND', ''],
    requests: ['DEMO_REQUESTS', undefined],
    'ttft-ms': [undefined, 250],
    'chunk-ms': [undefined, 20],
    chunks: [undefined, 8],
    'abandon-after': [undefined, 2],
    linger: [undefined, 0],
  };
  const out = {};
  for (const [key, [env, fallback]] of Object.entries(spec)) {
    out[key] = env && process.env[env] !== undefined && process.env[env] !== '' ? process.env[env] : fallback;
  }
  out.quiet = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--quiet') {
      out.quiet = true;
      continue;
    }
    if (arg === '--help' || arg === '-h') {
      out.help = true;
      continue;
    }
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    if (!m || !(m[1] in spec)) throw new Error(`unknown argument ${arg} (see the top of demo/load.mjs)`);
    const value = m[2] ?? argv[++i];
    if (value === undefined) throw new Error(`missing value for --${m[1]}`);
    out[m[1]] = value;
  }
  const num = (key, { min = 0, integer = false } = {}) => {
    const v = Number(out[key]);
    if (!Number.isFinite(v) || v < min || (integer && !Number.isInteger(v))) {
      throw new Error(`--${key}: expected ${integer ? 'an integer' : 'a number'} >= ${min}, got ${JSON.stringify(out[key])}`);
    }
    return v;
  };
  return {
    help: Boolean(out.help),
    quiet: out.quiet,
    durationS: num('duration'),
    concurrency: num('concurrency', { min: 1, integer: true }),
    summaryS: num('summary'),
    windowS: num('window', { min: 1 }),
    maxRetries: num('max-retries', { integer: true }),
    metricsUrl: String(out['metrics-url']),
    gatewayStatsUrl: String(out['gateway-stats-url']),
    failBackend: String(out['fail-backend']).toLowerCase(),
    requests: out.requests === undefined ? undefined : num('requests', { integer: true }),
    ttftMs: num('ttft-ms'),
    chunkMs: num('chunk-ms'),
    chunks: num('chunks', { min: 1, integer: true }),
    abandonAfter: num('abandon-after', { min: 1, integer: true }),
    lingerS: num('linger'),
  };
}

let opts;
try {
  opts = parseArgs(process.argv.slice(2));
} catch (err) {
  console.error(`load: ${err.message}`);
  process.exit(2);
}
if (opts.help) {
  console.log('usage: node --import otel-inference/register demo/load.mjs [--duration s] [--concurrency n] [--summary s] [--requests N] ... (flags: see the top of demo/load.mjs)');
  process.exit(0);
}
const deterministic = opts.requests !== undefined;
const KINDS = opts.failBackend ? [...BASE_KINDS, 'fallback'] : BASE_KINDS;
if (deterministic && opts.abandonAfter >= opts.chunks) {
  console.error('load: --abandon-after must be lower than --chunks');
  process.exit(2);
}

const baseURL = process.env.SIM_BASE_URL || 'http://127.0.0.1:8000/v1';
const client = new OpenAI({
  baseURL,
  apiKey: process.env.OPENAI_API_KEY || 'sk-demo-not-a-real-key',
  maxRetries: deterministic ? 0 : opts.maxRetries,
  timeout: 60_000,
});

// ---------------------------------------------------------------------------------------------
// Requests

const MESSAGES = [
  'Summarise the attached incident report in three bullet points.',
  'Write a haiku about GPU memory bandwidth.',
  'What is the difference between prefill and decode?',
  'Translate "the cache is warm" into French.',
  'Explain time to first token to a product manager.',
  'Give me five names for a latency dashboard.',
];

const pick = (list) => list[Math.floor(Math.random() * list.length)];
const sleep = (ms, signal) =>
  new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const onAbort = () => {
      clearTimeout(t);
      resolve();
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/**
 * Deterministic mode's token counts: 7 input tokens per request, 4 of a chat request's read from the
 * prompt cache, and 2 reasoning chunks (1 token each) before a chat response's content.
 */
const FIXED_TOKENS = Object.freeze({ promptTokens: 7, cacheReadTokens: 4, reasoningChunks: 2 });

/** The fixed server behaviour of deterministic mode (`status: 0` switches the demo profile's random errors off). */
function fixedSim(kind) {
  const { promptTokens, cacheReadTokens, reasoningChunks } = FIXED_TOKENS;
  if (kind === 'embeddings') return { ttftMs: Math.min(opts.ttftMs, 50), promptTokens, status: 0 };
  if (kind === 'error') return { status: 500 };
  return { ttftMs: opts.ttftMs, chunkMs: opts.chunkMs, chunks: opts.chunks, tokensPerChunk: 1, promptTokens, cacheReadTokens, reasoningChunks, status: 0 };
}

/**
 * Random mode: every chat request starts with the app's shared system prompt, the part a provider's
 * prompt cache serves. Most requests find its first CACHED_PREFIX_TOKENS in the cache (OpenAI caches
 * prompts of 1024 tokens or more, in steps of 128); the others are cold. A share of the requests
 * to REASONING_MODEL think first (reasoning chunks before the content, at the model's mean chunk
 * gap: an explicit reasoningChunks replaces the profile's jittered schedule). A simulated server
 * reports these counts. The demo backends (demo/backend.mjs) do not reason; they keep a prefix cache
 * of their own, so the system prompt is a cache read from its second request on.
 */
const SYSTEM_PROMPT = Array.from(
  { length: 18 },
  (_, i) =>
    `Rule ${i + 1}: you are the on-call assistant of an inference platform team. Answer briefly, name the metric or the dashboard panel that shows what you claim, say when a number is an estimate, and never invent a measurement, a model name or a service that the question does not give.`,
).join('\n');
const CACHED_PREFIX_TOKENS = 1024;
const CACHE_HIT_SHARE = 0.8;
const REASONING_MODEL = 'qwen2.5-32b';
const REASONING_SHARE = 0.5;

/** The random-mode x-sim header of a chat request: a warm or cold prompt cache, and reasoning for some. */
function randomHeaders(kind, model) {
  if (kind === 'embeddings') return undefined;
  const sim = { cacheReadTokens: Math.random() < CACHE_HIT_SHARE ? CACHED_PREFIX_TOKENS : 0 };
  if (model === REASONING_MODEL && Math.random() < REASONING_SHARE) sim.reasoningChunks = 8 + Math.floor(Math.random() * 33);
  return { 'x-sim': JSON.stringify(sim) };
}

/** Headers of deterministic mode: the fixed behaviour, and for `fallback` one backend told to fail. */
function fixedHeaders(kind) {
  const headers = { 'x-sim': JSON.stringify(fixedSim(kind)) };
  if (kind === 'fallback') headers[`x-sim-${opts.failBackend}`] = JSON.stringify({ status: 503 });
  return headers;
}

/**
 * Sends one request of `kind`; resolves to the outcome the client saw. Never rejects.
 * @returns {Promise<'success' | 'error' | 'cancelled'>}
 */
async function send(kind, model, signal, headers) {
  const reqOpts = { signal, ...(headers ? { headers } : {}) };
  const user = { role: 'user', content: pick(MESSAGES) };
  // Deterministic mode fixes the token counts in x-sim; random mode sends the cached system prompt.
  const messages = deterministic ? [user] : [{ role: 'system', content: SYSTEM_PROMPT }, user];
  try {
    switch (kind) {
      case 'stream':
      case 'fallback':
      case 'abandoned': {
        const stream = await client.chat.completions.create(
          { model, messages, stream: true, stream_options: { include_usage: true } },
          reqOpts,
        );
        const leaveAfter = kind === 'abandoned' ? (deterministic ? opts.abandonAfter : 2 + Math.floor(Math.random() * 12)) : Infinity;
        let chunks = 0;
        for await (const chunk of stream) {
          if (chunk.choices?.[0]?.delta?.content) chunks++;
          if (chunks >= leaveAfter) break; // the user closed the tab: the stream is cancelled
        }
        return chunks >= leaveAfter ? 'cancelled' : 'success';
      }
      case 'nonStream':
      case 'error':
        await client.chat.completions.create({ model, messages }, reqOpts);
        return 'success';
      case 'embeddings':
        await client.embeddings.create({ model, input: [pick(MESSAGES), pick(MESSAGES)] }, reqOpts);
        return 'success';
      default:
        throw new Error(`unknown kind ${kind}`);
    }
  } catch (err) {
    if (signal?.aborted || err?.name === 'AbortError' || err instanceof OpenAI.APIUserAbortError) return 'cancelled';
    return 'error';
  }
}

function randomRequest() {
  const r = Math.random();
  if (r < 0.1) return { kind: 'embeddings', model: EMBEDDING_MODEL };
  const model = pick(CHAT_MODELS);
  if (r < 0.6) return { kind: 'stream', model };
  if (r < 0.85) return { kind: 'nonStream', model };
  return { kind: 'abandoned', model };
}

function deterministicPlan(n) {
  const plan = [];
  // Interleaved (stream 0, nonStream 0, ..., stream 1, ...) so every kind runs concurrently.
  for (let i = 0; i < n; i++) {
    for (const kind of KINDS) {
      plan.push({ kind, model: kind === 'embeddings' ? EMBEDDING_MODEL : CHAT_MODELS[i % CHAT_MODELS.length] });
    }
  }
  return plan;
}

const EXPECTED_OUTCOME = { stream: 'success', nonStream: 'success', abandoned: 'cancelled', embeddings: 'success', error: 'error', fallback: 'success' };

// ---------------------------------------------------------------------------------------------
// Run

const reader = getRegisteredMetricReader();
const began = performance.now();
const stopController = new AbortController(); // stop starting new requests
const inFlight = new Set(); // one AbortController per request in flight
const abortController = { abort: () => inFlight.forEach((c) => c.abort()) }; // abort them all
let stopReason = '';
function stop(reason) {
  if (stopController.signal.aborted) return;
  stopReason = reason;
  stopController.abort();
}

const lingerController = new AbortController(); // end --linger early

// Started by npm start (an IPC channel to it): if that process dies, stop as on a signal.
if (typeof process.send === 'function') {
  process.on('disconnect', () => stop('disconnect'));
  process.channel?.unref();
}

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    if (stopController.signal.aborted) {
      abortController.abort(); // second signal: do not wait for the requests in flight
      lingerController.abort();
      return;
    }
    stop(signal);
  });
}

let summary;
if (!opts.quiet && opts.summaryS > 0) {
  if (reader) {
    const total = opts.durationS;
    summary = startLiveSummary({
      reader,
      intervalMs: opts.summaryS * 1000,
      windowSeconds: opts.windowS,
      header: () => progressLine(total),
      // The gateway is another process: its section is its own /v1/stats document
      // (demo/gateway-summary.mjs), read as the table renders.
      footer: async (final) =>
        [opts.gatewayStatsUrl ? await readGatewaySection(opts.gatewayStatsUrl, final) : '', opts.metricsUrl ? `metrics: curl ${opts.metricsUrl}` : '']
          .filter(Boolean)
          .join('\n'),
    });
  } else {
    console.error('load: no live summary: start with OTEL_INFERENCE_IN_PROCESS_READER=true (npm start does)');
  }
}

function progressLine(total) {
  const elapsed = (performance.now() - began) / 1000;
  if (!(total > 0)) return `otel-inference demo: ${elapsed.toFixed(0)}s (Ctrl-C stops)`;
  const width = 24;
  const done = Math.min(width, Math.round((elapsed / total) * width));
  return `otel-inference demo: [${'#'.repeat(done)}${'.'.repeat(width - done)}] ${Math.min(elapsed, total).toFixed(0)}s / ${total}s (Ctrl-C stops)`;
}

if (!opts.quiet && !deterministic) {
  console.log(`load: openai client → ${baseURL}, ${opts.concurrency} in flight${opts.durationS > 0 ? `, for ${opts.durationS}s` : ''}`);
}

let durationTimer;
if (opts.durationS > 0) {
  durationTimer = setTimeout(() => stop('duration'), opts.durationS * 1000);
}

async function sendTracked(kind, model, headers) {
  const controller = new AbortController();
  inFlight.add(controller);
  try {
    return await send(kind, model, controller.signal, headers);
  } finally {
    inFlight.delete(controller);
  }
}

const observed = { success: 0, error: 0, cancelled: 0 };
const unexpected = [];

async function runRandom() {
  const worker = async () => {
    while (!stopController.signal.aborted) {
      const { kind, model } = randomRequest();
      const outcome = await sendTracked(kind, model, randomHeaders(kind, model));
      observed[outcome]++;
      // Think time between a worker's requests: concurrency varies around the target.
      await sleep(Math.random() * 400, stopController.signal);
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, worker));
}

async function runDeterministic() {
  const plan = deterministicPlan(opts.requests);
  let next = 0;
  const worker = async () => {
    while (next < plan.length && !stopController.signal.aborted) {
      const { kind, model } = plan[next++];
      const outcome = await sendTracked(kind, model, fixedHeaders(kind));
      observed[outcome]++;
      if (outcome !== EXPECTED_OUTCOME[kind]) unexpected.push({ kind, model, outcome });
    }
  };
  await Promise.all(Array.from({ length: Math.min(opts.concurrency, Math.max(1, plan.length)) }, worker));
  return plan;
}

/** After a stop, requests in flight get a few seconds to end on their own, then are aborted. */
function abortStragglersLater() {
  stopController.signal.addEventListener('abort', () => {
    const t = setTimeout(() => abortController.abort(), 5000);
    t.unref();
  }, { once: true });
}
abortStragglersLater();

let exitCode = 0;
try {
  if (deterministic) {
    const plan = await runDeterministic();
    const report = await deterministicReport(plan);
    if (!report.ok) exitCode = 1;
    summary && (await summary.stop());
    process.stdout.write(JSON.stringify(report) + '\n');
    if (opts.lingerS > 0 && !stopController.signal.aborted) {
      const lingerSignal = AbortSignal.any([stopController.signal, lingerController.signal]);
      await sleep(opts.lingerS * 1000, lingerSignal);
    }
  } else {
    await runRandom();
    if (summary) await summary.stop();
    else if (!opts.quiet) console.log(`load: done (${stopReason}): ${JSON.stringify(observed)}`);
  }
} catch (err) {
  console.error(`load: ${err?.stack ?? err}`);
  exitCode = 1;
}
clearTimeout(durationTimer);
await shutdown(); // export what is left (OTLP) before exiting
process.exit(exitCode);

async function deterministicReport(plan) {
  const n = opts.requests;
  const sent = Object.fromEntries(KINDS.map((k) => [k, 0]));
  const sentByModel = {};
  const byModel = {};
  for (const { kind, model } of plan) {
    sent[kind]++;
    (sentByModel[model] ??= Object.fromEntries(KINDS.map((k) => [k, 0])))[kind]++;
    const e = (byModel[model] ??= { success: 0, error: 0, cancelled: 0 });
    e[EXPECTED_OUTCOME[kind]]++;
  }
  let recorded = null;
  let quantiles = null;
  if (reader) {
    // What the live summary and /v1/stats show, over the whole run (seconds).
    const stats = await createStatsSource({ collect: () => reader.collect() }).read();
    recorded = {};
    quantiles = {};
    for (const r of rowsOf(stats, 'lifetime')) {
      const { success, error, cancelled } = r.requests;
      recorded[r.model] = { success, error, cancelled };
      quantiles[r.model] = { ttft: r.ttft, perChunk: r.perChunk, duration: r.duration, outputTokens: r.outputTokens };
    }
  }
  return {
    mode: 'deterministic',
    baseURL,
    requestsPerKind: n,
    sim: { ttftMs: opts.ttftMs, chunkMs: opts.chunkMs, chunks: opts.chunks, tokensPerChunk: 1, ...FIXED_TOKENS, abandonAfter: opts.abandonAfter },
    sent,
    sentByModel,
    expected: { success: KINDS.filter((k) => EXPECTED_OUTCOME[k] === 'success').length * n, error: n, cancelled: n, byModel },
    observed,
    ...(unexpected.length > 0 ? { unexpected: unexpected.slice(0, 20) } : {}),
    recorded,
    quantiles,
    ok: unexpected.length === 0 && !stopController.signal.aborted,
    elapsedMs: Math.round(performance.now() - began),
  };
}
