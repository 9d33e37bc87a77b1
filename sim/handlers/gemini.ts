// Google's Gemini API (generativelanguage.googleapis.com) and Vertex AI (aiplatform.googleapis.com),
// as @google/genai speaks them:
//   POST {version}/models/{model}:generateContent
//   POST {version}/models/{model}:streamGenerateContent  (`?alt=sse`: SSE `data: {json}` events;
//                                                         without it: one JSON array, streamed)
//   POST {version}/models/{model}:embedContent | :batchEmbedContents
//   POST {version}[/projects/{p}/locations/{l}]/publishers/{publisher}/models/{model}:… (Vertex,
//        also :predict for its text-embedding models)
// Usage is `usageMetadata` (proto3 JSON: a zero count is left out), thoughts are parts with
// `thought: true`, the answering model is `modelVersion`, and errors are
// `{ error: { code, message, status } }`, in a stream as one more event.

import type { Behavior } from '../behavior.js';
import { chunkSteps, type Handler, type Step } from '../context.js';
import { genId, sendJson, startEventStream, writeRaw } from '../http.js';
import { get } from '../json.js';
import type { OutputPlan } from '../output.js';
import { embeddingVector } from './embeddings.js';

type Json = Record<string, unknown>;

/** google.rpc.Code names of the HTTP statuses, as Google's APIs pair them. */
const STATUS_NAMES: Readonly<Record<number, string>> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  409: 'ABORTED',
  429: 'RESOURCE_EXHAUSTED',
  499: 'CANCELLED',
  500: 'INTERNAL',
  501: 'NOT_IMPLEMENTED',
  503: 'UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
};

/** Google's error body for `status`. */
export function geminiErrorBody(status: number, message?: string) {
  const name = STATUS_NAMES[status] ?? (status >= 500 ? 'INTERNAL' : 'FAILED_PRECONDITION');
  return { error: { code: status, message: message ?? `Simulated error ${status} (${name}).`, status: name } };
}

/** The model a request's path names, without a `models/` or publisher prefix. */
function modelOf(params: Readonly<Record<string, string>>): string {
  return params.model !== undefined && params.model !== '' ? decodeURIComponent(params.model) : 'gemini-sim';
}

/** Only non-zero counts, the way proto3 JSON leaves zeros out. */
function counts(fields: Record<string, number>): Json {
  const out: Json = {};
  for (const [key, value] of Object.entries(fields)) if (value !== 0) out[key] = value;
  return out;
}

/**
 * `usageMetadata` once `thoughts` reasoning and `candidates` answer tokens were generated:
 * promptTokenCount includes the cached part; candidatesTokenCount excludes the thoughts.
 */
function usageMetadata(p: Behavior, thoughts: number, candidates: number): Json {
  const prompt = p.promptTokens;
  const cached = Math.min(p.cacheReadTokens, prompt);
  const usage = counts({
    promptTokenCount: prompt,
    candidatesTokenCount: candidates,
    totalTokenCount: prompt + candidates + thoughts,
    cachedContentTokenCount: cached,
    thoughtsTokenCount: thoughts,
  });
  usage.promptTokensDetails = [{ modality: 'TEXT', tokenCount: prompt }];
  if (cached > 0) usage.cacheTokensDetails = [{ modality: 'TEXT', tokenCount: cached }];
  return usage;
}

function toolName(body: Json): string {
  const name = get(get(get(body.tools, '0'), 'functionDeclarations'), '0');
  const declared = get(name, 'name');
  return typeof declared === 'string' && declared !== '' ? declared : 'get_weather';
}

const handleGenerate = (stream: boolean): Handler => (ctx, body, p, plan, params) => {
  const { res } = ctx;
  const modelVersion = modelOf(params);
  const responseId = genId('').slice(0, 22);
  const perChunk = Math.max(1, Math.floor(p.tokensPerChunk));
  const functionCall = (): Json => ({ name: toolName(body), args: { q: plan.content.join('').trim() } });

  const response = (parts: Json[], usage: Json | undefined, finishReason?: string): Json => {
    const candidate: Json = { content: { parts, role: 'model' }, index: 0 };
    if (finishReason !== undefined) candidate.finishReason = finishReason;
    const out: Json = { candidates: [candidate] };
    if (usage !== undefined && !p.noUsage) out.usageMetadata = usage;
    out.modelVersion = modelVersion;
    out.responseId = responseId;
    return out;
  };

  if (!stream) {
    ctx.run([
      {
        at: plan.doneAt,
        fn: () => {
          if (p.dropAfterChunks !== undefined) return ctx.drop();
          const parts: Json[] = [];
          if (plan.reasoning.length > 0) parts.push({ text: plan.reasoning.join(''), thought: true });
          parts.push(p.toolCall ? { functionCall: functionCall() } : { text: plan.content.join('') });
          sendJson(res, 200, response(parts, usageMetadata(p, plan.reasoningTokens, plan.outputTokens - plan.reasoningTokens), 'STOP'));
        },
      },
    ]);
    return;
  }

  // With `?alt=sse` (what @google/genai asks for) each response is an SSE event; without it the
  // responses are the elements of one JSON array, sent as they come.
  const sse = new URL(ctx.req.url ?? '/', 'http://localhost').searchParams.get('alt') === 'sse';
  let sent = 0;
  const send = (obj: Json, after?: () => void): void => {
    const json = JSON.stringify(obj);
    writeRaw(res, sse ? `data: ${json}\r\n\r\n` : `${sent++ === 0 ? '[' : ',\r\n'}${json}`, after);
  };
  const end = (): void => {
    if (sse) res.end();
    else res.end(sent === 0 ? '[]' : ']');
  };

  // Every output chunk reports the usage so far (candidatesTokenCount and thoughtsTokenCount
  // cumulative), as Gemini does; the last event has the totals and the finish reason.
  const items: { at: number; chunk: () => Json }[] = [];
  plan.reasoning.forEach((text, i) => {
    items.push({ at: plan.reasoningTimes[i]!, chunk: () => response([{ text, thought: true }], usageMetadata(p, (i + 1) * perChunk, 0)) });
  });
  if (p.toolCall) {
    // Gemini streams a function call whole, in one event.
    if (plan.content.length > 0) {
      items.push({ at: plan.contentTimes[0]!, chunk: () => response([{ functionCall: functionCall() }], usageMetadata(p, plan.reasoningTokens, 0)) });
    }
  } else {
    plan.content.forEach((text, i) => {
      items.push({ at: plan.contentTimes[i]!, chunk: () => response([{ text }], usageMetadata(p, plan.reasoningTokens, (i + 1) * perChunk)) });
    });
  }
  const finalUsage = usageMetadata(p, plan.reasoningTokens, plan.outputTokens - plan.reasoningTokens);
  const errorAfter = p.errorAfterChunks === undefined ? undefined : Math.max(0, Math.floor(Number(p.errorAfterChunks)));
  const inStreamError = errorAfter !== undefined && errorAfter < items.length;
  const headerAt = p.headerDelayMs;
  const start = (): void => {
    if (sse) return startEventStream(res);
    res.writeHead(200, { 'content-type': 'application/json; charset=UTF-8' });
    res.flushHeaders();
  };
  const steps: Step[] = [{ at: headerAt, fn: start }];
  steps.push(
    ...chunkSteps(ctx, send, {
      headerAt,
      drop: p.dropAfterChunks,
      items: inStreamError ? items.slice(0, errorAfter) : items,
      doneAt: inStreamError ? items[errorAfter]!.at : plan.doneAt,
      finish: () => {
        if (inStreamError) send(geminiErrorBody(500, 'An internal error has occurred (simulated, mid-stream).'));
        else send(response([{ text: '' }], finalUsage, 'STOP'));
        end();
      },
    }),
  );
  ctx.run(steps);
};

export const handleGenerateContent: Handler = handleGenerate(false);
export const handleStreamGenerateContent: Handler = handleGenerate(true);

function embedding(content: unknown, dim: number): number[] {
  const parts = get(content, 'parts');
  const text = Array.isArray(parts) ? parts.map((part) => String(get(part, 'text') ?? '')).join('') : JSON.stringify(content ?? '');
  return Array.from(embeddingVector(text, dim));
}

function dimensionOf(value: unknown, fallback: number): number {
  return Number.isInteger(value) && (value as number) > 0 ? (value as number) : fallback;
}

/**
 * :embedContent (one `content`), :batchEmbedContents (`requests[]`, each with its content) and
 * Vertex's :predict (`instances[]`, each with `content`).
 */
export const handleEmbed =
  (method: 'embedContent' | 'batchEmbedContents' | 'predict'): Handler =>
  (ctx, body, p) => {
    ctx.run([
      {
        at: Math.max(p.headerDelayMs, p.ttftMs),
        fn: () => {
          if (p.dropAfterChunks !== undefined) return ctx.drop();
          const usage = p.noUsage ? {} : { usageMetadata: { promptTokenCount: p.promptTokens, totalTokenCount: p.promptTokens } };
          if (method === 'embedContent') {
            const dim = dimensionOf(body.outputDimensionality ?? get(body.embedContentConfig, 'outputDimensionality'), p.embeddingDim);
            return sendJson(ctx.res, 200, { embedding: { values: embedding(body.content, dim) }, ...usage });
          }
          if (method === 'batchEmbedContents') {
            const requests = Array.isArray(body.requests) ? body.requests : [];
            const embeddings = requests.map((request) => ({
              values: embedding(get(request, 'content'), dimensionOf(get(request, 'outputDimensionality'), p.embeddingDim)),
            }));
            return sendJson(ctx.res, 200, { embeddings, ...usage });
          }
          // Vertex's predict reports each instance's own token count, and no usageMetadata.
          const instances = Array.isArray(body.instances) ? body.instances : [];
          const dim = dimensionOf(get(body.parameters, 'outputDimensionality'), p.embeddingDim);
          const share = Math.floor(p.promptTokens / Math.max(1, instances.length));
          const predictions = instances.map((instance, i) => ({
            embeddings: {
              values: embedding({ parts: [{ text: get(instance, 'content') }] }, dim),
              ...(p.noUsage ? {} : { statistics: { truncated: false, token_count: i === 0 ? p.promptTokens - share * (instances.length - 1) : share } }),
            },
          }));
          return sendJson(ctx.res, 200, { predictions, metadata: { billableCharacterCount: 0 } });
        },
      },
    ]);
  };

/**
 * Matches a Gemini API or Vertex AI model method path (after the server stripped a leading
 * `/v1`): an optional API version, optional project/location and publisher, then
 * `models/{model}:{method}`.
 */
const MODEL_METHOD =
  /^(?:\/v1(?:alpha|beta\d*)?)?(?:\/projects\/[^/]+\/locations\/[^/]+)?(?:\/publishers\/[^/]+)?\/models\/([^/:]+):([A-Za-z]+)$/;

export function modelMethod(method: string): (path: string) => Readonly<Record<string, string>> | undefined {
  return (path) => {
    const match = MODEL_METHOD.exec(path);
    return match !== null && match[2] === method ? { model: match[1]! } : undefined;
  };
}
