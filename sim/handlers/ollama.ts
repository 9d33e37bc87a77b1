// Ollama's native API: POST /api/chat, /api/generate, /api/embed and the legacy /api/embeddings.
//
// Streams are NDJSON (application/x-ndjson): one JSON object a line, the last with `done: true`,
// `done_reason`, the durations (ns) and the counts. The server streams unless the body says
// `stream: false`. Like Ollama's own server, nothing (not even the headers) is written before
// the first object, so an error before any output is an HTTP error with a JSON `{"error": "…"}`
// body, and one after is an `{"error": "…"}` line that ends the stream.

import type { ServerResponse } from 'node:http';
import type { Behavior } from '../behavior.js';
import { chunkSteps, type Handler, type RequestContext, type Step } from '../context.js';
import { sendJson, writeRaw } from '../http.js';
import type { JsonObject } from '../json.js';
import type { OutputPlan } from '../output.js';
import { embeddingVector } from './embeddings.js';

type Json = Record<string, unknown>;

const NS_PER_MS = 1_000_000;
/** A model already loaded: what `load_duration` reports then. */
const LOAD_MS = 1;

const STATUS_TEXT: Readonly<Record<number, string>> = {
  400: 'invalid request (simulated)',
  404: 'model not found, try pulling it first (simulated)',
  429: 'server busy, please try again (simulated)',
  500: 'model runner has unexpectedly stopped (simulated)',
  503: 'server overloaded, please try again later (simulated)',
};

/** Ollama's error body: `{"error": "…"}`. */
export function ollamaErrorBody(status: number, message?: string): { error: string } {
  return { error: message ?? STATUS_TEXT[status] ?? `simulated error ${status}` };
}

/** The message of an `errorAfterChunks` error. */
const STREAM_ERROR = 'an error was encountered while running the model (simulated)';

function modelOf(body: JsonObject): string {
  return typeof body.model === 'string' && body.model !== '' ? body.model : 'sim-model';
}

/**
 * The final object's durations (ns) and counts. `prompt_eval_count` counts every prompt token,
 * cached ones included; `prompt_eval_cached_count` (Ollama 0.12+) only when there are some;
 * `eval_count` every output token, thinking included. `noUsage` leaves the counts out, as a
 * server that omits them does.
 */
function finalMetrics(ctx: RequestContext, p: Behavior, plan: OutputPlan): Json {
  const total = performance.now() - ctx.t0;
  const firstOutput = plan.reasoningTimes[0] ?? plan.contentTimes[0] ?? plan.doneAt;
  const out: Json = {
    total_duration: Math.round(total * NS_PER_MS),
    load_duration: LOAD_MS * NS_PER_MS,
  };
  if (!p.noUsage) out.prompt_eval_count = p.promptTokens;
  if (!p.noUsage && p.cacheReadTokens > 0) out.prompt_eval_cached_count = p.cacheReadTokens;
  out.prompt_eval_duration = Math.round(Math.max(0, firstOutput - LOAD_MS) * NS_PER_MS);
  if (!p.noUsage) out.eval_count = plan.outputTokens;
  out.eval_duration = Math.round(Math.max(0, total - firstOutput) * NS_PER_MS);
  return out;
}

/** Writes one NDJSON line, with the headers before the first (as Ollama does: at the first write). */
function ndjsonWriter(res: ServerResponse) {
  return (obj: Json, after?: () => void): void => {
    if (res.destroyed || res.writableEnded) return;
    if (!res.headersSent) {
      res.writeHead(200, { 'content-type': 'application/x-ndjson', 'x-request-id': 'sim' });
    }
    writeRaw(res, JSON.stringify(obj) + '\n', after);
  };
}

interface Dialect {
  /** The content is one tool call (chat with `toolCall`). */
  readonly toolCall: boolean;
  /** A streamed object carrying `text` as content (or a tool call), or as thinking. */
  content(text: string, i: number): Json;
  thinking(text: string): Json;
  /** The fields of the last object of a stream, or of the `whole` answer (no stream). */
  done(full: { content: string; thinking: string }, whole: boolean): Json;
}

function chatDialect(p: Behavior, plan: OutputPlan): Dialect {
  const toolCall = (): Json[] => [{ function: { name: 'get_weather', arguments: { q: plan.content.join('') } } }];
  return {
    toolCall: p.toolCall,
    content: (text) =>
      p.toolCall ? { message: { role: 'assistant', content: '', tool_calls: toolCall() } } : { message: { role: 'assistant', content: text } },
    thinking: (text) => ({ message: { role: 'assistant', content: '', thinking: text } }),
    done: ({ content, thinking }, whole) => {
      const message: Json = { role: 'assistant', content: p.toolCall ? '' : content };
      if (thinking !== '') message.thinking = thinking;
      // A stream's last object carries no output: the call went out in its own object.
      if (p.toolCall && whole) message.tool_calls = toolCall();
      return { message, done: true, done_reason: 'stop' };
    },
  };
}

function generateDialect(): Dialect {
  return {
    toolCall: false,
    content: (text) => ({ response: text }),
    thinking: (text) => ({ response: '', thinking: text }),
    done: ({ content, thinking }) => ({
      response: content,
      ...(thinking !== '' ? { thinking } : {}),
      done: true,
      done_reason: 'stop',
      context: [1, 2, 3],
    }),
  };
}

function serve(ctx: RequestContext, body: JsonObject, p: Behavior, plan: OutputPlan, dialect: Dialect): void {
  const { res } = ctx;
  const model = modelOf(body);
  const stamp = (fields: Json): Json => ({ model, created_at: new Date().toISOString(), ...fields, done: fields.done ?? false });
  const errorAt = p.errorAfterChunks === undefined ? undefined : Math.max(0, Math.floor(p.errorAfterChunks));

  if (body.stream === false) {
    const failAt = errorAt === undefined ? undefined : plan.contentTimes[errorAt] ?? plan.doneAt;
    ctx.run([
      {
        at: Math.max(p.headerDelayMs, failAt ?? plan.doneAt),
        fn: () => {
          if (p.dropAfterChunks !== undefined) return ctx.drop();
          if (failAt !== undefined) return sendJson(res, 500, ollamaErrorBody(500, STREAM_ERROR));
          const full = { content: plan.content.join(''), thinking: plan.reasoning.join('') };
          sendJson(res, 200, { ...stamp(dialect.done(full, true)), ...finalMetrics(ctx, p, plan) });
        },
      },
    ]);
    return;
  }

  const send = ndjsonWriter(res);
  const headerAt = p.headerDelayMs;
  const steps: Step[] = plan.reasoning.map((text, i) => ({
    at: Math.max(headerAt, plan.reasoningTimes[i]!),
    fn: () => send(stamp(dialect.thinking(text))),
  }));
  // A tool call arrives whole, in one object, once the model has produced all of it.
  const contentItems = dialect.toolCall && plan.content.length > 0
    ? [{ at: plan.contentTimes[plan.content.length - 1]!, chunk: () => stamp(dialect.content('', 0)) }]
    : plan.content.map((text, i) => ({ at: plan.contentTimes[i]!, chunk: () => stamp(dialect.content(text, i)) }));
  const finish = (): void => {
    send({ ...stamp(dialect.done({ content: '', thinking: '' }, false)), ...finalMetrics(ctx, p, plan) });
    res.end();
  };

  if (errorAt !== undefined && p.dropAfterChunks === undefined) {
    const items = contentItems.slice(0, errorAt);
    const at = Math.max(headerAt, contentItems[errorAt]?.at ?? plan.doneAt);
    const fail = (): void => {
      if (!res.headersSent) return sendJson(res, 500, ollamaErrorBody(500, STREAM_ERROR));
      send({ error: STREAM_ERROR });
      res.end();
    };
    steps.push(...items.map(({ at: itemAt, chunk }) => ({ at: Math.max(headerAt, itemAt), fn: () => send(chunk()) })));
    steps.push({ at, fn: fail });
  } else {
    steps.push(...chunkSteps(ctx, send, { headerAt, drop: p.dropAfterChunks, items: contentItems, doneAt: plan.doneAt, finish }));
  }
  ctx.run(steps);
}

/** POST /api/chat */
export const handleOllamaChat: Handler = (ctx, body, p, plan) => serve(ctx, body, p, plan, chatDialect(p, plan));

/** POST /api/generate */
export const handleOllamaGenerate: Handler = (ctx, body, p, plan) => serve(ctx, body, p, plan, generateDialect());

/** POST /api/embed: `input` a string or an array of them; `prompt_eval_count` unless `noUsage`. */
export const handleOllamaEmbed: Handler = (ctx, body, p) => {
  const inputs: unknown[] = Array.isArray(body.input) ? body.input : [body.input ?? ''];
  const dim = Number.isInteger(body.dimensions) && (body.dimensions as number) > 0 ? (body.dimensions as number) : p.embeddingDim;
  ctx.run([
    {
      at: Math.max(p.headerDelayMs, p.ttftMs),
      fn: () => {
        if (p.dropAfterChunks !== undefined) return ctx.drop();
        const embeddings = inputs.map((input) => Array.from(embeddingVector(typeof input === 'string' ? input : JSON.stringify(input), dim)));
        const total = performance.now() - ctx.t0;
        const out: Json = {
          model: modelOf(body),
          embeddings,
          total_duration: Math.round(total * NS_PER_MS),
          load_duration: LOAD_MS * NS_PER_MS,
        };
        if (!p.noUsage) out.prompt_eval_count = p.promptTokens;
        sendJson(ctx.res, 200, out);
      },
    },
  ]);
};

/** POST /api/embeddings (legacy): one `prompt`, one `embedding`, no counts and no model. */
export const handleOllamaEmbeddings: Handler = (ctx, body, p) => {
  ctx.run([
    {
      at: Math.max(p.headerDelayMs, p.ttftMs),
      fn: () => {
        if (p.dropAfterChunks !== undefined) return ctx.drop();
        const prompt = typeof body.prompt === 'string' ? body.prompt : '';
        sendJson(ctx.res, 200, { embedding: Array.from(embeddingVector(prompt, p.embeddingDim)) });
      },
    },
  ]);
};
