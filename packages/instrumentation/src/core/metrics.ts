import type { Attributes, MeterProvider } from '@opentelemetry/api';
import { isThenable } from './guards.js';
import { sinkFor } from './instruments.js';
import { reportInternalError } from './internal-errors.js';
import { RequestRecorder, type InferenceTracker, type ModelFilter } from './recorder.js';
import { LabelBound, MAX_MODELS } from './labels.js';
import { backendLabel, currentBackend } from '../gateway/backend.js';
import { ATTR, OPERATION, OTHER_MODEL, PROVIDER } from '../semconv.js';
import {
  extractResponseModel as defaultResponseModel,
  extractUsage as defaultUsage,
  isOutputChunk as defaultIsOutputChunk,
  type OutputChunkPredicate,
  type ResponseModelExtractor,
  type UsageExtractor,
} from './shapes.js';
import { serverOfUrl, type ServerAttributes } from './server.js';
import { InstrumentedIterator, type ChunkHandlers } from './stream.js';

/** Who is asked what: the attributes of one inference request. Never put prompt text here. */
export interface InferenceRequest {
  /** `gen_ai.provider.name`, e.g. `openai`, `anthropic`, or your own name for a vLLM fleet. */
  provider: string;
  /** `gen_ai.request.model`. */
  model?: string;
  /** `gen_ai.operation.name`. Default `chat`. */
  operation?: string;
  /** `server.address` and `server.port`, read from a base URL (`https://host:port/v1`). */
  serverUrl?: string | URL;
  /** `server.address`, when not given through `serverUrl`. */
  serverAddress?: string;
  /** `server.port`, when not given through `serverUrl`. */
  serverPort?: number;
  /**
   * `inference.backend`: the low-cardinality name of the backend a gateway routed this request
   * to. Default: the name of the enclosing `withBackend`, if any. Bounded like the model.
   */
  backend?: string;
}

export interface InferenceMetricsOptions {
  /** Where to record. Default: the global MeterProvider, looked up at each request. */
  meterProvider?: MeterProvider;
  /**
   * Models that may appear as `gen_ai.request.model` / `gen_ai.response.model`; any other
   * is recorded as `other`, to bound cardinality. Default: the first 100 distinct models this
   * instance sees, each as given (clean values only: at most 128 characters, no control
   * characters); later new ones as `other`. The register entry reads it from
   * `OTEL_INFERENCE_MODEL_ALLOWLIST`.
   */
  modelAllowlist?: readonly (string | RegExp)[];
}

export interface CallOptions {
  /** Reads provider-reported usage from the result. Default {@link extractUsage}. */
  extractUsage?: UsageExtractor;
  /** Reads `gen_ai.response.model` from the result. Default {@link extractResponseModel}. */
  extractResponseModel?: ResponseModelExtractor;
}

export interface StreamOptions extends CallOptions {
  /** Which chunks carry output. Default {@link isOutputChunk}. */
  isOutputChunk?: OutputChunkPredicate;
  /** The request's abort signal: a stream that ends while it is aborted counts as cancelled. */
  signal?: AbortSignal;
}

export interface TrackerOptions {
  /** Sets `gen_ai.request.stream` and selects the streaming tokens/s definition. Default false. */
  stream?: boolean;
}

const NOOP_TRACKER: InferenceTracker = {
  output() {},
  setUsage() {},
  setResponseModel() {},
  end() {},
  fail() {},
  cancel() {},
  ended: true,
};

/**
 * The model filter of a {@link InferenceMetricsOptions.modelAllowlist}: a model in the list (or
 * matching one of its patterns) as it is, any other as `other`; the allowlist is then the only
 * bound. No list: the first {@link MAX_MODELS} distinct models as given, later new ones as
 * `other`. Either way only clean label values (core/labels.ts).
 */
export function modelFilterFor(allowlist: readonly (string | RegExp)[] | undefined): ModelFilter {
  let bound: LabelBound;
  if (allowlist === undefined) {
    bound = new LabelBound(ATTR.requestModel, MAX_MODELS, OTHER_MODEL);
  } else {
    const exact = new Set(allowlist.filter((entry): entry is string => typeof entry === 'string'));
    const patterns = allowlist.filter((entry): entry is RegExp => entry instanceof RegExp);
    bound = new LabelBound(ATTR.requestModel, Infinity, OTHER_MODEL, (model) => exact.has(model) || patterns.some((p) => p.test(model)));
  }
  return (model) => bound.bound(model);
}

function serverOf(request: InferenceRequest): ServerAttributes {
  if (request.serverUrl !== undefined) return serverOfUrl(request.serverUrl);
  const server: ServerAttributes = {};
  if (request.serverAddress !== undefined) server.address = request.serverAddress;
  if (request.serverPort !== undefined) server.port = request.serverPort;
  return server;
}

/**
 * Records inference requests into one MeterProvider. The package-level functions use a
 * default instance bound to the global provider; create your own for another provider or
 * a model allowlist.
 */
export class InferenceMetrics {
  private readonly meterProvider: MeterProvider | undefined;
  private readonly modelFilter: ModelFilter;

  constructor(options: InferenceMetricsOptions = {}) {
    this.meterProvider = options.meterProvider;
    this.modelFilter = modelFilterFor(options.modelAllowlist);
  }

  /** Starts a request by hand: +1 active now, everything else recorded when it ends. */
  startRequest(request: InferenceRequest, options: TrackerOptions = {}): InferenceTracker {
    return this.begin(request, options.stream === true) ?? NOOP_TRACKER;
  }

  /**
   * Runs `call` and records it. Returns exactly what `call` returned (the same promise
   * object) and throws or rejects with exactly its error.
   */
  instrumentCall<R>(request: InferenceRequest, call: () => R, options: CallOptions = {}): R {
    const recorder = this.begin(request, false);
    if (recorder === undefined) return call();
    let result: R;
    try {
      result = call();
    } catch (error) {
      recorder.fail(error);
      throw error;
    }
    try {
      if (isThenable(result)) {
        result.then(
          (value) => this.endCall(recorder, value, options),
          (error: unknown) => recorder.fail(error),
        );
      } else {
        this.endCall(recorder, result, options);
      }
    } catch (error) {
      reportInternalError('instrumentCall', error);
    }
    return result;
  }

  /**
   * Wraps a stream. Given an async iterable, returns an iterator over the same chunks, timed
   * from now. Given a function that opens the stream, calls it, times from that call, and
   * resolves to the wrapped stream (or rejects with the function's error).
   */
  instrumentStream<T>(
    request: InferenceRequest,
    stream: AsyncIterable<T>,
    options?: StreamOptions,
  ): AsyncIterableIterator<T>;
  instrumentStream<T>(
    request: InferenceRequest,
    open: () => AsyncIterable<T> | PromiseLike<AsyncIterable<T>>,
    options?: StreamOptions,
  ): Promise<AsyncIterableIterator<T>>;
  instrumentStream<T>(
    request: InferenceRequest,
    source: AsyncIterable<T> | (() => AsyncIterable<T> | PromiseLike<AsyncIterable<T>>),
    options: StreamOptions = {},
  ): AsyncIterableIterator<T> | Promise<AsyncIterableIterator<T>> {
    const recorder = this.begin(request, true);
    const handlers: ChunkHandlers = {
      isOutputChunk: options.isOutputChunk ?? defaultIsOutputChunk,
      extractUsage: options.extractUsage ?? defaultUsage,
      extractResponseModel: options.extractResponseModel ?? defaultResponseModel,
      signal: options.signal,
    };
    const wrap = (iterable: AsyncIterable<T>): AsyncIterableIterator<T> =>
      recorder === undefined
        ? iterable[Symbol.asyncIterator]() as AsyncIterableIterator<T>
        : new InstrumentedIterator(() => iterable[Symbol.asyncIterator](), recorder, handlers);
    if (typeof source !== 'function') return wrap(source);
    let opened: AsyncIterable<T> | PromiseLike<AsyncIterable<T>>;
    try {
      opened = source();
    } catch (error) {
      recorder?.fail(error, options.signal);
      return Promise.reject(error);
    }
    return Promise.resolve(opened).then(wrap, (error: unknown) => {
      recorder?.fail(error, options.signal);
      throw error;
    });
  }

  /** @internal Starts recording a request; undefined if even that failed (reported via diag). */
  begin(request: InferenceRequest, stream: boolean): RequestRecorder | undefined {
    try {
      return new RequestRecorder(
        sinkFor(this.meterProvider),
        this.attributesOf(request, stream),
        stream,
        this.modelFilter,
      );
    } catch (error) {
      reportInternalError('startRequest', error);
      return undefined;
    }
  }

  private attributesOf(request: InferenceRequest, stream: boolean): Attributes {
    const attributes: Attributes = {
      [ATTR.operationName]: request.operation ?? OPERATION.chat,
      [ATTR.providerName]: typeof request.provider === 'string' ? request.provider : PROVIDER.openaiCompatible,
      [ATTR.requestStream]: stream,
    };
    if (typeof request.model === 'string') attributes[ATTR.requestModel] = this.modelFilter(request.model);
    const server = serverOf(request);
    if (server.address !== undefined) attributes[ATTR.serverAddress] = server.address;
    if (server.port !== undefined) attributes[ATTR.serverPort] = server.port;
    // Last, as the aggregator keys its base entries (aggregator.ts BASE_KEYS). The explicit name
    // is bounded here; a context's name was bounded once, by withBackend.
    const backend = request.backend !== undefined ? backendLabel(request.backend) : currentBackend();
    if (backend !== undefined) attributes[ATTR.backend] = backend;
    return attributes;
  }

  private endCall(recorder: RequestRecorder, value: unknown, options: CallOptions): void {
    try {
      const usage = (options.extractUsage ?? defaultUsage)(value);
      if (usage !== undefined) recorder.setUsage(usage);
      const model = (options.extractResponseModel ?? defaultResponseModel)(value);
      if (model !== undefined) recorder.setResponseModel(model);
    } catch (error) {
      reportInternalError('extract', error);
    }
    recorder.end();
  }
}

/** Creates an {@link InferenceMetrics} for a given MeterProvider or model allowlist. */
export function createInferenceMetrics(options?: InferenceMetricsOptions): InferenceMetrics {
  return new InferenceMetrics(options);
}

/** The instance behind the package-level functions: global MeterProvider, no allowlist. */
export const defaultInferenceMetrics = new InferenceMetrics();
