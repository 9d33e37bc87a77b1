// Anthropic's Messages API: POST /v1/messages (a Message, or its SSE event stream) and
// POST /v1/messages/count_tokens, with Anthropic's error body.

import type { OutgoingHttpHeaders } from 'node:http';
import type { Behavior } from '../behavior.js';
import { chunkSteps, type Handler, type Step } from '../context.js';
import { genId, sendJson, startEventStream, writeRaw } from '../http.js';
import { get } from '../json.js';
import { toolArgFragments, type OutputPlan } from '../output.js';

type Json = Record<string, unknown>;

const ERROR_TYPES: Readonly<Record<number, readonly [type: string, message: string]>> = {
  400: ['invalid_request_error', 'Invalid request (simulated).'],
  401: ['authentication_error', 'invalid x-api-key (simulated).'],
  402: ['billing_error', 'Billing error (simulated).'],
  403: ['permission_error', 'Your API key does not have permission to use the specified resource (simulated).'],
  404: ['not_found_error', 'The requested resource could not be found (simulated).'],
  413: ['request_too_large', 'Request exceeds the maximum allowed number of bytes (simulated).'],
  429: ['rate_limit_error', 'Your account has hit a rate limit (simulated).'],
  500: ['api_error', 'An unexpected error has occurred internal to Anthropic’s systems (simulated).'],
  504: ['timeout_error', 'Request timed out (simulated).'],
  529: ['overloaded_error', 'Overloaded (simulated).'],
};

/** The type of Anthropic's error body for an HTTP status. */
export function anthropicErrorType(status: number): string {
  return ERROR_TYPES[status]?.[0] ?? (status >= 500 ? 'api_error' : 'invalid_request_error');
}

/** Anthropic's error body: `{ type: 'error', error: { type, message } }`. */
export function anthropicErrorBody(status: number, message?: string) {
  return {
    type: 'error',
    error: { type: anthropicErrorType(status), message: message ?? ERROR_TYPES[status]?.[1] ?? `Simulated error ${status}.` },
  };
}

/** Anthropic sends `retry-after` (seconds) on 429 and 529. */
export function anthropicErrorHeaders(status: number, p: Behavior): OutgoingHttpHeaders {
  if (status !== 429 && status !== 529) return {};
  return { 'retry-after': String(Math.ceil((p.retryAfterMs ?? 0) / 1000)) };
}

/**
 * The usage Anthropic reports: `input_tokens` excludes the cached part, so it is `promptTokens`
 * (the whole input) less the cache reads and writes.
 */
function usage(p: Behavior, outputTokens: number): Json {
  const cacheRead = Math.max(0, Math.floor(p.cacheReadTokens));
  const cacheWrite = Math.max(0, Math.floor(p.cacheWriteTokens));
  return {
    input_tokens: Math.max(0, p.promptTokens - cacheRead - cacheWrite),
    cache_creation_input_tokens: cacheWrite,
    cache_read_input_tokens: cacheRead,
    output_tokens: outputTokens,
  };
}

function sseEvent(type: string, data: Json): string {
  return `event: ${type}\ndata: ${JSON.stringify(data)}\n\n`;
}

function toolName(body: Json): string {
  const name = Array.isArray(body.tools) ? get(body.tools[0], 'name') : undefined;
  return typeof name === 'string' && name !== '' ? name : 'get_weather';
}

function toolInput(plan: OutputPlan): unknown {
  try {
    return JSON.parse(toolArgFragments(plan.content).join('')) as unknown;
  } catch {
    return {};
  }
}

export const handleAnthropicMessages: Handler = (ctx, body, p, plan) => {
  const { res } = ctx;
  const id = genId('msg_');
  const model = typeof body.model === 'string' ? body.model : 'sim-model';
  const toolId = genId('toolu_');
  const stopReason = p.toolCall ? 'tool_use' : 'end_turn';
  const signature = 'c2ltLXNpZ25hdHVyZQ==';

  if (body.stream !== true) {
    ctx.run([
      {
        at: plan.doneAt,
        fn: () => {
          if (p.dropAfterChunks !== undefined) return ctx.drop();
          const content: Json[] = [];
          if (plan.reasoning.length > 0) content.push({ type: 'thinking', thinking: plan.reasoning.join(''), signature });
          if (p.toolCall) content.push({ type: 'tool_use', id: toolId, name: toolName(body), input: toolInput(plan) });
          else content.push({ type: 'text', text: plan.content.join('') });
          const message: Json = {
            id,
            type: 'message',
            role: 'assistant',
            model,
            content,
            stop_reason: stopReason,
            stop_sequence: null,
          };
          if (!p.noUsage) message.usage = usage(p, plan.outputTokens);
          sendJson(res, 200, message);
        },
      },
    ]);
    return;
  }

  const send = (text: string, after?: () => void) => writeRaw(res, text, after);
  const event = (type: string, data: Json) => sseEvent(type, { type, ...data });
  const headerAt = p.headerDelayMs ?? 0;
  const thinking = plan.reasoning.length > 0;
  const contentIndex = thinking ? 1 : 0;
  const frags = p.toolCall ? toolArgFragments(plan.content) : [];
  const startMessage: Json = {
    id,
    type: 'message',
    role: 'assistant',
    model,
    content: [],
    stop_reason: null,
    stop_sequence: null,
  };
  // The API reports output_tokens 1 at message_start; the count is in message_delta.
  if (!p.noUsage) startMessage.usage = usage(p, 1);

  // The events before and after each content block: the block start comes with its first delta.
  const blockStart = (index: number): string =>
    event('content_block_start', {
      index,
      content_block:
        index < contentIndex
          ? { type: 'thinking', thinking: '', signature: '' }
          : p.toolCall
            ? { type: 'tool_use', id: toolId, name: toolName(body), input: {} }
            : { type: 'text', text: '' },
    });
  const blockStop = (index: number): string => event('content_block_stop', { index });
  const delta = (index: number, d: Json): string => event('content_block_delta', { index, delta: d });

  const steps: Step[] = [
    {
      at: headerAt,
      fn: () => {
        startEventStream(res);
        send(event('message_start', { message: startMessage }));
        send(blockStart(0));
        send(event('ping', {}));
      },
    },
  ];
  plan.reasoning.forEach((text, i) => {
    steps.push({
      at: Math.max(headerAt, plan.reasoningTimes[i]!),
      fn: () => {
        send(delta(0, { type: 'thinking_delta', thinking: text }));
        if (i === plan.reasoning.length - 1) {
          send(delta(0, { type: 'signature_delta', signature }));
          send(blockStop(0));
          send(blockStart(contentIndex));
        }
      },
    });
  });

  const errorAfter = p.errorAfterChunks;
  const items = plan.content.map((text, i) => ({
    at: plan.contentTimes[i]!,
    chunk: () =>
      delta(contentIndex, p.toolCall ? { type: 'input_json_delta', partial_json: frags[i] } : { type: 'text_delta', text }),
  }));
  const finish = () => {
    send(blockStop(contentIndex));
    const messageDelta: Json = { delta: { stop_reason: stopReason, stop_sequence: null } };
    // The current API repeats the input counts in message_delta; output_tokens is the total.
    if (!p.noUsage) messageDelta.usage = usage(p, plan.outputTokens);
    send(event('message_delta', messageDelta));
    res.end(event('message_stop', {}));
  };
  const overloaded = () =>
    res.end(sseEvent('error', { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded (simulated).' } }));

  if (errorAfter !== undefined) {
    const cut = Math.min(items.length, Math.max(0, Math.floor(errorAfter)));
    steps.push(
      ...chunkSteps(ctx, send, {
        headerAt,
        drop: p.dropAfterChunks,
        items: items.slice(0, cut),
        doneAt: cut > 0 ? plan.contentTimes[cut - 1]! : Math.max(headerAt, plan.contentTimes[0] ?? plan.doneAt),
        finish: overloaded,
      }),
    );
  } else {
    steps.push(...chunkSteps(ctx, send, { headerAt, drop: p.dropAfterChunks, items, doneAt: plan.doneAt, finish }));
  }
  ctx.run(steps);
};

/** POST /v1/messages/count_tokens: the input tokens a Messages request would use. */
export const handleAnthropicCountTokens: Handler = (ctx, _body, p) => {
  sendJson(ctx.res, 200, { input_tokens: p.promptTokens });
};
