#!/usr/bin/env node
// Simulated OpenAI-compatible inference server.
//
// Used by the test suite (deterministic behaviour, controlled per request with the `x-sim` header)
// and by the product demo (`profile: 'demo'`: several models with realistic, jittered latency and
// a small share of failures). Plain JavaScript ESM with no dependencies so `node demo/sim-server.mjs`
// runs as is; the types live in `sim-server.d.mts`.
//
// Endpoints: POST /v1/chat/completions, POST /v1/completions, POST /v1/responses,
// POST /v1/embeddings, GET /v1/models (the `/v1` prefix is optional). Anything else is a 404.

import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

/** Chat/completions models of the demo profile. Latencies in ms; jitter is a ± fraction. */
export const DEMO_MODELS = Object.freeze([
  Object.freeze({
    name: 'llama-3.1-8b',
    ttftMs: 150,
    msPerToken: 15,
    tokensPerChunk: 1,
    minTokens: 20,
    maxTokens: 120,
    jitter: 0.3,
    rate429: 0.02,
    rate500: 0.01,
  }),
  Object.freeze({
    name: 'qwen2.5-32b',
    ttftMs: 400,
    msPerToken: 35,
    tokensPerChunk: 1,
    minTokens: 20,
    maxTokens: 120,
    jitter: 0.3,
    rate429: 0.02,
    rate500: 0.01,
  }),
  Object.freeze({
    name: 'gpt-4o-mini-sim',
    ttftMs: 250,
    msPerToken: 20,
    // OpenAI's own streams often carry a few tokens per chunk.
    tokensPerChunk: 2,
    minTokens: 20,
    maxTokens: 120,
    jitter: 0.3,
    rate429: 0.02,
    rate500: 0.01,
  }),
]);

/** Embedding models of the demo profile (POST /v1/embeddings). */
export const DEMO_EMBEDDING_MODELS = Object.freeze([
  Object.freeze({ name: 'bge-small-sim', latencyMs: 25, jitter: 0.3, dimensions: 384, rate429: 0.02, rate500: 0.01 }),
]);

/** Used in the demo profile for a model name that is not in DEMO_MODELS. */
const DEMO_FALLBACK_MODEL = Object.freeze({
  name: '*',
  ttftMs: 300,
  msPerToken: 25,
  tokensPerChunk: 1,
  minTokens: 20,
  maxTokens: 120,
  jitter: 0.3,
  rate429: 0.02,
  rate500: 0.01,
});

/** Fields accepted in the `x-sim` header and as server-level defaults. */
const SIM_FIELDS = [
  'ttftMs',
  'chunkMs',
  'chunks',
  'tokensPerChunk',
  'promptTokens',
  'status',
  'failTimes',
  'dropAfterChunks',
  'headerDelayMs',
  'noUsage',
  'rejectStreamOptions',
  'emptyChoicesChunk',
  'toolCall',
  'refusal',
  'reasoningChunks',
  'retryAfterMs',
  'embeddingDim',
];

const BASE_DEFAULTS = Object.freeze({
  ttftMs: 0,
  chunkMs: 0,
  chunks: 5,
  tokensPerChunk: 1,
  promptTokens: 7,
  status: undefined,
  failTimes: undefined,
  dropAfterChunks: undefined,
  headerDelayMs: 0,
  noUsage: false,
  rejectStreamOptions: false,
  emptyChoicesChunk: false,
  toolCall: false,
  refusal: false,
  reasoningChunks: 0,
  retryAfterMs: undefined,
  embeddingDim: 8,
});

const WORDS = (
  'the a of to and in that is for it as with was on be by this are at from or an have ' +
  'model token latency stream request server inference metric span trace batch queue cache ' +
  'prompt output context window throughput sample decode prefill kernel memory quickly simply ' +
  'however because therefore result value system answer question example data time first next'
).split(' ');

// ---------------------------------------------------------------------------------------------
// Small helpers

/** mulberry32: tiny seeded PRNG returning floats in [0, 1). */
function makeRandom(seed) {
  let a = seed >>> 0;
  return function random() {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function hashString(s) {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  return h >>> 0;
}

function genId(prefix) {
  return prefix + randomBytes(12).toString('hex');
}

function nowSeconds() {
  return Math.floor(Date.now() / 1000);
}

function isPlainObject(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function pickSimFields(obj) {
  const out = {};
  if (!isPlainObject(obj)) return out;
  for (const key of SIM_FIELDS) {
    if (obj[key] !== undefined) out[key] = obj[key];
  }
  return out;
}

function jittered(random, base, jitter) {
  return Math.max(0, base * (1 + (random() * 2 - 1) * jitter));
}

/** Rough token estimate for the demo profile: ~4 characters per token. */
function estimateTokens(value) {
  let chars = 0;
  let parts = 0;
  const visit = (v) => {
    if (typeof v === 'string') {
      chars += v.length;
      parts++;
    } else if (Array.isArray(v)) {
      v.forEach(visit);
    } else if (isPlainObject(v)) {
      if (typeof v.content === 'string' || Array.isArray(v.content)) visit(v.content);
      else if (typeof v.text === 'string') visit(v.text);
    }
  };
  visit(value);
  return Math.max(1, Math.ceil(chars / 4) + parts * 4);
}

const ERROR_TEMPLATES = {
  400: { type: 'invalid_request_error', code: null, message: 'Invalid request (simulated).' },
  401: { type: 'invalid_request_error', code: 'invalid_api_key', message: 'Incorrect API key provided (simulated).' },
  403: { type: 'invalid_request_error', code: 'unsupported_country_region_territory', message: 'Forbidden (simulated).' },
  404: { type: 'invalid_request_error', code: 'not_found', message: 'Not found (simulated).' },
  408: { type: 'server_error', code: 'timeout', message: 'Request timed out (simulated).' },
  409: { type: 'invalid_request_error', code: 'conflict', message: 'Conflict (simulated).' },
  422: { type: 'invalid_request_error', code: null, message: 'Unprocessable entity (simulated).' },
  429: {
    type: 'requests',
    code: 'rate_limit_exceeded',
    message: 'Rate limit reached for requests (simulated). Please try again shortly.',
  },
  500: {
    type: 'server_error',
    code: null,
    message: 'The server had an error while processing your request. Sorry about that! (simulated)',
  },
  502: { type: 'server_error', code: null, message: 'Bad gateway (simulated).' },
  503: { type: 'server_error', code: null, message: 'The engine is currently overloaded, please try again later. (simulated)' },
};

function errorBody(status, message) {
  const t = ERROR_TEMPLATES[status] ?? {
    type: status >= 500 ? 'server_error' : 'invalid_request_error',
    code: null,
    message: `Simulated error ${status}.`,
  };
  return { error: { message: message ?? t.message, type: t.type, param: null, code: t.code } };
}

// ---------------------------------------------------------------------------------------------
// Per-request context: timing relative to the request start, cancellation on disconnect.

class RequestContext {
  constructor(req, res) {
    this.req = req;
    this.res = res;
    this.t0 = performance.now();
    this.closed = false;
    this.timer = null;
    res.on('close', () => {
      if (!res.writableFinished) this.cancel();
    });
    res.on('error', () => this.cancel());
    req.on('error', () => this.cancel());
  }

  cancel() {
    this.closed = true;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
  }

  /**
   * Runs steps in order, each at `t0 + at` ms (relative to the request start, so delays do not
   * accumulate drift). Steps whose time has passed run right away.
   */
  run(steps) {
    let i = 0;
    const next = () => {
      this.timer = null;
      while (!this.closed && i < steps.length) {
        const step = steps[i];
        const wait = this.t0 + step.at - performance.now();
        if (wait > 0.5) {
          this.timer = setTimeout(next, Math.max(1, Math.round(wait)));
          return;
        }
        i++;
        try {
          step.fn();
        } catch (err) {
          this.fail(err);
          return;
        }
      }
    };
    next();
  }

  fail(err) {
    this.cancel();
    const res = this.res;
    if (!res.headersSent) {
      sendJson(res, 500, errorBody(500, `sim-server internal error: ${err?.message ?? err}`));
    } else {
      res.destroy();
    }
  }

  /** Connection reset (RST) mid-response. */
  drop() {
    this.cancel();
    const socket = this.req.socket;
    if (socket && typeof socket.resetAndDestroy === 'function') socket.resetAndDestroy();
    else socket?.destroy();
  }
}

function baseHeaders(extra) {
  return { 'x-request-id': genId('req_'), 'openai-processing-ms': '1', ...extra };
}

function sendJson(res, status, body, extraHeaders) {
  if (res.headersSent || res.destroyed) return;
  const data = JSON.stringify(body);
  res.writeHead(status, baseHeaders({
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(data),
    ...extraHeaders,
  }));
  res.end(data);
}

function startEventStream(res) {
  res.writeHead(200, baseHeaders({
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    'x-accel-buffering': 'no',
  }));
  res.flushHeaders();
}

/** Writes a chunk, then calls `after` once it has been handed to the kernel. */
function writeRaw(res, text, after) {
  if (res.destroyed || res.writableEnded) return;
  if (after) res.write(text, () => after());
  else res.write(text);
}

// ---------------------------------------------------------------------------------------------
// Output generation

function tokenText(i, demo, random) {
  if (!demo) return `tok${i} `;
  return WORDS[Math.floor(random() * WORDS.length)] + ' ';
}

/**
 * Builds the output plan for one request: chunk texts and the time (ms since request start) at
 * which each output chunk is due (reasoning chunks first, then content chunks).
 */
function planOutput(p, demo, random) {
  const n = Math.max(0, Math.floor(p.chunks));
  const r = Math.max(0, Math.floor(p.reasoningChunks ?? 0));
  const k = Math.max(1, Math.floor(p.tokensPerChunk ?? 1));
  const total = r + n;
  const times = [];
  if (p.chunkDelays && p.chunkDelays.length >= total) {
    let t = p.ttftMs;
    for (let i = 0; i < total; i++) {
      if (i > 0) t += p.chunkDelays[i];
      times.push(t);
    }
  } else {
    for (let i = 0; i < total; i++) times.push(p.ttftMs + i * p.chunkMs);
  }
  let tok = 0;
  const reasoning = [];
  for (let i = 0; i < r; i++) {
    let s = '';
    for (let j = 0; j < k; j++) s += demo ? tokenText(++tok, demo, random) : `think${++tok} `;
    reasoning.push(s);
  }
  tok = 0;
  const content = [];
  for (let i = 0; i < n; i++) {
    let s = '';
    for (let j = 0; j < k; j++) s += tokenText(++tok, demo, random);
    content.push(s);
  }
  return {
    reasoning,
    content,
    reasoningTimes: times.slice(0, r),
    contentTimes: times.slice(r),
    /** Time at which the whole (non-streaming) response is ready. */
    doneAt: Math.max(p.headerDelayMs ?? 0, total > 0 ? times[total - 1] : p.ttftMs),
    outputTokens: total * k,
    reasoningTokens: r * k,
  };
}

/** Tool call argument fragments: `{"q":"tok1 tok2 ..."}` split across chunks 2..n. */
function toolArgFragments(content) {
  if (content.length <= 1) return ['{}'];
  const frags = ['']; // the first chunk carries the function name with empty arguments
  const rest = content.slice(1);
  rest.forEach((text, i) => {
    let s = JSON.stringify(text).slice(1, -1);
    if (i === 0) s = '{"q":"' + s;
    if (i === rest.length - 1) s += '"}';
    frags.push(s);
  });
  return frags;
}

// ---------------------------------------------------------------------------------------------
// Handlers

function chatUsage(p, plan) {
  return {
    prompt_tokens: p.promptTokens,
    completion_tokens: plan.outputTokens,
    total_tokens: p.promptTokens + plan.outputTokens,
    prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
    completion_tokens_details: {
      reasoning_tokens: plan.reasoningTokens,
      audio_tokens: 0,
      accepted_prediction_tokens: 0,
      rejected_prediction_tokens: 0,
    },
  };
}

function handleChat(ctx, body, p, plan) {
  const { res } = ctx;
  const id = genId('chatcmpl-');
  const created = nowSeconds();
  const model = typeof body.model === 'string' ? body.model : 'sim-model';
  const toolName = Array.isArray(body.tools) && body.tools[0]?.function?.name ? body.tools[0].function.name : 'get_weather';
  const toolId = genId('call_');
  const finishReason = p.toolCall ? 'tool_calls' : 'stop';

  if (!body.stream) {
    ctx.run([
      {
        at: plan.doneAt,
        fn: () => {
          if (p.dropAfterChunks !== undefined) return ctx.drop();
          const text = plan.content.join('');
          const message = { role: 'assistant', content: text, refusal: null };
          if (p.toolCall) {
            message.content = null;
            message.tool_calls = [
              { id: toolId, type: 'function', function: { name: toolName, arguments: toolArgFragments(plan.content).join('') } },
            ];
          } else if (p.refusal) {
            message.content = null;
            message.refusal = text;
          }
          if (plan.reasoning.length) message.reasoning_content = plan.reasoning.join('');
          const out = {
            id,
            object: 'chat.completion',
            created,
            model,
            choices: [{ index: 0, message, logprobs: null, finish_reason: finishReason }],
          };
          if (!p.noUsage) out.usage = chatUsage(p, plan);
          out.system_fingerprint = 'fp_sim';
          sendJson(res, 200, out);
        },
      },
    ]);
    return;
  }

  const includeUsage = body.stream_options?.include_usage === true && !p.noUsage;
  const chunk = (choices, extra) => {
    const c = { id, object: 'chat.completion.chunk', created, model, system_fingerprint: 'fp_sim', choices };
    if (includeUsage) c.usage = null;
    return Object.assign(c, extra);
  };
  const choice = (delta, finish = null) => [{ index: 0, delta, logprobs: null, finish_reason: finish }];
  const send = (obj, after) => writeRaw(res, `data: ${JSON.stringify(obj)}\n\n`, after);

  const roleDelta = p.toolCall
    ? { role: 'assistant', content: null }
    : p.refusal
      ? { role: 'assistant', content: null, refusal: '' }
      : { role: 'assistant', content: '' };
  const frags = p.toolCall ? toolArgFragments(plan.content) : null;
  const headerAt = p.headerDelayMs ?? 0;
  const drop = p.dropAfterChunks;

  const steps = [
    {
      at: headerAt,
      fn: () => {
        startEventStream(res);
        send(chunk(choice(roleDelta)));
        if (p.emptyChoicesChunk) {
          send(chunk([]));
          const noChoices = chunk([]);
          delete noChoices.choices;
          send(noChoices);
        }
      },
    },
  ];
  plan.reasoning.forEach((text, i) => {
    steps.push({ at: Math.max(headerAt, plan.reasoningTimes[i]), fn: () => send(chunk(choice({ reasoning_content: text }))) });
  });
  const deltaOf = (text, i) => {
    if (p.toolCall) {
      return i === 0
        ? { tool_calls: [{ index: 0, id: toolId, type: 'function', function: { name: toolName, arguments: frags[0] } }] }
        : { tool_calls: [{ index: 0, function: { arguments: frags[i] } }] };
    }
    return p.refusal ? { refusal: text } : { content: text };
  };
  steps.push(
    ...chunkSteps(ctx, send, {
      headerAt,
      drop,
      items: plan.content.map((text, i) => ({ at: plan.contentTimes[i], chunk: () => chunk(choice(deltaOf(text, i))) })),
      doneAt: plan.doneAt,
      finish: () => {
        send(chunk(choice({}, finishReason)));
        if (includeUsage) send(chunk([], { usage: chatUsage(p, plan) }));
        res.end('data: [DONE]\n\n');
      },
    }),
  );
  ctx.run(steps);
}

/**
 * The timed steps of a stream's content: one chunk per item, no earlier than the headers. With
 * `drop`, the connection is reset right after the `drop`-th chunk (for 0: when the first was
 * due) and `finish` never runs; otherwise `finish` runs at `doneAt`.
 */
function chunkSteps(ctx, send, { headerAt, drop, items, doneAt, finish }) {
  const steps = [];
  if (drop !== undefined && drop <= 0) {
    steps.push({ at: Math.max(headerAt, items[0]?.at ?? doneAt), fn: () => ctx.drop() });
  }
  items.forEach(({ at, chunk }, i) => {
    if (drop !== undefined && i >= drop) return;
    const isDropPoint = drop !== undefined && i === drop - 1;
    steps.push({ at: Math.max(headerAt, at), fn: () => send(chunk(), isDropPoint ? () => ctx.drop() : undefined) });
  });
  if (drop === undefined || drop > items.length) steps.push({ at: doneAt, fn: finish });
  return steps;
}

function handleCompletions(ctx, body, p, plan) {
  const { res } = ctx;
  const id = genId('cmpl-');
  const created = nowSeconds();
  const model = typeof body.model === 'string' ? body.model : 'sim-model';
  const usage = () => ({
    prompt_tokens: p.promptTokens,
    completion_tokens: plan.outputTokens,
    total_tokens: p.promptTokens + plan.outputTokens,
  });
  const allText = () => plan.reasoning.join('') + plan.content.join('');

  if (!body.stream) {
    ctx.run([
      {
        at: plan.doneAt,
        fn: () => {
          if (p.dropAfterChunks !== undefined) return ctx.drop();
          const out = {
            id,
            object: 'text_completion',
            created,
            model,
            choices: [{ text: allText(), index: 0, logprobs: null, finish_reason: 'stop' }],
          };
          if (!p.noUsage) out.usage = usage();
          sendJson(res, 200, out);
        },
      },
    ]);
    return;
  }

  const includeUsage = body.stream_options?.include_usage === true && !p.noUsage;
  const chunk = (choices, extra) => {
    const c = { id, object: 'text_completion', created, model, choices };
    if (includeUsage) c.usage = null;
    return Object.assign(c, extra);
  };
  const choice = (text, finish = null) => [{ text, index: 0, logprobs: null, finish_reason: finish }];
  const send = (obj, after) => writeRaw(res, `data: ${JSON.stringify(obj)}\n\n`, after);
  const headerAt = p.headerDelayMs ?? 0;
  const drop = p.dropAfterChunks;
  // Legacy completions have no role chunk and no reasoning field: reasoning chunks are plain text.
  const texts = [...plan.reasoning, ...plan.content];
  const times = [...plan.reasoningTimes, ...plan.contentTimes];

  const steps = [
    {
      at: headerAt,
      fn: () => {
        startEventStream(res);
        if (p.emptyChoicesChunk) {
          send(chunk([]));
          const noChoices = chunk([]);
          delete noChoices.choices;
          send(noChoices);
        }
      },
    },
  ];
  steps.push(
    ...chunkSteps(ctx, send, {
      headerAt,
      drop,
      items: texts.map((text, i) => ({ at: times[i], chunk: () => chunk(choice(text)) })),
      doneAt: plan.doneAt,
      finish: () => {
        send(chunk(choice('', 'stop')));
        if (includeUsage) send(chunk([], { usage: usage() }));
        res.end('data: [DONE]\n\n');
      },
    }),
  );
  ctx.run(steps);
}

function handleResponses(ctx, body, p, plan) {
  const { res } = ctx;
  const respId = genId('resp_');
  const createdAt = nowSeconds();
  const model = typeof body.model === 'string' ? body.model : 'sim-model';
  const hasReasoning = plan.reasoning.length > 0;
  const reasoningItem = () => ({ id: reasoningId, type: 'reasoning', summary: [] });
  const reasoningId = genId('rs_');
  const itemId = p.toolCall ? genId('fc_') : genId('msg_');
  const callId = genId('call_');
  const outIndex = hasReasoning ? 1 : 0;
  const toolName = Array.isArray(body.tools) && typeof body.tools[0]?.name === 'string' ? body.tools[0].name : 'get_weather';
  const frags = p.toolCall ? toolArgFragments(plan.content) : null;
  const text = plan.content.join('');

  const usage = () =>
    p.noUsage
      ? null
      : {
          input_tokens: p.promptTokens,
          input_tokens_details: { cached_tokens: 0 },
          output_tokens: plan.outputTokens,
          output_tokens_details: { reasoning_tokens: plan.reasoningTokens },
          total_tokens: p.promptTokens + plan.outputTokens,
        };
  const part = (t) => (p.refusal ? { type: 'refusal', refusal: t } : { type: 'output_text', annotations: [], logprobs: [], text: t });
  const item = (done) => {
    if (p.toolCall) {
      return {
        id: itemId,
        type: 'function_call',
        status: done ? 'completed' : 'in_progress',
        arguments: done ? frags.join('') : '',
        call_id: callId,
        name: toolName,
      };
    }
    return {
      id: itemId,
      type: 'message',
      status: done ? 'completed' : 'in_progress',
      content: done ? [part(text)] : [],
      role: 'assistant',
    };
  };
  const response = (status, output, u) => ({
    id: respId,
    object: 'response',
    created_at: createdAt,
    status,
    background: false,
    error: null,
    incomplete_details: null,
    instructions: body.instructions ?? null,
    max_output_tokens: body.max_output_tokens ?? null,
    model,
    output,
    parallel_tool_calls: true,
    previous_response_id: body.previous_response_id ?? null,
    reasoning: { effort: null, summary: null },
    store: body.store ?? true,
    temperature: body.temperature ?? 1,
    text: { format: { type: 'text' } },
    tool_choice: body.tool_choice ?? 'auto',
    tools: Array.isArray(body.tools) ? body.tools : [],
    top_p: body.top_p ?? 1,
    truncation: 'disabled',
    usage: u,
    user: body.user ?? null,
    metadata: body.metadata ?? {},
  });
  const finalOutput = () => (hasReasoning ? [reasoningItem(), item(true)] : [item(true)]);

  if (!body.stream) {
    ctx.run([
      {
        at: plan.doneAt,
        fn: () => {
          if (p.dropAfterChunks !== undefined) return ctx.drop();
          sendJson(res, 200, response('completed', finalOutput(), usage()));
        },
      },
    ]);
    return;
  }

  let seq = 0;
  const send = (type, data, after) => {
    const ev = { type, sequence_number: seq++, ...data };
    writeRaw(res, `event: ${type}\ndata: ${JSON.stringify(ev)}\n\n`, after);
  };
  const headerAt = p.headerDelayMs ?? 0;
  const drop = p.dropAfterChunks;
  const where = { item_id: itemId, output_index: outIndex };

  const steps = [
    {
      at: headerAt,
      fn: () => {
        startEventStream(res);
        send('response.created', { response: response('in_progress', [], null) });
        send('response.in_progress', { response: response('in_progress', [], null) });
      },
    },
  ];
  if (hasReasoning) {
    // Reasoning happens silently (no summary requested): the item opens at the first reasoning
    // token and closes after the last one.
    steps.push({
      at: Math.max(headerAt, plan.reasoningTimes[0]),
      fn: () => send('response.output_item.added', { output_index: 0, item: reasoningItem() }),
    });
    steps.push({
      at: Math.max(headerAt, plan.reasoningTimes[plan.reasoningTimes.length - 1]),
      fn: () => send('response.output_item.done', { output_index: 0, item: reasoningItem() }),
    });
  }
  if (drop !== undefined && drop <= 0) {
    steps.push({ at: Math.max(headerAt, plan.contentTimes[0] ?? plan.doneAt), fn: () => ctx.drop() });
  }
  plan.content.forEach((t, i) => {
    if (drop !== undefined && i >= drop) return;
    const isDropPoint = drop !== undefined && i === drop - 1;
    const after = isDropPoint ? () => ctx.drop() : undefined;
    steps.push({
      at: Math.max(headerAt, plan.contentTimes[i]),
      fn: () => {
        if (i === 0) {
          send('response.output_item.added', { output_index: outIndex, item: item(false) });
          if (!p.toolCall) send('response.content_part.added', { ...where, content_index: 0, part: part('') });
        }
        if (p.toolCall) send('response.function_call_arguments.delta', { ...where, delta: frags[i] }, after);
        else if (p.refusal) send('response.refusal.delta', { ...where, content_index: 0, delta: t }, after);
        else send('response.output_text.delta', { ...where, content_index: 0, delta: t, logprobs: [] }, after);
      },
    });
  });
  if (drop === undefined || drop > plan.content.length) {
    steps.push({
      at: plan.doneAt,
      fn: () => {
        if (plan.content.length === 0) {
          send('response.output_item.added', { output_index: outIndex, item: item(false) });
          if (!p.toolCall) send('response.content_part.added', { ...where, content_index: 0, part: part('') });
        }
        if (p.toolCall) {
          send('response.function_call_arguments.done', { ...where, arguments: frags.join('') });
        } else {
          if (p.refusal) send('response.refusal.done', { ...where, content_index: 0, refusal: text });
          else send('response.output_text.done', { ...where, content_index: 0, text, logprobs: [] });
          send('response.content_part.done', { ...where, content_index: 0, part: part(text) });
        }
        send('response.output_item.done', { output_index: outIndex, item: item(true) });
        send('response.completed', { response: response('completed', finalOutput(), usage()) });
        res.end();
      },
    });
  }
  ctx.run(steps);
}

function embeddingVector(text, dim) {
  const random = makeRandom(hashString(String(text)));
  const v = new Array(dim);
  let norm = 0;
  for (let i = 0; i < dim; i++) {
    v[i] = random() * 2 - 1;
    norm += v[i] * v[i];
  }
  norm = Math.sqrt(norm) || 1;
  // Round through float32 so float and base64 encodings carry the very same values.
  const f32 = new Float32Array(v.map((x) => x / norm));
  return f32;
}

function handleEmbeddings(ctx, body, p) {
  const { res } = ctx;
  const model = typeof body.model === 'string' ? body.model : 'sim-embedding';
  const inputs = Array.isArray(body.input) ? body.input : [body.input ?? ''];
  const dim = Number.isInteger(body.dimensions) && body.dimensions > 0 ? body.dimensions : p.embeddingDim;
  const base64 = body.encoding_format === 'base64';
  ctx.run([
    {
      at: Math.max(p.headerDelayMs ?? 0, p.ttftMs),
      fn: () => {
        if (p.dropAfterChunks !== undefined) return ctx.drop();
        const data = inputs.map((input, index) => {
          const f32 = embeddingVector(typeof input === 'string' ? input : JSON.stringify(input), dim);
          let embedding;
          if (base64) {
            const buf = Buffer.alloc(dim * 4);
            for (let i = 0; i < dim; i++) buf.writeFloatLE(f32[i], i * 4);
            embedding = buf.toString('base64');
          } else {
            embedding = Array.from(f32);
          }
          return { object: 'embedding', index, embedding };
        });
        const out = { object: 'list', data, model };
        if (!p.noUsage) out.usage = { prompt_tokens: p.promptTokens, total_tokens: p.promptTokens };
        sendJson(res, 200, out);
      },
    },
  ]);
}

// ---------------------------------------------------------------------------------------------
// Server

function normalizePath(pathname) {
  const p = pathname.replace(/\/+$/, '') || '/';
  return p.startsWith('/v1/') ? p.slice(3) : p;
}

const ROUTES = {
  '/chat/completions': { kind: 'chat', handler: handleChat },
  '/completions': { kind: 'completions', handler: handleCompletions },
  '/responses': { kind: 'responses', handler: handleResponses },
  '/embeddings': { kind: 'embeddings', handler: handleEmbeddings },
};

/**
 * Starts the simulated server. Resolves once it is listening.
 * @param {import('./sim-server.d.mts').SimServerOptions} [options]
 * @returns {Promise<import('./sim-server.d.mts').SimServer>}
 */
export async function startSimServer(options = {}) {
  const { port = 0, host = '127.0.0.1', profile, seed, recordRequests = true } = options;
  if (profile !== undefined && profile !== 'demo' && profile !== 'none') {
    throw new Error(`sim-server: unknown profile ${JSON.stringify(profile)} (expected 'demo')`);
  }
  const demo = profile === 'demo';
  const random = makeRandom(seed ?? (Date.now() ^ (process.pid << 16)));
  const defaults = { ...BASE_DEFAULTS, ...pickSimFields(options) };
  const requests = [];
  const keyCounts = new Map();
  const sockets = new Set();

  /** Samples the demo profile's behaviour for one request. */
  function sampleDemo(kind, body) {
    if (kind === 'embeddings') {
      const m = DEMO_EMBEDDING_MODELS.find((x) => x.name === body.model) ?? DEMO_EMBEDDING_MODELS[0];
      const r = random();
      return {
        ttftMs: jittered(random, m.latencyMs, m.jitter),
        embeddingDim: m.dimensions,
        promptTokens: estimateTokens(body.input),
        status: r < m.rate429 ? 429 : r < m.rate429 + m.rate500 ? 500 : undefined,
      };
    }
    const m = DEMO_MODELS.find((x) => x.name === body.model) ?? DEMO_FALLBACK_MODEL;
    const r = random();
    let tokens = m.minTokens + Math.floor(random() * (m.maxTokens - m.minTokens + 1));
    const cap = body.max_completion_tokens ?? body.max_tokens ?? body.max_output_tokens;
    if (Number.isInteger(cap) && cap > 0) tokens = Math.min(tokens, cap);
    const k = m.tokensPerChunk;
    const chunks = Math.max(1, Math.ceil(tokens / k));
    const chunkMs = m.msPerToken * k;
    const chunkDelays = [];
    for (let i = 0; i < chunks; i++) chunkDelays.push(jittered(random, chunkMs, m.jitter));
    const input = kind === 'chat' ? body.messages : body.input ?? body.prompt;
    return {
      ttftMs: jittered(random, m.ttftMs, m.jitter),
      chunkMs,
      chunks,
      tokensPerChunk: k,
      chunkDelays,
      promptTokens: estimateTokens(input) + (typeof body.instructions === 'string' ? estimateTokens(body.instructions) : 0),
      status: r < m.rate429 ? 429 : r < m.rate429 + m.rate500 ? 500 : undefined,
    };
  }

  function handle(req, res, rawBody) {
    const ctx = new RequestContext(req, res);
    const url = new URL(req.url ?? '/', 'http://localhost');
    let body = null;
    let bodyError = null;
    if (rawBody.length > 0) {
      try {
        body = JSON.parse(rawBody.toString('utf8'));
      } catch (err) {
        bodyError = err;
        body = rawBody.toString('utf8');
      }
    }
    // Tests read this log; a long-running server (the CLI, the demo) turns it off.
    if (recordRequests) requests.push({ method: req.method ?? 'GET', path: url.pathname, headers: { ...req.headers }, body });

    const path = normalizePath(url.pathname);
    if (req.method === 'GET' && path === '/models') {
      const names = demo ? [...DEMO_MODELS, ...DEMO_EMBEDDING_MODELS].map((m) => m.name) : ['sim-model'];
      return sendJson(res, 200, {
        object: 'list',
        data: names.map((id) => ({ id, object: 'model', created: 0, owned_by: 'sim-server' })),
      });
    }
    const route = ROUTES[path];
    if (!route || req.method !== 'POST') {
      return sendJson(res, 404, {
        error: { message: `Unknown request URL: ${req.method} ${url.pathname}.`, type: 'invalid_request_error', param: null, code: 'unknown_url' },
      });
    }
    if (bodyError || !isPlainObject(body)) {
      return sendJson(res, 400, errorBody(400, `We could not parse the JSON body of your request. (${bodyError?.message ?? 'expected an object'})`));
    }

    let overrides = {};
    const simHeader = req.headers['x-sim'];
    if (typeof simHeader === 'string' && simHeader.trim() !== '') {
      try {
        overrides = JSON.parse(simHeader);
      } catch (err) {
        return sendJson(res, 400, errorBody(400, `sim-server: invalid x-sim header JSON: ${err.message}`));
      }
      if (!isPlainObject(overrides)) return sendJson(res, 400, errorBody(400, 'sim-server: x-sim header must be a JSON object'));
    }
    const xsim = pickSimFields(overrides);
    const p = { ...defaults, ...(demo ? sampleDemo(route.kind, body) : {}), ...xsim };
    // An explicit chunkMs/ttftMs/chunks in x-sim replaces the demo profile's jittered schedule.
    if ('chunkMs' in xsim || 'chunks' in xsim || 'reasoningChunks' in xsim || 'tokensPerChunk' in xsim) delete p.chunkDelays;

    if (p.rejectStreamOptions && body.stream_options !== undefined) {
      return sendJson(res, 400, {
        error: {
          message: 'Unrecognized request argument supplied: stream_options',
          type: 'invalid_request_error',
          param: 'stream_options',
          code: null,
        },
      });
    }

    const keyHeader = req.headers['x-sim-key'];
    const key = typeof keyHeader === 'string' ? keyHeader : '';
    const seen = keyCounts.get(key) ?? 0;
    keyCounts.set(key, seen + 1);
    const status = Number(p.status);
    if (Number.isInteger(status) && status >= 400 && (p.failTimes === undefined || seen < p.failTimes)) {
      const headers = {};
      if (p.retryAfterMs !== undefined) headers['retry-after-ms'] = String(p.retryAfterMs);
      else if (status === 429) headers['retry-after-ms'] = '0';
      return sendJson(res, status, errorBody(status), headers);
    }

    const plan = planOutput(p, demo, random);
    route.handler(ctx, body, p, plan);
  }

  const server = http.createServer((req, res) => {
    req.socket.setNoDelay(true);
    const parts = [];
    req.on('data', (c) => parts.push(c));
    req.on('end', () => {
      try {
        handle(req, res, Buffer.concat(parts));
      } catch (err) {
        if (!res.headersSent) sendJson(res, 500, errorBody(500, `sim-server internal error: ${err?.message ?? err}`));
        else res.destroy();
      }
    });
    req.on('error', () => {});
  });
  server.on('connection', (socket) => {
    socket.setNoDelay(true);
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
  });
  server.on('clientError', (_err, socket) => {
    socket.destroy();
  });

  await new Promise((resolve, reject) => {
    const onError = (err) => reject(err);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  server.on('error', () => {});

  const address = server.address();
  const actualPort = typeof address === 'object' && address ? address.port : port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  let closing = null;

  return {
    url: `http://${urlHost}:${actualPort}/v1`,
    port: actualPort,
    host,
    requests,
    server,
    close() {
      if (!closing) {
        closing = new Promise((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections?.();
          for (const s of sockets) s.destroy();
          sockets.clear();
        });
      }
      return closing;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// CLI: node demo/sim-server.mjs [--port 8000] [--host 127.0.0.1] [--profile demo] [--seed N]

function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i];
    let value;
    if (!arg.startsWith('--')) throw new Error(`unexpected argument ${arg}`);
    arg = arg.slice(2);
    const eq = arg.indexOf('=');
    if (eq >= 0) {
      value = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    } else if (arg === 'help') {
      value = 'true';
    } else {
      value = argv[++i];
      if (value === undefined) throw new Error(`missing value for --${arg}`);
    }
    out[arg] = value;
  }
  return out;
}

async function main() {
  let args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (err) {
    console.error(`sim-server: ${err.message}`);
    process.exit(2);
  }
  if (args.help) {
    console.log('usage: node demo/sim-server.mjs [--port 8000] [--host 127.0.0.1] [--profile demo] [--seed N]');
    return;
  }
  const options = {
    port: args.port !== undefined ? Number(args.port) : 8000,
    host: args.host ?? '127.0.0.1',
    recordRequests: false,
  };
  if (args.profile !== undefined) options.profile = args.profile;
  if (args.seed !== undefined) options.seed = Number(args.seed);
  const server = await startSimServer(options);
  console.log(`sim-server listening on ${server.url}`);
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    server.close().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

function isMain() {
  if (!process.argv[1]) return false;
  try {
    return realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isMain()) {
  main().catch((err) => {
    console.error(`sim-server: ${err?.stack ?? err}`);
    process.exit(1);
  });
}
