/**
 * The served request: what a model server (or a gateway, through the node:http instrumentation)
 * records for one request it serves, from its arrival to its one end. Every value is recorded in
 * one place, {@link ServerRequestRecorder.finish}, exactly once, on whichever path the request
 * ends; only the live counters and gauges (tokens, active, waiting) move before it.
 */
import { diag, type Attributes, type MeterProvider } from '@opentelemetry/api';
import { errorTypeOf, outcomeOfError } from '../core/error-type.js';
import { reportInternalError } from '../core/internal-errors.js';
import { modelFilterFor } from '../core/metrics.js';
import { openRequests, type InferenceResult, type ModelFilter, type OpenRequest } from '../core/recorder.js';
import { reportRejected, tokenCount, type TokenUsage } from '../core/shapes.js';
import {
  ATTR,
  ERROR_TYPE,
  OPERATION,
  OUTCOME,
  PROVIDER,
  SERVER_METRIC,
  TOKEN_TYPE,
  type Outcome,
} from '../semconv.js';
import { claimServedRequest } from '../instrumentations/server/claim.js';
import { serverInstrumentsFor, type ServerInstruments } from './instruments.js';

export interface ServerRequestOptions {
  /** `gen_ai.operation.name`. Default `chat`. */
  operation?: string;
  /** `gen_ai.provider.name`: the name of this server (e.g. `llama_cpp`, `vllm`). Default `openai_compatible`. */
  provider?: string;
  /** `gen_ai.request.model`, when known at the start (else {@link ServerRequest.setRequestModel}). */
  requestModel?: string;
  /** `server.address` of the listening server. */
  serverAddress?: string;
  /** `server.port` of the listening server. */
  serverPort?: number;
  /**
   * `gen_ai.request.stream`: whether the response is streamed. Also selects the definition of
   * tokens/s (see {@link ServerRequest}). Default: unknown, the attribute left out (or set later
   * with {@link ServerRequest.setStream}).
   */
  stream?: boolean;
  /** Start in the waiting state, as if {@link ServerRequest.queued} were called at the arrival. Default false. */
  queued?: boolean;
  /**
   * When the request arrived, a `performance.now()` time in ms (e.g. taken in the socket's
   * handler, before parsing). Default: now. A time in the future is ignored (one debug line).
   */
  startTime?: number;
  /** Where to record. Default: the global MeterProvider, looked up at each request. */
  meterProvider?: MeterProvider;
  /**
   * Models that may appear as `gen_ai.request.model` / `gen_ai.response.model`; any other is
   * recorded as `other`. Default: the first 100 distinct models as given, later new ones as
   * `other` (core/labels.ts). Same semantics as
   * `InferenceMetricsOptions.modelAllowlist`; the preload reads it from `OTEL_INFERENCE_MODEL_ALLOWLIST`.
   */
  modelAllowlist?: readonly (string | RegExp)[];
}

/** What a served request ended with. */
export type ServerRequestResult = InferenceResult;

/** A phase or stage of a served request: recorded once, on {@link ServerPhase.end} or when it leaves a `using` scope. */
export interface ServerPhase extends Disposable {
  /** Records `inference.server.phase.duration` now; later calls do nothing. */
  end(): void;
  /** True once recorded (by `end()`, a dispose, or the end of its request). */
  readonly ended: boolean;
}

/**
 * A request being served, from {@link startServerRequest}. Mark its waiting, admission, phases,
 * first token and tokens as they happen, then end it exactly once with `end`, `fail`, `failWith`
 * or `cancel`; later calls are ignored (one debug line). A request disposed (`using`) before any
 * of these ends as `error` with `error.type` `_OTHER`: the scope was left without saying how the
 * request went, most often by an exception the dispose cannot see, and success would be a guess.
 *
 * Output tokens per second (`inference.server.output_token_rate`), successful requests only:
 * with a first token marked, or when streamed, the decode rate (output tokens − 1) / (duration −
 * TTFT), the inverse of the time per output token; otherwise output tokens / duration.
 */
export interface ServerRequest extends Disposable {
  /** The request waits in a queue: +1 `inference.server.requests.waiting`. */
  queued(): void;
  /** The request leaves the queue: −1 waiting, and its wait recorded as `inference.server.queue.duration`. */
  admitted(): void;
  /**
   * Starts a phase or stage (a {@link PHASE} value or your own stage name, a short identifier),
   * recorded as `inference.server.phase.duration` with `inference.phase` = `name` when it ends:
   * `using phase = req.phase('prefill')` records on every exit of the scope. A phase still open
   * when the request ends is ended with it.
   */
  phase(name: string): ServerPhase;
  /** The first output token was generated: `gen_ai.server.time_to_first_token`, from the arrival (successful requests only). Once. */
  firstToken(): void;
  /**
   * `count` tokens were generated (`output`, the default) or read (`input`): added to
   * `inference.server.tokens` as they come (gathered for at most 50 ms per request, and at its
   * end), so its rate is live. The request's output count is the sum, unless the usage reports one.
   * Never marks the first token: call {@link ServerRequest.firstToken}.
   */
  tokens(count: number, type?: 'output' | 'input'): void;
  /** Set `gen_ai.request.model` (not on the active gauge, which keeps what was known at the start). */
  setRequestModel(model: string): void;
  /** Set `gen_ai.response.model`. */
  setResponseModel(model: string): void;
  /** Set `gen_ai.request.stream`, when known after the start (not on the active gauge). */
  setStream(stream: boolean): void;
  /**
   * The token counts the model reported; they win over the counted ones for the request's values
   * (TPOT, tokens/s), and the tokens counter is topped up to them at the end. A later report of a
   * field replaces an earlier one.
   */
  setUsage(usage: TokenUsage): void;
  /** The request succeeded: outcome `success`. */
  end(result?: ServerRequestResult): void;
  /**
   * The request failed with `error`: outcome `error`, `error.type` its HTTP status
   * (`status`/`statusCode`), `timeout`, or its class name; an abort error gives `cancelled`.
   */
  fail(error: unknown): void;
  /** The request failed with this `error.type` (an HTTP status code such as 500, or a short identifier). */
  failWith(errorType: string | number): void;
  /** The caller went away: outcome `cancelled`. */
  cancel(): void;
  /** True once the request has been recorded. */
  readonly ended: boolean;
}

const clock: { now(): number } = performance;

const DURATION_RULE = 'a finite non-negative duration';
/**
 * Counted tokens reach the counter at most this often per request (and at its end): one SDK `add`
 * per generated token would cost more than the rest of the request. A collection every 15-60 s
 * sees them at most this late.
 */
const TOKENS_FLUSH_MS = 50;
/** `error.type` values given by the app: a status code or a short identifier, never a message. */
const ERROR_TYPE_VALUE = /^[A-Za-z0-9_$][\w$.-]{0,63}$/;
/** Phase names are label values: short identifiers. */
const PHASE_NAME = /^[A-Za-z_][\w.-]{0,63}$/;

function isDuration(seconds: number): boolean {
  return Number.isFinite(seconds) && seconds >= 0;
}

function isRate(rate: number): boolean {
  return Number.isFinite(rate) && rate > 0;
}

function nonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}

const UNFILTERED: ModelFilter = modelFilterFor(undefined);
const filters = new WeakMap<readonly (string | RegExp)[], ModelFilter>();

/** One filter per allowlist array: the preload passes the same array to every request. */
function filterOf(allowlist: readonly (string | RegExp)[] | undefined): ModelFilter {
  if (allowlist === undefined) return UNFILTERED;
  if (!Array.isArray(allowlist)) {
    reportRejected('modelAllowlist', allowlist, 'an array');
    return UNFILTERED;
  }
  let filter = filters.get(allowlist);
  if (filter === undefined) {
    filter = modelFilterFor(allowlist);
    filters.set(allowlist, filter);
  }
  return filter;
}

const NOOP_PHASE: ServerPhase = {
  end() {},
  [Symbol.dispose]() {},
  ended: true,
};

class PhaseTimer implements ServerPhase {
  readonly startedAt = clock.now();
  done = false;

  constructor(
    private readonly request: ServerRequestRecorder,
    readonly name: string,
  ) {}

  get ended(): boolean {
    return this.done;
  }

  end(): void {
    this.request.endPhase(this, clock.now());
  }

  [Symbol.dispose](): void {
    this.end();
  }
}

export class ServerRequestRecorder implements ServerRequest, OpenRequest {
  private readonly instruments: ServerInstruments;
  private readonly modelFilter: ModelFilter;
  private readonly startedAt: number;
  /** What is known at the start: the active gauge's +1 and −1 carry exactly these. */
  private readonly base: Attributes;
  private requestModel: string | undefined;
  private responseModel: string | undefined;
  private stream: boolean | undefined;
  /** The request's attributes as they are now; rebuilt after a setter changed one. */
  private attributes: Attributes | undefined;
  private inputTokenAttributes: Attributes | undefined;
  private outputTokenAttributes: Attributes | undefined;
  /** When the current wait began, -1 when not waiting; and the waiting gauge's attributes of its +1. */
  private waitingSince = -1;
  private waitingAttributes: Attributes | undefined;
  private firstTokenAt = -1;
  private countedInput = 0;
  private countedOutput = 0;
  private countedAnyOutput = false;
  /** What the tokens counter has been given so far, and when. */
  private addedInput = 0;
  private addedOutput = 0;
  private flushedAt: number;
  private reportedInput: number | undefined;
  private reportedOutput: number | undefined;
  private openPhases: Set<PhaseTimer> | undefined;
  private finished = false;
  private saidIgnored = false;

  constructor(options: ServerRequestOptions) {
    const now = clock.now();
    let startedAt = now;
    if (options.startTime !== undefined) {
      if (typeof options.startTime === 'number' && Number.isFinite(options.startTime) && options.startTime <= now) {
        startedAt = options.startTime;
      } else {
        reportRejected('startTime', options.startTime, 'a performance.now() time not in the future');
      }
    }
    this.startedAt = startedAt;
    this.flushedAt = startedAt;
    this.modelFilter = filterOf(options.modelAllowlist);
    this.instruments = serverInstrumentsFor(options.meterProvider);

    const base: Attributes = {
      [ATTR.operationName]: this.stringOption(options.operation, 'operation', OPERATION.chat),
      [ATTR.providerName]: this.stringOption(options.provider, 'provider', PROVIDER.openaiCompatible),
    };
    if (options.stream !== undefined) {
      if (typeof options.stream === 'boolean') {
        this.stream = options.stream;
        base[ATTR.requestStream] = options.stream;
      } else reportRejected('stream', options.stream, 'a boolean');
    }
    if (options.requestModel !== undefined) {
      if (nonEmptyString(options.requestModel)) {
        this.requestModel = this.modelFilter(options.requestModel);
        base[ATTR.requestModel] = this.requestModel;
      } else reportRejected(ATTR.requestModel, options.requestModel, 'a non-empty string');
    }
    if (options.serverAddress !== undefined) {
      if (nonEmptyString(options.serverAddress)) base[ATTR.serverAddress] = options.serverAddress;
      else reportRejected(ATTR.serverAddress, options.serverAddress, 'a non-empty string');
    }
    if (options.serverPort !== undefined) {
      const port = options.serverPort;
      if (Number.isInteger(port) && port >= 0 && port <= 65535) base[ATTR.serverPort] = port;
      else reportRejected(ATTR.serverPort, port, 'a port number');
    }
    this.base = base;

    // Last: nothing may fail between the +1 and the request being known to the shutdown.
    this.instruments.activeRequests.add(1, base);
    openRequests.add(this);
    if (options.queued === true) this.enterQueue(startedAt);
  }

  private stringOption(value: unknown, what: string, fallback: string): string {
    if (value === undefined) return fallback;
    if (nonEmptyString(value)) return value;
    reportRejected(what, value, 'a non-empty string');
    return fallback;
  }

  get ended(): boolean {
    return this.finished;
  }

  /** One debug line per request for calls after its end (a shutdown may have ended it). */
  private ignored(what: string): void {
    if (this.saidIgnored) return;
    this.saidIgnored = true;
    diag.debug(`otel-inference: ${what}() on a served request that has ended is ignored`);
  }

  /** The attributes of the request as known now (the base, with the models and stream set since). */
  private current(): Attributes {
    let attributes = this.attributes;
    if (attributes === undefined) {
      attributes = { ...this.base };
      if (this.stream !== undefined) attributes[ATTR.requestStream] = this.stream;
      if (this.requestModel !== undefined) attributes[ATTR.requestModel] = this.requestModel;
      if (this.responseModel !== undefined) attributes[ATTR.responseModel] = this.responseModel;
      this.attributes = attributes;
    }
    return attributes;
  }

  /** An attribute is about to change: tokens counted so far are added under the attributes they were counted with. */
  private changing(): void {
    this.flushTokens(clock.now());
    this.attributes = undefined;
    this.inputTokenAttributes = undefined;
    this.outputTokenAttributes = undefined;
  }

  private tokenAttributes(type: 'input' | 'output'): Attributes {
    if (type === TOKEN_TYPE.output) {
      return (this.outputTokenAttributes ??= { ...this.current(), [ATTR.tokenType]: TOKEN_TYPE.output });
    }
    return (this.inputTokenAttributes ??= { ...this.current(), [ATTR.tokenType]: TOKEN_TYPE.input });
  }

  queued(): void {
    if (this.finished) return this.ignored('queued');
    if (this.waitingSince >= 0) return;
    this.enterQueue(clock.now());
  }

  private enterQueue(at: number): void {
    try {
      this.waitingAttributes = this.current();
      this.instruments.waitingRequests.add(1, this.waitingAttributes);
      this.waitingSince = at;
    } catch (error) {
      reportInternalError('queued', error);
    }
  }

  admitted(): void {
    if (this.finished) return this.ignored('admitted');
    if (this.waitingSince < 0) {
      diag.debug('otel-inference: admitted() on a served request that is not queued is ignored');
      return;
    }
    this.leaveQueue(clock.now());
  }

  /** −1 waiting with the attributes of the +1, and the wait as queue time. */
  private leaveQueue(at: number): void {
    const since = this.waitingSince;
    this.waitingSince = -1;
    try {
      this.instruments.waitingRequests.add(-1, this.waitingAttributes);
      const seconds = (at - since) / 1000;
      if (isDuration(seconds)) this.instruments.queueDuration.record(seconds, this.current());
      else reportRejected(SERVER_METRIC.queueDuration, seconds, DURATION_RULE);
    } catch (error) {
      reportInternalError('admitted', error);
    }
  }

  phase(name: string): ServerPhase {
    if (this.finished) {
      this.ignored('phase');
      return NOOP_PHASE;
    }
    if (typeof name !== 'string' || !PHASE_NAME.test(name)) {
      reportRejected(ATTR.phase, name, 'a short identifier (letters, digits, _ . -)');
      return NOOP_PHASE;
    }
    const phase = new PhaseTimer(this, name);
    (this.openPhases ??= new Set()).add(phase);
    return phase;
  }

  /** @internal Records `phase` ending at `at`, once. */
  endPhase(phase: PhaseTimer, at: number): void {
    if (phase.done) return;
    phase.done = true;
    this.openPhases?.delete(phase);
    try {
      const seconds = (at - phase.startedAt) / 1000;
      if (isDuration(seconds)) {
        this.instruments.phaseDuration.record(seconds, { ...this.current(), [ATTR.phase]: phase.name });
      } else {
        reportRejected(SERVER_METRIC.phaseDuration, seconds, DURATION_RULE);
      }
    } catch (error) {
      reportInternalError('phase', error);
    }
  }

  firstToken(): void {
    if (this.finished) return this.ignored('firstToken');
    if (this.firstTokenAt < 0) this.firstTokenAt = clock.now();
  }

  tokens(count: number, type: 'output' | 'input' = TOKEN_TYPE.output): void {
    if (this.finished) return this.ignored('tokens');
    if (type !== TOKEN_TYPE.output && type !== TOKEN_TYPE.input) {
      reportRejected(ATTR.tokenType, type, '"input" or "output"');
      return;
    }
    if (!Number.isSafeInteger(count) || count < 0) return reportRejected('token count', count, 'a non-negative safe integer');
    const n = count;
    if (type === TOKEN_TYPE.output) {
      this.countedOutput += n;
      this.countedAnyOutput = true;
    } else {
      this.countedInput += n;
    }
    const now = clock.now();
    if (now - this.flushedAt >= TOKENS_FLUSH_MS) this.flushTokens(now);
  }

  /** Adds to the tokens counter what was counted since the last time, up to `input`/`output` when larger. */
  private flushTokens(now: number, input = this.countedInput, output = this.countedOutput): void {
    this.flushedAt = now;
    try {
      if (output > this.addedOutput) {
        this.instruments.tokens.add(output - this.addedOutput, this.tokenAttributes(TOKEN_TYPE.output));
        this.addedOutput = output;
      }
      if (input > this.addedInput) {
        this.instruments.tokens.add(input - this.addedInput, this.tokenAttributes(TOKEN_TYPE.input));
        this.addedInput = input;
      }
    } catch (error) {
      reportInternalError('tokens', error);
    }
  }

  setRequestModel(model: string): void {
    if (this.finished) return this.ignored('setRequestModel');
    if (!nonEmptyString(model)) return reportRejected(ATTR.requestModel, model, 'a non-empty string');
    const filtered = this.modelFilter(model);
    if (filtered === this.requestModel) return;
    this.changing();
    this.requestModel = filtered;
  }

  setResponseModel(model: string): void {
    if (this.finished) return this.ignored('setResponseModel');
    if (!nonEmptyString(model)) return reportRejected(ATTR.responseModel, model, 'a non-empty string');
    const filtered = this.modelFilter(model);
    if (filtered === this.responseModel) return;
    this.changing();
    this.responseModel = filtered;
  }

  setStream(stream: boolean): void {
    if (this.finished) return this.ignored('setStream');
    if (typeof stream !== 'boolean') return reportRejected(ATTR.requestStream, stream, 'a boolean');
    if (stream === this.stream) return;
    this.changing();
    this.stream = stream;
  }

  setUsage(usage: TokenUsage): void {
    if (this.finished) return this.ignored('setUsage');
    this.mergeUsage(usage);
  }

  private mergeUsage(usage: TokenUsage): void {
    if (usage === undefined || usage === null) return;
    if (typeof usage !== 'object') return reportRejected('token usage', usage, 'an object');
    const input = tokenCount(usage.inputTokens, 'input token count');
    if (input !== undefined) this.reportedInput = input;
    const output = tokenCount(usage.outputTokens, 'output token count');
    if (output !== undefined) this.reportedOutput = output;
  }

  end(result?: ServerRequestResult): void {
    if (this.finished) return this.ignored('end');
    const endedAt = clock.now();
    if (result !== undefined && result !== null) {
      if (typeof result === 'object') {
        if (result.usage !== undefined) this.mergeUsage(result.usage);
        if (result.responseModel !== undefined) this.setResponseModel(result.responseModel);
      } else {
        reportRejected('result', result, 'an object');
      }
    }
    this.finish(OUTCOME.success, undefined, endedAt);
  }

  fail(error: unknown): void {
    if (this.finished) return this.ignored('fail');
    const endedAt = clock.now();
    let outcome: Outcome = OUTCOME.error;
    let errorType: string | undefined = ERROR_TYPE.other;
    try {
      outcome = outcomeOfError(error);
      errorType = outcome === OUTCOME.error ? errorTypeOf(error) : undefined;
    } catch (classifyError) {
      // An error object with throwing getters still ends the request, as `_OTHER`.
      reportInternalError('error.type', classifyError);
    }
    this.finish(outcome, errorType, endedAt);
  }

  failWith(errorType: string | number): void {
    if (this.finished) return this.ignored('failWith');
    let value: string = ERROR_TYPE.other;
    if (typeof errorType === 'number' && Number.isInteger(errorType) && errorType >= 100 && errorType <= 599) {
      value = String(errorType);
    } else if (typeof errorType === 'string' && ERROR_TYPE_VALUE.test(errorType)) {
      value = errorType;
    } else {
      reportRejected(ATTR.errorType, errorType, 'an HTTP status code or a short identifier');
    }
    this.finish(OUTCOME.error, value, clock.now());
  }

  /** `reason`, when given, becomes `error.type` (`shutdown` from `cancelOpenRequests`); the caller's own cancel has none. */
  cancel(reason?: string): void {
    if (this.finished) {
      if (reason === undefined) this.ignored('cancel');
      return;
    }
    this.finish(OUTCOME.cancelled, reason, clock.now());
  }

  /**
   * @internal The request is recorded by someone else (the zero-code record of an HTTP request
   * the app records itself with startServerRequest): the gauges' +1 undone, nothing recorded.
   */
  discard(): void {
    if (this.finished) return;
    this.finished = true;
    openRequests.delete(this);
    try {
      if (this.waitingSince >= 0) this.instruments.waitingRequests.add(-1, this.waitingAttributes);
      this.instruments.activeRequests.add(-1, this.base);
    } catch (error) {
      reportInternalError('server discard', error);
    }
  }

  [Symbol.dispose](): void {
    if (this.finished) return;
    diag.debug('otel-inference: a served request left its scope without end(), fail() or cancel(): recorded as error _OTHER');
    this.finish(OUTCOME.error, ERROR_TYPE.other, clock.now());
  }

  private finish(outcome: Outcome, errorType: string | undefined, endedAt: number): void {
    if (this.finished) return;
    this.finished = true;
    openRequests.delete(this);
    try {
      this.record(outcome, errorType, endedAt);
    } catch (error) {
      reportInternalError('server record', error);
    }
  }

  /** Every value of the request, validated, recorded in one place. */
  private record(outcome: Outcome, errorType: string | undefined, endedAt: number): void {
    const { instruments } = this;
    if (this.openPhases !== undefined) {
      for (const phase of this.openPhases) this.endPhase(phase, endedAt);
    }
    if (this.waitingSince >= 0) this.leaveQueue(endedAt);
    instruments.activeRequests.add(-1, this.base);

    // The tokens counter gets the rest of the counted tokens, and reaches the reported counts.
    this.flushTokens(
      endedAt,
      Math.max(this.countedInput, this.reportedInput ?? 0),
      Math.max(this.countedOutput, this.reportedOutput ?? 0),
    );

    const attributes = this.current();
    const ended: Attributes = errorType === undefined ? attributes : { ...attributes, [ATTR.errorType]: errorType };
    const withOutcome: Attributes = { ...ended, [ATTR.outcome]: outcome };
    instruments.requests.add(1, withOutcome);
    const seconds = (endedAt - this.startedAt) / 1000;
    if (isDuration(seconds)) instruments.requestDuration.record(seconds, withOutcome);
    else reportRejected(SERVER_METRIC.requestDuration, seconds, DURATION_RULE);

    // Semconv: time to first token and time per output token "for successful responses".
    if (outcome !== OUTCOME.success) return;
    let ttft: number | undefined;
    if (this.firstTokenAt >= 0) {
      const value = (this.firstTokenAt - this.startedAt) / 1000;
      if (isDuration(value)) {
        ttft = value;
        instruments.timeToFirstToken.record(value, attributes);
      } else {
        reportRejected(SERVER_METRIC.timeToFirstToken, value, DURATION_RULE);
      }
    }
    const output = this.reportedOutput ?? (this.countedAnyOutput ? this.countedOutput : undefined);
    if (output === undefined || !isDuration(seconds)) return;
    if (ttft !== undefined && output >= 2) {
      const tpot = (seconds - ttft) / (output - 1);
      if (isDuration(tpot)) instruments.timePerOutputToken.record(tpot, attributes);
      else reportRejected(SERVER_METRIC.timePerOutputToken, tpot, DURATION_RULE);
    }
    const rate = this.outputRate(output, seconds, ttft);
    if (rate !== undefined) {
      if (isRate(rate)) instruments.outputTokenRate.record(rate, attributes);
      else reportRejected(SERVER_METRIC.outputTokenRate, rate, 'a finite positive rate');
    }
  }

  /**
   * With a first token (or a stream): the decode rate, (tokens − 1) / (duration − TTFT), the
   * inverse of TPOT; a stream without a first token has none. Otherwise tokens / duration.
   */
  private outputRate(tokens: number, seconds: number, ttft: number | undefined): number | undefined {
    if (ttft !== undefined || this.stream === true) {
      if (ttft === undefined || tokens < 2) return undefined;
      return (tokens - 1) / (seconds - ttft);
    }
    return tokens > 0 ? tokens / seconds : undefined;
  }
}

const NOOP_REQUEST: ServerRequest = {
  queued() {},
  admitted() {},
  phase: () => NOOP_PHASE,
  firstToken() {},
  tokens() {},
  setRequestModel() {},
  setResponseModel() {},
  setStream() {},
  setUsage() {},
  end() {},
  fail() {},
  failWith() {},
  cancel() {},
  [Symbol.dispose]() {},
  ended: true,
};

/**
 * Starts recording a request this process serves: +1 `inference.server.requests.active` now
 * (+1 waiting too with `queued: true`), everything else as it is marked and when it ends. Never
 * throws: if even the start fails, the request returned records nothing (one diag line).
 */
export function startServerRequest(options: ServerRequestOptions = {}): ServerRequest {
  try {
    // The zero-code record of the HTTP request being handled, if any, leaves it to this one.
    claimServedRequest();
    return new ServerRequestRecorder(options ?? {});
  } catch (error) {
    reportInternalError('startServerRequest', error);
    return NOOP_REQUEST;
  }
}
