// POST /v1/chat/completions

import type { Behavior } from '../behavior.js';
import { chunkSteps, type Handler, type Step } from '../context.js';
import { genId, nowSeconds, sendJson, startEventStream, writeRaw } from '../http.js';
import { get } from '../json.js';
import { toolArgFragments, type OutputPlan } from '../output.js';

type Json = Record<string, unknown>;

function chatUsage(p: Behavior, plan: OutputPlan) {
  return {
    prompt_tokens: p.promptTokens,
    completion_tokens: plan.outputTokens,
    total_tokens: p.promptTokens + plan.outputTokens,
    prompt_tokens_details: { cached_tokens: p.cacheReadTokens, audio_tokens: 0 },
    completion_tokens_details: {
      reasoning_tokens: plan.reasoningTokens,
      audio_tokens: 0,
      accepted_prediction_tokens: 0,
      rejected_prediction_tokens: 0,
    },
  };
}

export const handleChat: Handler = (ctx, body, p, plan) => {
  const { res } = ctx;
  const id = genId('chatcmpl-');
  const created = nowSeconds();
  const model = typeof body.model === 'string' ? body.model : 'sim-model';
  const requestedTool = Array.isArray(body.tools) ? get(get(body.tools[0], 'function'), 'name') : undefined;
  const toolName = requestedTool ? requestedTool : 'get_weather';
  const toolId = genId('call_');
  const finishReason = p.toolCall ? 'tool_calls' : 'stop';

  if (!body.stream) {
    ctx.run([
      {
        at: plan.doneAt,
        fn: () => {
          if (p.dropAfterChunks !== undefined) return ctx.drop();
          const text = plan.content.join('');
          const message: Json = { role: 'assistant', content: text, refusal: null };
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
          const out: Json = {
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

  const includeUsage = get(body.stream_options, 'include_usage') === true && !p.noUsage;
  const chunk = (choices: unknown[], extra?: Json): Json => {
    const c: Json = { id, object: 'chat.completion.chunk', created, model, system_fingerprint: 'fp_sim', choices };
    if (includeUsage) c.usage = null;
    return Object.assign(c, extra);
  };
  const choice = (delta: Json, finish: string | null = null) => [{ index: 0, delta, logprobs: null, finish_reason: finish }];
  const send = (obj: Json, after?: () => void) => writeRaw(res, `data: ${JSON.stringify(obj)}\n\n`, after);

  const roleDelta = p.toolCall
    ? { role: 'assistant', content: null }
    : p.refusal
      ? { role: 'assistant', content: null, refusal: '' }
      : { role: 'assistant', content: '' };
  const frags = p.toolCall ? toolArgFragments(plan.content) : [];
  const headerAt = p.headerDelayMs ?? 0;
  const drop = p.dropAfterChunks;

  const steps: Step[] = [
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
    steps.push({ at: Math.max(headerAt, plan.reasoningTimes[i]!), fn: () => send(chunk(choice({ reasoning_content: text }))) });
  });
  const deltaOf = (text: string, i: number): Json => {
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
      items: plan.content.map((text, i) => ({ at: plan.contentTimes[i]!, chunk: () => chunk(choice(deltaOf(text, i))) })),
      doneAt: plan.doneAt,
      finish: () => {
        send(chunk(choice({}, finishReason)));
        if (includeUsage) send(chunk([], { usage: chatUsage(p, plan) }));
        res.end('data: [DONE]\n\n');
      },
    }),
  );
  ctx.run(steps);
};
