#!/usr/bin/env node
// A simulated model server behind the demo gateway: an OpenAI-compatible node:http server that
// "runs a model" with a scheduler (a fixed number of slots, a FIFO queue in front), a prefill and
// a decode phase, and reports them through the explicit server API of otel-inference
// (startServerRequest: queued, admitted, phases, first token, tokens, usage, end / fail / cancel),
// plus its batch size, batch queue, KV-cache utilization and padding ratio as server gauges (observeServerGauge).
//
//   node --import otel-inference/register demo/backend.mjs --name primary --port 8001 [flags]
//
// The preload's zero-code server side also sees these routes; it steps aside for each request
// this process records itself (startServerRequest() runs in the async context of the request's
// `request` listener), and records the ones answered before that (a body that is not JSON: 400).
//
// Flags (each also as an environment variable, given in brackets):
//   --name <name>          the backend's name, in its banner and its x-sim-<name> header (default backend) [BACKEND_NAME]
//   --port <port>          listen port; 0 = any free port (default 8001)                              [BACKEND_PORT]
//   --host <host>          listen address (default 127.0.0.1)                                         [BACKEND_HOST]
//   --slots <n>            requests decoded at once; the others wait in the queue (default 4)          [BACKEND_SLOTS]
//   --latency-factor <x>   every prefill and decode delay of the demo profile times x (default 1)      [BACKEND_LATENCY_FACTOR]
//   --fail-rate <p>        share of requests answered 503 at admission (default 0)                     [BACKEND_FAIL_RATE]
//   --seed <n>             seed of the random latency, lengths and failures                           [BACKEND_SEED]
//
// Models and latencies are the demo profile's (demo/profile.mjs): prefill = the model's ttftMs,
// decode = msPerToken per token, both with ±jitter and times --latency-factor. A request can fix
// its behaviour with an `x-sim` header (JSON, the fields of sim/behavior.ts this server knows:
// ttftMs = prefill, chunkMs, chunks, tokensPerChunk, promptTokens, status: >= 400 answers that
// status, 0 means no random failure), and `x-sim-<name>` applies to this backend only, on top
// (the demo's deterministic mode fails one backend that way, so that the gateway falls back).
//
// Routes: POST /v1/chat/completions (streamed or not; stream_options.include_usage honoured),
// POST /v1/embeddings, GET /v1/models, GET /healthz. It prints one line, `backend <name>
// listening on <url>`, then nothing unless something fails.

import http from 'node:http';
import { ATTR, observeServerGauge, OPERATION, PHASE, SERVER_GAUGE, startServerRequest } from 'otel-inference';
import { DEMO_EMBEDDING_MODELS, DEMO_MODELS, DEMO_PROFILE } from './profile.mjs';
import { isMain, listen, runService } from './service.mjs';

const PROVIDER = 'otel_inference_demo';

function parseArgs(argv) {
  const spec = {
    name: ['BACKEND_NAME', 'backend'],
    port: ['BACKEND_PORT', '8001'],
    host: ['BACKEND_HOST', '127.0.0.1'],
    slots: ['BACKEND_SLOTS', '4'],
    'latency-factor': ['BACKEND_LATENCY_FACTOR', '1'],
    'fail-rate': ['BACKEND_FAIL_RATE', '0'],
    seed: ['BACKEND_SEED', undefined],
  };
  const out = {};
  for (const [key, [env, fallback]] of Object.entries(spec)) out[key] = process.env[env] || fallback;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--help' || argv[i] === '-h') return { help: true };
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(argv[i]);
    if (!m || !(m[1] in spec)) throw new Error(`unknown argument ${argv[i]} (see the top of demo/backend.mjs)`);
    const value = m[2] ?? argv[++i];
    if (value === undefined) throw new Error(`missing value for --${m[1]}`);
    out[m[1]] = value;
  }
  const num = (key, { min = 0, max = Infinity, integer = false } = {}) => {
    const v = Number(out[key]);
    if (!Number.isFinite(v) || v < min || v > max || (integer && !Number.isInteger(v))) {
      throw new Error(`--${key}: expected ${integer ? 'an integer' : 'a number'} from ${min}${max < Infinity ? ` to ${max}` : ''}, got ${JSON.stringify(out[key])}`);
    }
    return v;
  };
  if (!/^[a-z0-9][a-z0-9_-]{0,31}$/i.test(out.name)) throw new Error('--name: letters, digits, - and _ only (it names an HTTP header)');
  return {
    name: out.name,
    port: num('port', { max: 65535, integer: true }),
    host: out.host,
    slots: num('slots', { min: 1, integer: true }),
    latencyFactor: num('latency-factor'),
    failRate: num('fail-rate', { max: 1 }),
    seed: out.seed === undefined ? Date.now() ^ (process.pid << 16) : num('seed', { integer: true }),
  };
}

// ---------------------------------------------------------------------------------------------
// Behaviour of one request

/** mulberry32: reproducible runs with --seed. */
function makeRandom(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const CHAT = new Map(DEMO_MODELS.map((m) => [m.name, m]));
const EMBEDDING = new Map(DEMO_EMBEDDING_MODELS.map((m) => [m.name, m]));

function parseSim(value) {
  if (typeof value !== 'string' || value === '') return {};
  try {
    const parsed = JSON.parse(value);
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? parsed : {};
  } catch {
    return {};
  }
}

const finite = (v) => typeof v === 'number' && Number.isFinite(v) && v >= 0;

/** The plan of one request: its delays, lengths and whether it fails, from the profile and x-sim. */
function planOf(opts, random, kind, model, headers) {
  const sim = { ...parseSim(headers['x-sim']), ...parseSim(headers[`x-sim-${opts.name.toLowerCase()}`]) };
  const jitter = (ms, j) => ms * (1 + j * (2 * random() - 1)) * opts.latencyFactor;
  const status = Number(sim.status);
  const fixedStatus = Number.isInteger(status) && status >= 400 ? status : undefined;
  // status 0 (or any fixed status) switches the random failures off.
  const fails = fixedStatus ?? (sim.status === undefined && random() < opts.failRate ? 503 : undefined);
  if (kind === 'embeddings') {
    const profile = EMBEDDING.get(model) ?? DEMO_EMBEDDING_MODELS[0];
    return { fails, prefillMs: finite(sim.ttftMs) ? sim.ttftMs : jitter(profile.latencyMs, profile.jitter), dimensions: profile.dimensions };
  }
  const profile = CHAT.get(model) ?? DEMO_PROFILE.fallbackModel;
  const tokensPerChunk = finite(sim.tokensPerChunk) && sim.tokensPerChunk >= 1 ? Math.floor(sim.tokensPerChunk) : profile.tokensPerChunk;
  const chunks = finite(sim.chunks) && sim.chunks >= 1
    ? Math.floor(sim.chunks)
    : Math.max(1, Math.round((profile.minTokens + random() * (profile.maxTokens - profile.minTokens)) / tokensPerChunk));
  const chunkMs = finite(sim.chunkMs) ? () => sim.chunkMs : () => jitter(profile.msPerToken * tokensPerChunk, profile.jitter);
  return {
    fails,
    prefillMs: finite(sim.ttftMs) ? sim.ttftMs : jitter(profile.ttftMs, profile.jitter),
    chunks,
    tokensPerChunk,
    chunkMs,
    promptTokens: finite(sim.promptTokens) ? Math.floor(sim.promptTokens) : undefined,
  };
}

// ---------------------------------------------------------------------------------------------
// The scheduler: `slots` requests run at once, the others wait in arrival order.

/** The context each slot holds in the simulated KV cache, in tokens. */
const CONTEXT_TOKENS = 4096;

class Scheduler {
  running = 0;
  waiting = [];
  /** The sequences being decoded: their length in tokens (prompt + output so far), for the KV-cache and padding gauges. */
  sequences = new Set();
  constructor(slots) {
    this.slots = slots;
  }
  /** The simulated KV cache: CONTEXT_TOKENS per slot, filled by the running sequences. */
  kvCacheUtilization() {
    let used = 0;
    for (const s of this.sequences) used += s.tokens;
    return Math.min(1, used / (this.slots * CONTEXT_TOKENS));
  }
  /** The running batch padded to its longest sequence: the share of its token slots that are padding. */
  paddingRatio() {
    if (this.sequences.size === 0) return 0;
    let total = 0;
    let longest = 0;
    for (const s of this.sequences) {
      total += s.tokens;
      longest = Math.max(longest, s.tokens);
    }
    return longest === 0 ? 0 : 1 - total / (longest * this.sequences.size);
  }
  /** Resolves when the request may run; `signal` aborted first: resolves false and leaves the queue. */
  acquire(signal) {
    if (this.running < this.slots) {
      this.running++;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      const entry = { resolve };
      this.waiting.push(entry);
      signal.addEventListener('abort', () => {
        const i = this.waiting.indexOf(entry);
        if (i >= 0) {
          this.waiting.splice(i, 1);
          resolve(false);
        }
      }, { once: true });
    });
  }
  release() {
    const next = this.waiting.shift();
    if (next) next.resolve(true);
    else this.running--;
  }
}

// ---------------------------------------------------------------------------------------------
// Responses

/**
 * Waits `ms` (or until `signal` aborts), and never less: a timer can fire a fraction of a
 * millisecond early by performance.now(), and a prefill of 250 ms must take 250 ms.
 */
const sleep = (ms, signal) =>
  new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const until = performance.now() + ms;
    let t = setTimeout(check, ms);
    function check() {
      const left = until - performance.now();
      if (left > 0) t = setTimeout(check, Math.ceil(left));
      else done();
    }
    function done() {
      signal.removeEventListener('abort', done);
      clearTimeout(t);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });

const WORDS = ['the', 'cache', 'is', 'warm', 'and', 'tokens', 'flow', 'from', 'prefill', 'to', 'decode', 'quickly'];

function sendJson(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function errorBody(status, name) {
  const type = status === 429 ? 'rate_limit_error' : status >= 500 ? 'server_error' : 'invalid_request_error';
  return { error: { message: `backend ${name}: simulated ${status}`, type, param: null, code: null } };
}

function promptTokensOf(body) {
  // About four characters per token, as a tokenizer would roughly give.
  const text = JSON.stringify(body.messages ?? body.input ?? '');
  return Math.max(1, Math.round(text.length / 4));
}

/**
 * A prefix cache as a model server's automatic prefix caching reports it (vLLM, SGLang): a system
 * prompt this backend has served before is read from its cache, in whole blocks of 16 tokens;
 * the first request with it is a miss. Reported as `prompt_tokens_details.cached_tokens`, which
 * the gateway's client side records as cache-read input tokens. At most 64 prompts are kept.
 */
const CACHE_BLOCK_TOKENS = 16;
const cachedPrefixes = new Set();
function cachedTokensOf(body, promptTokens) {
  const first = Array.isArray(body.messages) ? body.messages[0] : undefined;
  if (first?.role !== 'system' || typeof first.content !== 'string') return 0;
  if (!cachedPrefixes.has(first.content)) {
    if (cachedPrefixes.size < 64) cachedPrefixes.add(first.content);
    return 0;
  }
  const prefixTokens = Math.min(promptTokens, Math.round(first.content.length / 4));
  return Math.floor(prefixTokens / CACHE_BLOCK_TOKENS) * CACHE_BLOCK_TOKENS;
}

async function serveChat(ctx, body, plan) {
  const { res, req, signal, created, id, model, sequence } = ctx;
  const stream = body.stream === true;
  const promptTokens = plan.promptTokens ?? promptTokensOf(body);
  const cachedTokens = cachedTokensOf(body, promptTokens);
  req.tokens(promptTokens, 'input');
  sequence.tokens = promptTokens;
  const phaseOf = (name) => req.phase(name);
  // TypeScript: `using prefill = req.phase(PHASE.prefill)`; plain JS here, for Node 22.
  const prefill = phaseOf(PHASE.prefill);
  try {
    await sleep(plan.prefillMs, signal);
  } finally {
    prefill.end();
  }
  if (signal.aborted) return;
  const chunk = (delta, finish = null) => ({
    id,
    object: 'chat.completion.chunk',
    created,
    model,
    choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }],
  });
  const write = (obj) => res.write(`data: ${JSON.stringify(obj)}\n\n`);
  if (stream) {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    write(chunk({ role: 'assistant', content: '' }));
  }
  let text = '';
  let outputTokens = 0;
  const decode = phaseOf(PHASE.decode);
  try {
    for (let i = 0; i < plan.chunks && !signal.aborted; i++) {
      if (i > 0) await sleep(plan.chunkMs(), signal);
      if (signal.aborted) break;
      const piece = Array.from({ length: plan.tokensPerChunk }, (_, k) => WORDS[(i * plan.tokensPerChunk + k) % WORDS.length]).join(' ') + ' ';
      if (i === 0) req.firstToken();
      req.tokens(plan.tokensPerChunk);
      outputTokens += plan.tokensPerChunk;
      sequence.tokens += plan.tokensPerChunk;
      text += piece;
      if (stream) write(chunk({ content: piece }));
    }
  } finally {
    decode.end();
  }
  if (signal.aborted) return;
  const usage = {
    prompt_tokens: promptTokens,
    completion_tokens: outputTokens,
    total_tokens: promptTokens + outputTokens,
    prompt_tokens_details: { cached_tokens: cachedTokens },
  };
  req.setUsage({ inputTokens: promptTokens, outputTokens });
  req.setResponseModel(model);
  if (stream) {
    write(chunk({}, 'stop'));
    if (body.stream_options?.include_usage === true) write({ id, object: 'chat.completion.chunk', created, model, choices: [], usage });
    res.end('data: [DONE]\n\n');
  } else {
    sendJson(res, 200, {
      id,
      object: 'chat.completion',
      created,
      model,
      choices: [{ index: 0, message: { role: 'assistant', content: text.trimEnd(), refusal: null }, finish_reason: 'stop', logprobs: null }],
      usage,
    });
  }
  req.end();
}

async function serveEmbeddings(ctx, body, plan) {
  const { res, req, signal, model } = ctx;
  const inputs = Array.isArray(body.input) ? body.input : [body.input];
  const promptTokens = promptTokensOf(body);
  req.tokens(promptTokens, 'input');
  const batch = req.phase(PHASE.batch);
  try {
    await sleep(plan.prefillMs, signal);
  } finally {
    batch.end();
  }
  if (signal.aborted) return;
  const dimensions = Number.isInteger(body.dimensions) && body.dimensions > 0 ? body.dimensions : plan.dimensions;
  req.setUsage({ inputTokens: promptTokens });
  req.setResponseModel(model);
  sendJson(res, 200, {
    object: 'list',
    data: inputs.map((_, index) => ({ object: 'embedding', index, embedding: Array.from({ length: dimensions }, (_, k) => Math.sin(index + k)) })),
    model,
    usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
  });
  req.end();
}

// ---------------------------------------------------------------------------------------------

async function readBody(req) {
  const parts = [];
  for await (const chunk of req) parts.push(chunk);
  return Buffer.concat(parts);
}

async function startBackend(opts) {
  const random = makeRandom(opts.seed);
  const scheduler = new Scheduler(opts.slots);
  let sequence = 0;
  const gauges = [
    observeServerGauge(SERVER_GAUGE.batchSize, () => scheduler.running),
    // The scheduler's queue is the batch stage's: requests waiting for a slot in the running batch.
    observeServerGauge(SERVER_GAUGE.queueSize, () => [{ value: scheduler.waiting.length, attributes: { [ATTR.phase]: PHASE.batch } }]),
    observeServerGauge(SERVER_GAUGE.kvCacheUtilization, () => scheduler.kvCacheUtilization()),
    observeServerGauge(SERVER_GAUGE.paddingRatio, () => scheduler.paddingRatio()),
  ];

  const server = http.createServer((httpReq, res) => {
    const arrivedAt = performance.now();
    // Awaited from this listener, so that handle() runs in its async context: there the preload's
    // zero-code server side finds its record of this HTTP request, and steps aside for the one
    // startServerRequest() makes. (A handler called from the body's 'end' listener would run
    // outside that context.)
    readBody(httpReq).then(
      (raw) =>
        handle(httpReq, res, raw, arrivedAt).catch((err) => {
          process.stderr.write(`backend ${opts.name}: ${err?.stack ?? err}\n`);
          if (!res.headersSent) sendJson(res, 500, errorBody(500, opts.name));
          else res.destroy();
        }),
      // The caller went away while sending the body: nobody to answer.
      () => res.destroy(),
    );
  });

  async function handle(httpReq, res, raw, arrivedAt) {
    const path = new URL(httpReq.url ?? '/', 'http://localhost').pathname.replace(/\/+$/, '');
    if (httpReq.method === 'GET' && path === '/healthz') return sendJson(res, 200, { ok: true, name: opts.name });
    if (httpReq.method === 'GET' && path === '/v1/models') {
      const names = [...CHAT.keys(), ...EMBEDDING.keys()];
      return sendJson(res, 200, { object: 'list', data: names.map((id) => ({ id, object: 'model', created: 0, owned_by: opts.name })) });
    }
    const kind = path === '/v1/chat/completions' ? 'chat' : path === '/v1/embeddings' ? 'embeddings' : undefined;
    if (httpReq.method !== 'POST' || kind === undefined) {
      return sendJson(res, 404, { error: { message: `Unknown request URL: ${httpReq.method} ${path}`, type: 'invalid_request_error', param: null, code: 'unknown_url' } });
    }
    let body;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      body = undefined;
    }
    if (body === null || typeof body !== 'object' || typeof body.model !== 'string') {
      return sendJson(res, 400, { error: { message: 'expected a JSON body with a model', type: 'invalid_request_error', param: null, code: null } });
    }

    const model = body.model;
    // The request's duration and TTFT run from its arrival (the headers), before the body was read.
    const req = startServerRequest({
      operation: kind === 'chat' ? OPERATION.chat : OPERATION.embeddings,
      provider: PROVIDER,
      requestModel: model,
      stream: kind === 'chat' && body.stream === true,
      serverAddress: opts.host,
      serverPort: server.address().port,
      startTime: arrivedAt,
    });
    const controller = new AbortController();
    // The caller went away before the response ended: the request is cancelled.
    res.on('close', () => {
      if (!res.writableFinished) controller.abort();
    });
    const signal = controller.signal;
    const plan = planOf(opts, random, kind, model, httpReq.headers);
    // Waiting for a slot: the queue time is this wait, not the reading of the body.
    req.queued();
    const admitted = await scheduler.acquire(signal);
    if (!admitted) {
      req.cancel();
      return;
    }
    const running = { tokens: 0 };
    try {
      req.admitted();
      if (plan.fails !== undefined) {
        req.failWith(plan.fails);
        sendJson(res, plan.fails, errorBody(plan.fails, opts.name));
        return;
      }
      const ctx = { res, req, signal, model, id: `${kind}-${opts.name}-${++sequence}`, created: Math.floor(Date.now() / 1000), sequence: running };
      scheduler.sequences.add(running);
      if (kind === 'chat') await serveChat(ctx, body, plan);
      else await serveEmbeddings(ctx, body, plan);
      if (signal.aborted) req.cancel();
    } catch (err) {
      req.fail(err);
      throw err;
    } finally {
      scheduler.sequences.delete(running);
      scheduler.release();
    }
  }

  const listening = await listen(server, opts.host, opts.port);
  return {
    ...listening,
    close() {
      for (const g of gauges) g.remove();
      return listening.close();
    },
  };
}

if (isMain(import.meta.url)) {
  runService('backend', {
    parseArgs,
    usage: 'usage: node --import otel-inference/register demo/backend.mjs --name primary --port 8001 [--slots 4] [--latency-factor 1] [--fail-rate 0] [--seed N]',
    start: startBackend,
    banner: (opts, backend) => `backend ${opts.name} listening on ${backend.url}`,
  });
}
