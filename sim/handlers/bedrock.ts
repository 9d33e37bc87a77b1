// Amazon Bedrock Runtime: POST /model/{modelId}/converse, /converse-stream, /invoke and
// /invoke-with-response-stream (modelId URL-encoded in the path, as the AWS SDK sends it).
//
// Streams use the AWS event stream binary encoding (application/vnd.amazon.eventstream), encoded
// with the SDK's own codec: one message per event, headers `:event-type`, `:content-type`,
// `:message-type` (`event` or `exception`) and `:exception-type`. InvokeModel bodies are
// model-specific JSON: Anthropic's Messages format for `anthropic.*` models (the format the sim
// answers in for every model), with `amazon-bedrock-invocationMetrics` on the last stream chunk.

import type { OutgoingHttpHeaders } from 'node:http';
import { EventStreamCodec } from '@smithy/eventstream-codec';
import { fromUtf8, toUtf8 } from '@smithy/util-utf8';
import type { Behavior } from '../behavior.js';
import { chunkSteps, type Handler, type RequestContext, type Step } from '../context.js';
import { genId, sendJson } from '../http.js';
import { toolArgFragments, type OutputPlan } from '../output.js';

type Json = Record<string, unknown>;

const codec = new EventStreamCodec(toUtf8, fromUtf8);

/** The exception (x-amzn-errortype) AWS answers with for each status. */
const EXCEPTION_BY_STATUS: Readonly<Record<number, string>> = {
  400: 'ValidationException',
  403: 'AccessDeniedException',
  404: 'ResourceNotFoundException',
  408: 'ModelTimeoutException',
  424: 'ModelErrorException',
  429: 'ThrottlingException',
  500: 'InternalServerException',
  503: 'ServiceUnavailableException',
};

export function bedrockExceptionName(status: number): string {
  return EXCEPTION_BY_STATUS[status] ?? (status >= 500 ? 'InternalServerException' : 'ValidationException');
}

/** Bedrock's error body: `{ message }`; the exception's name travels in x-amzn-errortype. */
export function bedrockErrorBody(status: number, message?: string): Json {
  return { message: message ?? `${bedrockExceptionName(status)} (simulated).` };
}

export function bedrockErrorHeaders(status: number): OutgoingHttpHeaders {
  return { 'x-amzn-errortype': `${bedrockExceptionName(status)}:http://internal.amazon.com/coral/com.amazon.bedrock/` };
}

/** Converse's TokenUsage: `inputTokens` excludes the cache reads and writes, reported beside it. */
function converseUsage(p: Behavior, plan: OutputPlan): Json {
  const cacheRead = p.cacheReadTokens;
  const cacheWrite = p.cacheWriteTokens;
  const input = Math.max(0, p.promptTokens - cacheRead - cacheWrite);
  const usage: Json = { inputTokens: input, outputTokens: plan.outputTokens, totalTokens: p.promptTokens + plan.outputTokens };
  if (cacheRead > 0) usage.cacheReadInputTokens = cacheRead;
  if (cacheWrite > 0) usage.cacheWriteInputTokens = cacheWrite;
  return usage;
}

/** Anthropic Messages usage: `input_tokens` excludes cache creation and cache reads. */
function anthropicUsage(p: Behavior, plan: OutputPlan): Json {
  return {
    input_tokens: Math.max(0, p.promptTokens - p.cacheReadTokens - p.cacheWriteTokens),
    cache_creation_input_tokens: p.cacheWriteTokens,
    cache_read_input_tokens: p.cacheReadTokens,
    output_tokens: plan.outputTokens,
  };
}

function eventMessage(eventType: string, payload: unknown): Uint8Array {
  return codec.encode({
    headers: {
      ':event-type': { type: 'string', value: eventType },
      ':content-type': { type: 'string', value: 'application/json' },
      ':message-type': { type: 'string', value: 'event' },
    },
    body: fromUtf8(JSON.stringify(payload)),
  });
}

function exceptionMessage(exceptionType: string, message: string): Uint8Array {
  return codec.encode({
    headers: {
      ':exception-type': { type: 'string', value: exceptionType },
      ':content-type': { type: 'string', value: 'application/json' },
      ':message-type': { type: 'string', value: 'exception' },
    },
    body: fromUtf8(JSON.stringify({ message })),
  });
}

function startEventStream(ctx: RequestContext): void {
  ctx.res.writeHead(200, {
    'content-type': 'application/vnd.amazon.eventstream',
    'x-amzn-requestid': genId(''),
  });
  ctx.res.flushHeaders();
}

function write(ctx: RequestContext, bytes: Uint8Array, after?: () => void): void {
  const res = ctx.res;
  if (res.destroyed || res.writableEnded) return;
  if (after) res.write(bytes, () => after());
  else res.write(bytes);
}

/**
 * The timed steps of a stream: reasoning and content items, each one message, then `finish`;
 * `errorAfterChunks` replaces the rest of the content (and `finish`) with a
 * modelStreamErrorException event; `dropAfterChunks` resets the connection.
 */
function streamSteps(
  ctx: RequestContext,
  p: Behavior,
  plan: OutputPlan,
  head: () => void,
  reasoning: (text: string) => Uint8Array,
  content: (text: string, i: number) => Uint8Array,
  finish: () => void,
): Step[] {
  const headerAt = p.headerDelayMs ?? 0;
  const steps: Step[] = [{ at: headerAt, fn: head }];
  plan.reasoning.forEach((text, i) => {
    steps.push({ at: Math.max(headerAt, plan.reasoningTimes[i]!), fn: () => write(ctx, reasoning(text)) });
  });
  const errorAfter = p.errorAfterChunks;
  const items = plan.content.map((text, i) => ({ at: plan.contentTimes[i]!, chunk: () => content(text, i) }));
  const send = (bytes: Uint8Array, after?: () => void) => write(ctx, bytes, after);
  if (errorAfter !== undefined) {
    const kept = items.slice(0, Math.max(0, errorAfter));
    const at = kept.length < items.length ? items[kept.length]!.at : plan.doneAt;
    steps.push(
      ...chunkSteps(ctx, send, {
        headerAt,
        drop: p.dropAfterChunks,
        items: kept,
        doneAt: Math.max(headerAt, at),
        finish: () => {
          write(ctx, exceptionMessage('modelStreamErrorException', 'The model stream failed (simulated).'));
          ctx.res.end();
        },
      }),
    );
    return steps;
  }
  steps.push(...chunkSteps(ctx, send, { headerAt, drop: p.dropAfterChunks, items, doneAt: plan.doneAt, finish }));
  return steps;
}

function toolName(body: Json): string {
  const tools = (body.toolConfig as { tools?: { toolSpec?: { name?: unknown } }[] } | undefined)?.tools;
  const name = Array.isArray(tools) ? tools[0]?.toolSpec?.name : undefined;
  return typeof name === 'string' && name !== '' ? name : 'get_weather';
}

export const handleConverse: Handler = (ctx, body, p, plan) => {
  ctx.run([
    {
      at: plan.doneAt,
      fn: () => {
        if (p.dropAfterChunks !== undefined) return ctx.drop();
        const content: Json[] = [];
        if (plan.reasoning.length) content.push({ reasoningContent: { reasoningText: { text: plan.reasoning.join(''), signature: 'sim' } } });
        if (p.toolCall) {
          content.push({ toolUse: { toolUseId: genId('tooluse_'), name: toolName(body), input: JSON.parse(toolArgFragments(plan.content).join('')) } });
        } else {
          content.push({ text: plan.content.join('') });
        }
        const out: Json = {
          output: { message: { role: 'assistant', content } },
          stopReason: p.toolCall ? 'tool_use' : 'end_turn',
          metrics: { latencyMs: Math.round(plan.doneAt) },
        };
        if (!p.noUsage) out.usage = converseUsage(p, plan);
        sendJson(ctx.res, 200, out);
      },
    },
  ]);
};

export const handleConverseStream: Handler = (ctx, body, p, plan) => {
  const frags = p.toolCall ? toolArgFragments(plan.content) : [];
  const reasoningIndex = 0;
  const contentIndex = plan.reasoning.length > 0 ? 1 : 0;
  let reasoningOpen = false;
  const head = () => {
    startEventStream(ctx);
    write(ctx, eventMessage('messageStart', { role: 'assistant' }));
  };
  const reasoning = (text: string) => {
    reasoningOpen = true;
    return eventMessage('contentBlockDelta', { contentBlockIndex: reasoningIndex, delta: { reasoningContent: { text } } });
  };
  const content = (text: string, i: number) => {
    const parts: Uint8Array[] = [];
    if (i === 0 && reasoningOpen) {
      parts.push(eventMessage('contentBlockDelta', { contentBlockIndex: reasoningIndex, delta: { reasoningContent: { signature: 'sim' } } }));
      parts.push(eventMessage('contentBlockStop', { contentBlockIndex: reasoningIndex }));
    }
    if (i === 0 && p.toolCall) {
      parts.push(
        eventMessage('contentBlockStart', {
          contentBlockIndex: contentIndex,
          start: { toolUse: { toolUseId: genId('tooluse_'), name: toolName(body) } },
        }),
      );
    }
    const delta = p.toolCall ? { toolUse: { input: frags[i] } } : { text };
    parts.push(eventMessage('contentBlockDelta', { contentBlockIndex: contentIndex, delta }));
    return Buffer.concat(parts);
  };
  const finish = () => {
    write(ctx, eventMessage('contentBlockStop', { contentBlockIndex: contentIndex }));
    write(ctx, eventMessage('messageStop', { stopReason: p.toolCall ? 'tool_use' : 'end_turn' }));
    const metadata: Json = { metrics: { latencyMs: Math.round(plan.doneAt) } };
    if (!p.noUsage) metadata.usage = converseUsage(p, plan);
    write(ctx, eventMessage('metadata', metadata));
    ctx.res.end();
  };
  ctx.run(streamSteps(ctx, p, plan, head, reasoning, content, finish));
};

/** One InvokeModelWithResponseStream chunk: the model's own JSON event, base64 in `bytes`. */
function chunkMessage(event: Json): Uint8Array {
  return eventMessage('chunk', { bytes: Buffer.from(JSON.stringify(event)).toString('base64') });
}

export const handleInvoke: Handler = (ctx, _body, p, plan, params) => {
  const model = params.modelId ?? 'sim-model';
  ctx.run([
    {
      at: plan.doneAt,
      fn: () => {
        if (p.dropAfterChunks !== undefined) return ctx.drop();
        const content: Json[] = [];
        if (plan.reasoning.length) content.push({ type: 'thinking', thinking: plan.reasoning.join(''), signature: 'sim' });
        content.push({ type: 'text', text: plan.content.join('') });
        const out: Json = {
          id: genId('msg_bdrk_'),
          type: 'message',
          role: 'assistant',
          model,
          content,
          stop_reason: 'end_turn',
          stop_sequence: null,
        };
        if (!p.noUsage) out.usage = anthropicUsage(p, plan);
        const headers: OutgoingHttpHeaders = { 'x-amzn-bedrock-invocation-latency': String(Math.round(plan.doneAt)) };
        if (!p.noUsage) {
          headers['x-amzn-bedrock-input-token-count'] = String(p.promptTokens);
          headers['x-amzn-bedrock-output-token-count'] = String(plan.outputTokens);
        }
        sendJson(ctx.res, 200, out, headers);
      },
    },
  ]);
};

export const handleInvokeStream: Handler = (ctx, _body, p, plan, params) => {
  const model = params.modelId ?? 'sim-model';
  const usage = anthropicUsage(p, plan);
  let reasoningOpen = false;
  const head = () => {
    startEventStream(ctx);
    const message: Json = { id: genId('msg_bdrk_'), type: 'message', role: 'assistant', model, content: [], stop_reason: null };
    if (!p.noUsage) message.usage = { ...usage, output_tokens: 1 };
    write(ctx, chunkMessage({ type: 'message_start', message }));
    if (plan.reasoning.length) write(ctx, chunkMessage({ type: 'content_block_start', index: 0, content_block: { type: 'thinking', thinking: '' } }));
  };
  const reasoning = (text: string) => {
    reasoningOpen = true;
    return chunkMessage({ type: 'content_block_delta', index: 0, delta: { type: 'thinking_delta', thinking: text } });
  };
  const index = plan.reasoning.length > 0 ? 1 : 0;
  const content = (text: string, i: number) => {
    const parts: Uint8Array[] = [];
    if (i === 0 && reasoningOpen) parts.push(chunkMessage({ type: 'content_block_stop', index: 0 }));
    if (i === 0) parts.push(chunkMessage({ type: 'content_block_start', index, content_block: { type: 'text', text: '' } }));
    parts.push(chunkMessage({ type: 'content_block_delta', index, delta: { type: 'text_delta', text } }));
    return Buffer.concat(parts);
  };
  const finish = () => {
    write(ctx, chunkMessage({ type: 'content_block_stop', index }));
    const delta: Json = { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null } };
    if (!p.noUsage) delta.usage = { output_tokens: plan.outputTokens };
    write(ctx, chunkMessage(delta));
    const stop: Json = { type: 'message_stop' };
    if (!p.noUsage) {
      stop['amazon-bedrock-invocationMetrics'] = {
        inputTokenCount: p.promptTokens - p.cacheReadTokens - p.cacheWriteTokens,
        outputTokenCount: plan.outputTokens,
        invocationLatency: Math.round(plan.doneAt),
        firstByteLatency: Math.round(plan.contentTimes[0] ?? plan.doneAt),
        ...(p.cacheReadTokens > 0 ? { cacheReadInputTokenCount: p.cacheReadTokens } : {}),
        ...(p.cacheWriteTokens > 0 ? { cacheWriteInputTokenCount: p.cacheWriteTokens } : {}),
      };
    }
    write(ctx, chunkMessage(stop));
    ctx.res.end();
  };
  ctx.run(streamSteps(ctx, p, plan, head, reasoning, content, finish));
};

const ACTIONS: Readonly<Record<string, Handler>> = {
  converse: handleConverse,
  'converse-stream': handleConverseStream,
  invoke: handleInvoke,
  'invoke-with-response-stream': handleInvokeStream,
};

const PATH = /^\/model\/([^/]+)\/(converse|converse-stream|invoke|invoke-with-response-stream)$/;

/** Matches `/model/{modelId}/{action}` for one action; the captured modelId is decoded. */
export function bedrockPath(action: keyof typeof ACTIONS): (path: string) => { modelId: string } | undefined {
  return (path) => {
    const m = PATH.exec(path);
    if (m === null || m[2] !== action) return undefined;
    try {
      return { modelId: decodeURIComponent(m[1]!) };
    } catch {
      return undefined;
    }
  };
}

export const BEDROCK_HANDLERS = ACTIONS;
