import type { Attributes } from '@opentelemetry/api';
import { errorTypeOf, outcomeOfError } from './error-type.js';
import { reportInternalError } from './internal-errors.js';
import { ERROR_TYPE, METRIC, OUTCOME, type Outcome } from '../semconv.js';
import { reportRejected, tokenCount, type TokenUsage } from './shapes.js';
import type { RecordingSink } from './sink.js';

/** What a request ended with, as far as the caller knows it. */
export interface InferenceResult {
  /** Token counts the provider reported. Never pass estimates: no count, no token metric. */
  usage?: TokenUsage;
  /** The model that answered (`gen_ai.response.model`), when the response names it. */
  responseModel?: string;
}

/**
 * A request in flight, for code that is neither a promise nor an async iterable (callbacks,
 * an SSE proxy relaying bytes). Call {@link InferenceTracker.output} for each output chunk,
 * then exactly one of `end`, `fail` or `cancel`; later calls are ignored.
 */
export interface InferenceTracker {
  /** One output chunk arrived. The first gives time to first chunk; each later one a gap. */
  output(): void;
  /**
   * Merge provider-reported token counts; a later report of a field replaces an earlier one.
   * A field that is not a non-negative safe integer is ignored (one debug line).
   */
  setUsage(usage: TokenUsage): void;
  /** Set `gen_ai.response.model`. */
  setResponseModel(model: string): void;
  /** The request completed: outcome `success`. */
  end(result?: InferenceResult): void;
  /** The request failed with `error` (outcome `error`, or `cancelled` for an abort). */
  fail(error: unknown): void;
  /** The caller gave up on the request: outcome `cancelled`. */
  cancel(): void;
  /** True once the request has been recorded. */
  readonly ended: boolean;
}

export type ModelFilter = (model: string) => string;

/** A request that a shutdown can end: a client-side recorder, or a served request (server/). */
export interface OpenRequest {
  /** Ends the request as `cancelled` with `error.type` = `reason`; nothing once it has ended. */
  cancel(reason?: string): void;
}

/**
 * Every request begun and not yet ended in this process, client or server side, whichever
 * InferenceMetrics and whichever copy of this package (ESM next to CJS) began it: a shutdown
 * ends them all. A request adds itself when it begins and deletes itself when it ends.
 */
const OPEN_KEY = Symbol.for('otel-inference.open-requests');
export const openRequests: Set<OpenRequest> = ((globalThis as { [OPEN_KEY]?: Set<OpenRequest> })[OPEN_KEY] ??= new Set());

/**
 * Ends every request still in flight, the client-side ones and the served ones
 * (`startServerRequest`), as `cancelled`, with `error.type` = `reason`, so that a process that
 * shuts down reports them and its active (and waiting) gauges return to 0 before the last export. A request that ends later records nothing more. Returns how many were ended.
 * `otel-inference/register` calls it on SIGTERM, SIGINT, `beforeExit` and `shutdown()`.
 */
export function cancelOpenRequests(reason: string = ERROR_TYPE.shutdown): number {
  const open = [...openRequests];
  for (const recorder of open) recorder.cancel(reason);
  return open.length;
}

/** Only finite, non-negative times are durations. (A request can take 0 s: a stream collected before anything arrived.) */
function isDuration(seconds: number): boolean {
  return Number.isFinite(seconds) && seconds >= 0;
}

/** Only finite, positive values are rates. */
function isRate(rate: number): boolean {
  return Number.isFinite(rate) && rate > 0;
}

const DURATION_RULE = 'a finite non-negative duration';

const NO_GAPS = new Float64Array(0);

/**
 * Keeps the first `count` gaps (ms) that are durations at the front of `gaps`, in order, with one
 * debug line per other; returns how many there are.
 */
function keepValidGaps(gaps: Float64Array, count: number): number {
  let kept = 0;
  for (let i = 0; i < count; i++) {
    const gap = gaps[i]!;
    if (isDuration(gap)) gaps[kept++] = gap;
    else reportRejected(METRIC.timePerOutputChunk, gap / 1000, DURATION_RULE);
  }
  return kept;
}

/**
 * The gaps between output chunks are written into buffers that are used again by later
 * requests: a stream allocates nothing per chunk (a growing array per stream costs more in
 * garbage collection than the append itself). A buffer is handed back once the sink has read it.
 */
const GAP_BUFFER_LENGTH = 64;
/** Longer buffers (a stream of thousands of chunks) are left to the garbage collector. */
const MAX_POOLED_LENGTH = 4096;
const MAX_POOLED_BUFFERS = 16;
const pooledGapBuffers: Float64Array[] = [];

function takeGapBuffer(): Float64Array {
  return pooledGapBuffers.pop() ?? new Float64Array(GAP_BUFFER_LENGTH);
}

function releaseGapBuffer(buffer: Float64Array): void {
  if (buffer.length <= MAX_POOLED_LENGTH && pooledGapBuffers.length < MAX_POOLED_BUFFERS) pooledGapBuffers.push(buffer);
}

/**
 * The clock, read from the global object once: `performance` is an accessor on globalThis, and
 * reading it costs a good part of a per-chunk budget. The same object: a spy on its `now` still
 * applies.
 */
const clock: { now(): number } = performance;

/** Requests whose stream was garbage-collected before it ended are recorded as cancelled. */
const abandonedStreams = new FinalizationRegistry<RequestRecorder>((recorder) => recorder.abandon());

/**
 * Accumulates one request's timings and usage and records every instrument in one place,
 * exactly once, when the request ends on whichever path.
 */
export class RequestRecorder implements InferenceTracker {
  private readonly startedAt = clock.now();
  private lastActivityAt = this.startedAt;
  private firstOutputAt = -1;
  private lastOutputAt = -1;
  private outputChunks = 0;
  /** The gaps between output chunks, ms: `outputChunks - 1` of them, from the first output on. */
  private gaps: Float64Array | undefined;
  private invalidGaps = false;
  private inputTokens: number | undefined;
  private outputTokens: number | undefined;
  private cacheReadInputTokens: number | undefined;
  private cacheWriteInputTokens: number | undefined;
  private reasoningOutputTokens: number | undefined;
  private responseModel: string | undefined;
  private finished = false;
  private readonly gcToken = {};
  /** What the sink gave back at the start, for the end. */
  private readonly handle: unknown;

  constructor(
    private readonly sink: RecordingSink,
    private readonly base: Attributes,
    private readonly stream: boolean,
    private readonly modelFilter: ModelFilter,
  ) {
    this.handle = sink.begin(base);
    openRequests.add(this);
  }

  get ended(): boolean {
    return this.finished;
  }

  /** Runs for every output chunk: one clock read and one store; everything else is done at the end. */
  output(): void {
    if (this.finished) return;
    const now = clock.now();
    const n = this.outputChunks++;
    if (n === 0) {
      this.firstOutputAt = now;
      this.gaps = takeGapBuffer();
    } else {
      let gaps = this.gaps!;
      if (n > gaps.length) gaps = this.growGaps(gaps);
      const gap = now - this.lastOutputAt;
      gaps[n - 1] = gap;
      // Not a duration only with a clock that is not one (NaN, going back): sorted out at the end.
      if (!(gap >= 0 && gap !== Infinity)) this.invalidGaps = true;
    }
    this.lastOutputAt = now;
    this.lastActivityAt = now;
  }

  private growGaps(gaps: Float64Array): Float64Array {
    const grown = new Float64Array(gaps.length * 4);
    grown.set(gaps);
    releaseGapBuffer(gaps);
    this.gaps = grown;
    return grown;
  }

  /** Something other than output arrived (the response headers). */
  touch(): void {
    this.lastActivityAt = clock.now();
  }

  setUsage(usage: TokenUsage): void {
    // Runs only for chunks that carry usage. A custom extractor may return anything.
    if (usage === undefined || usage === null) return;
    if (typeof usage !== 'object') {
      reportRejected('token usage', usage, 'an object');
      return;
    }
    const input = tokenCount(usage.inputTokens, 'input token count');
    if (input !== undefined) this.inputTokens = input;
    const output = tokenCount(usage.outputTokens, 'output token count');
    if (output !== undefined) this.outputTokens = output;
    // Most reports carry none of these: three property reads, and no call, for them.
    if (usage.cacheReadInputTokens !== undefined) {
      const cacheRead = tokenCount(usage.cacheReadInputTokens, 'cache read input token count');
      if (cacheRead !== undefined) this.cacheReadInputTokens = cacheRead;
    }
    if (usage.cacheWriteInputTokens !== undefined) {
      const cacheWrite = tokenCount(usage.cacheWriteInputTokens, 'cache write input token count');
      if (cacheWrite !== undefined) this.cacheWriteInputTokens = cacheWrite;
    }
    if (usage.reasoningOutputTokens !== undefined) {
      const reasoning = tokenCount(usage.reasoningOutputTokens, 'reasoning output token count');
      if (reasoning !== undefined) this.reasoningOutputTokens = reasoning;
    }
  }

  setResponseModel(model: string): void {
    this.responseModel = model;
  }

  end(result?: InferenceResult): void {
    if (result?.usage !== undefined) this.setUsage(result.usage);
    if (result?.responseModel !== undefined) this.setResponseModel(result.responseModel);
    this.finish(OUTCOME.success, undefined, clock.now());
  }

  /**
   * `errorType`, when given, replaces the `error.type` read from `error` (an adapter that knows
   * the provider's own code for an error with no HTTP status, such as one inside a stream).
   */
  fail(error: unknown, signal?: AbortSignal, errorType?: string): void {
    const endedAt = clock.now();
    let outcome: Outcome = OUTCOME.error;
    let type: string | undefined = ERROR_TYPE.other;
    try {
      outcome = outcomeOfError(error, signal);
      type = outcome === OUTCOME.error ? (errorType ?? errorTypeOf(error)) : undefined;
    } catch (classifyError) {
      // An error object with throwing getters still ends the request, as `_OTHER`.
      reportInternalError('error.type', classifyError);
    }
    this.finish(outcome, type, endedAt);
  }

  /** `reason`, when given, becomes `error.type` (e.g. `shutdown`); a caller's own cancel has none. */
  cancel(reason?: string): void {
    this.finish(OUTCOME.cancelled, reason, clock.now());
  }

  /**
   * Ends the request as cancelled if `target` is garbage-collected first. Replaces any
   * earlier target: whoever holds the stream now is what keeps the request alive.
   */
  watch(target: object): void {
    if (this.finished) return;
    abandonedStreams.unregister(this.gcToken);
    abandonedStreams.register(target, this, this.gcToken);
  }

  /** The stream was collected unfinished. Its duration runs to the last thing seen of it. */
  abandon(): void {
    this.finish(OUTCOME.cancelled, undefined, this.lastActivityAt);
  }

  private finish(outcome: Outcome, errorType: string | undefined, endedAt: number): void {
    if (this.finished) return;
    this.finished = true;
    openRequests.delete(this);
    abandonedStreams.unregister(this.gcToken);
    try {
      this.record(outcome, errorType, endedAt);
    } catch (error) {
      reportInternalError('record', error);
    }
    if (this.gaps !== undefined) {
      releaseGapBuffer(this.gaps);
      this.gaps = undefined;
    }
  }

  /**
   * Validates every value of the request (one debug line per value left out) and hands them
   * to the sink in one call.
   */
  private record(outcome: Outcome, errorType: string | undefined, endedAt: number): void {
    const seconds = (endedAt - this.startedAt) / 1000;
    let duration: number | undefined = seconds;
    if (!isDuration(seconds)) {
      reportRejected(METRIC.operationDuration, seconds, DURATION_RULE);
      duration = undefined;
    }

    let timeToFirstChunk: number | undefined;
    const gaps = this.gaps ?? NO_GAPS;
    let gapCount = 0;
    if (this.outputChunks > 0) {
      const ttfc = (this.firstOutputAt - this.startedAt) / 1000;
      if (isDuration(ttfc)) timeToFirstChunk = ttfc;
      else reportRejected(METRIC.timeToFirstChunk, ttfc, DURATION_RULE);
      gapCount = this.invalidGaps ? keepValidGaps(gaps, this.outputChunks - 1) : this.outputChunks - 1;
    }

    let outputTokenRate: number | undefined;
    if (this.outputTokens !== undefined) {
      const rate = this.outputRate(this.outputTokens, seconds);
      if (rate !== undefined) {
        if (isRate(rate)) outputTokenRate = rate;
        else reportRejected(METRIC.outputTokenRate, rate, 'a finite positive rate');
      }
    }

    this.sink.end(this.handle, this.base, {
      outcome,
      errorType,
      responseModel: this.responseModel !== undefined ? this.modelFilter(this.responseModel) : undefined,
      duration,
      timeToFirstChunk,
      gaps,
      gapCount,
      inputTokens: this.inputTokens,
      outputTokens: this.outputTokens,
      outputTokenRate,
      cacheReadInputTokens: this.cacheReadInputTokens,
      cacheWriteInputTokens: this.cacheWriteInputTokens,
      reasoningOutputTokens: this.reasoningOutputTokens,
    });
  }

  /**
   * Streams: the decode rate, (tokens − 1) / (last output chunk − first output chunk), which
   * leaves out the time to first token. Single responses: tokens / duration.
   */
  private outputRate(tokens: number, seconds: number): number | undefined {
    if (!this.stream) return tokens > 0 && seconds > 0 ? tokens / seconds : undefined;
    const decodeSeconds = (this.lastOutputAt - this.firstOutputAt) / 1000;
    if (this.outputChunks < 2 || tokens < 2 || decodeSeconds <= 0) return undefined;
    return (tokens - 1) / decodeSeconds;
  }
}
