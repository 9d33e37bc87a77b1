// The output of one request, planned before anything is sent: the chunk texts and when each is due.

import type { Behavior } from './behavior.js';
import type { Random } from './random.js';

/** The vocabulary of a profile's random text. */
const WORDS = (
  'the a of to and in that is for it as with was on be by this are at from or an have ' +
  'model token latency stream request server inference metric span trace batch queue cache ' +
  'prompt output context window throughput sample decode prefill kernel memory quickly simply ' +
  'however because therefore result value system answer question example data time first next'
).split(' ');

export interface OutputPlan {
  /** Reasoning chunk texts (sent before the content). */
  reasoning: string[];
  /** Content chunk texts. */
  content: string[];
  /** When each reasoning chunk is due (ms since the request start). */
  reasoningTimes: number[];
  /** When each content chunk is due (ms since the request start). */
  contentTimes: number[];
  /** Time at which the whole (non-streaming) response is ready. */
  doneAt: number;
  outputTokens: number;
  reasoningTokens: number;
}

/** `tok<i> ` without a profile (the tests count on it), a random word with one. */
function tokenText(i: number, profiled: boolean, random: Random): string {
  if (!profiled) return `tok${i} `;
  return WORDS[Math.floor(random() * WORDS.length)] + ' ';
}

/**
 * Builds the output plan for one request: chunk texts and the time (ms since request start) at
 * which each output chunk is due (reasoning chunks first, then content chunks).
 */
export function planOutput(p: Behavior, profiled: boolean, random: Random): OutputPlan {
  const n = Math.max(0, Math.floor(p.chunks));
  const r = Math.max(0, Math.floor(p.reasoningChunks ?? 0));
  const k = Math.max(1, Math.floor(p.tokensPerChunk ?? 1));
  const total = r + n;
  const times: number[] = [];
  if (p.chunkDelays && p.chunkDelays.length >= total) {
    let t = p.ttftMs;
    for (let i = 0; i < total; i++) {
      if (i > 0) t += p.chunkDelays[i]!;
      times.push(t);
    }
  } else {
    for (let i = 0; i < total; i++) times.push(p.ttftMs + i * p.chunkMs);
  }
  let tok = 0;
  const reasoning: string[] = [];
  for (let i = 0; i < r; i++) {
    let s = '';
    for (let j = 0; j < k; j++) s += profiled ? tokenText(++tok, profiled, random) : `think${++tok} `;
    reasoning.push(s);
  }
  tok = 0;
  const content: string[] = [];
  for (let i = 0; i < n; i++) {
    let s = '';
    for (let j = 0; j < k; j++) s += tokenText(++tok, profiled, random);
    content.push(s);
  }
  return {
    reasoning,
    content,
    reasoningTimes: times.slice(0, r),
    contentTimes: times.slice(r),
    doneAt: Math.max(p.headerDelayMs ?? 0, total > 0 ? times[total - 1]! : p.ttftMs),
    outputTokens: total * k,
    reasoningTokens: r * k,
  };
}

/** Tool call argument fragments: `{"q":"tok1 tok2 ..."}` split across chunks 2..n. */
export function toolArgFragments(content: readonly string[]): string[] {
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
