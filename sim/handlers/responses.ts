// POST /v1/responses

import type { Handler, Step } from '../context.js';
import { genId, nowSeconds, sendJson, startEventStream, writeRaw } from '../http.js';
import { get } from '../json.js';
import { toolArgFragments } from '../output.js';

type Json = Record<string, unknown>;

export const handleResponses: Handler = (ctx, body, p, plan) => {
  const { res } = ctx;
  const respId = genId('resp_');
  const createdAt = nowSeconds();
  const model = typeof body.model === 'string' ? body.model : 'sim-model';
  const hasReasoning = plan.reasoning.length > 0;
  const reasoningId = genId('rs_');
  const reasoningItem = () => ({ id: reasoningId, type: 'reasoning', summary: [] });
  const itemId = p.toolCall ? genId('fc_') : genId('msg_');
  const callId = genId('call_');
  const outIndex = hasReasoning ? 1 : 0;
  const requestedTool = Array.isArray(body.tools) ? get(body.tools[0], 'name') : undefined;
  const toolName = typeof requestedTool === 'string' ? requestedTool : 'get_weather';
  const frags = p.toolCall ? toolArgFragments(plan.content) : [];
  const text = plan.content.join('');

  const usage = () =>
    p.noUsage
      ? null
      : {
          input_tokens: p.promptTokens,
          input_tokens_details: { cached_tokens: p.cacheReadTokens },
          output_tokens: plan.outputTokens,
          output_tokens_details: { reasoning_tokens: plan.reasoningTokens },
          total_tokens: p.promptTokens + plan.outputTokens,
        };
  const part = (t: string) =>
    p.refusal ? { type: 'refusal', refusal: t } : { type: 'output_text', annotations: [], logprobs: [], text: t };
  const item = (done: boolean): Json => {
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
  const response = (status: string, output: unknown[], u: unknown) => ({
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
  const send = (type: string, data: Json, after?: () => void) => {
    const ev = { type, sequence_number: seq++, ...data };
    writeRaw(res, `event: ${type}\ndata: ${JSON.stringify(ev)}\n\n`, after);
  };
  const headerAt = p.headerDelayMs ?? 0;
  const drop = p.dropAfterChunks;
  const where = { item_id: itemId, output_index: outIndex };

  const steps: Step[] = [
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
      at: Math.max(headerAt, plan.reasoningTimes[0]!),
      fn: () => send('response.output_item.added', { output_index: 0, item: reasoningItem() }),
    });
    steps.push({
      at: Math.max(headerAt, plan.reasoningTimes[plan.reasoningTimes.length - 1]!),
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
      at: Math.max(headerAt, plan.contentTimes[i]!),
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
};
