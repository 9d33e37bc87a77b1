// POST /v1/completions (the legacy text completions)

import { chunkSteps, type Handler, type Step } from '../context.js';
import { genId, nowSeconds, sendJson, startEventStream, writeRaw } from '../http.js';
import { get } from '../json.js';

type Json = Record<string, unknown>;

export const handleCompletions: Handler = (ctx, body, p, plan) => {
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
          const out: Json = {
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

  const includeUsage = get(body.stream_options, 'include_usage') === true && !p.noUsage;
  const chunk = (choices: unknown[], extra?: Json): Json => {
    const c: Json = { id, object: 'text_completion', created, model, choices };
    if (includeUsage) c.usage = null;
    return Object.assign(c, extra);
  };
  const choice = (text: string, finish: string | null = null) => [{ text, index: 0, logprobs: null, finish_reason: finish }];
  const send = (obj: Json, after?: () => void) => writeRaw(res, `data: ${JSON.stringify(obj)}\n\n`, after);
  const headerAt = p.headerDelayMs ?? 0;
  const drop = p.dropAfterChunks;
  // Legacy completions have no role chunk and no reasoning field: reasoning chunks are plain text.
  const texts = [...plan.reasoning, ...plan.content];
  const times = [...plan.reasoningTimes, ...plan.contentTimes];

  const steps: Step[] = [
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
      items: texts.map((text, i) => ({ at: times[i]!, chunk: () => chunk(choice(text)) })),
      doneAt: plan.doneAt,
      finish: () => {
        send(chunk(choice('', 'stop')));
        if (includeUsage) send(chunk([], { usage: usage() }));
        res.end('data: [DONE]\n\n');
      },
    }),
  );
  ctx.run(steps);
};
