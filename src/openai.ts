import { diag } from '@opentelemetry/api';
import { defaultInferenceMetrics, type InferenceMetrics } from './metrics.js';
import { reportInternalError } from './internal-errors.js';
import type { RequestRecorder } from './recorder.js';
import { OPERATION, PROVIDER, PROVIDER_BY_HOST } from './semconv.js';
import { extractResponseModel, extractUsage, isOutputChunk } from './shapes.js';
import { InstrumentedIterator, type ChunkHandlers } from './stream.js';

export interface OpenAIInstrumentationOptions {
  /** Where to record. Default: the global MeterProvider, no model allowlist. */
  metrics?: InferenceMetrics;
  /**
   * `gen_ai.provider.name` for a base URL that is not a well-known provider host (a vLLM,
   * Ollama or gateway URL). Default `openai_compatible`. Register reads
   * `OTEL_INFERENCE_PROVIDER_NAME`.
   */
  providerName?: string;
  /**
   * Whether streamed chat and completions calls ask the server for usage
   * (`stream_options.include_usage`), so that token usage and tokens/s can be recorded.
   * The extra usage chunk and the `usage: null` fields it adds are withheld from your loop.
   * `auto` (default): only for api.openai.com and `streamUsageHosts`; `always`; `never`.
   * A call that sets `stream_options.include_usage` itself is never changed.
   * Register reads `OTEL_INFERENCE_STREAM_USAGE`.
   */
  streamUsage?: 'auto' | 'always' | 'never';
  /**
   * More hosts (`host` or `host:port`) known to accept `stream_options`, e.g. your vLLM
   * servers. Default none. Register reads `OTEL_INFERENCE_STREAM_USAGE_HOSTS`.
   */
  streamUsageHosts?: readonly string[];
}

interface Endpoint {
  readonly staticPath: readonly string[];
  readonly instancePath: readonly string[];
  readonly operation: string;
  readonly acceptsStreamOptions: boolean;
}

const ENDPOINTS: readonly Endpoint[] = [
  { staticPath: ['Chat', 'Completions'], instancePath: ['chat', 'completions'], operation: OPERATION.chat, acceptsStreamOptions: true },
  { staticPath: ['Completions'], instancePath: ['completions'], operation: OPERATION.textCompletion, acceptsStreamOptions: true },
  { staticPath: ['Responses'], instancePath: ['responses'], operation: OPERATION.chat, acceptsStreamOptions: false },
  { staticPath: ['Embeddings'], instancePath: ['embeddings'], operation: OPERATION.embeddings, acceptsStreamOptions: false },
];

const OPENAI_HOST = 'api.openai.com';
const AZURE_HOST_SUFFIX = '.openai.azure.com';
/** Marks our wrapper and keeps the original; Symbol.for so that ESM and CJS copies agree. */
const ORIGINAL = Symbol.for('otel-inference.openai.original');

type Obj = Record<PropertyKey, unknown>;
type AnyFunction = (this: unknown, ...args: unknown[]) => unknown;

function isObject(value: unknown): value is Obj {
  return (typeof value === 'object' || typeof value === 'function') && value !== null;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return isObject(value) && typeof value.then === 'function';
}

interface Config {
  readonly metrics: InferenceMetrics;
  readonly providerName: string;
  readonly streamUsage: 'auto' | 'always' | 'never';
  readonly streamUsageHosts: ReadonlySet<string>;
  readonly clients: WeakMap<object, ClientInfo>;
}

interface ClientInfo {
  readonly provider: string;
  readonly address?: string;
  readonly port?: number;
  /** `host` and `host:port`, for the stream-usage host list. */
  readonly hostKeys: readonly string[];
  /** `host:port`: a refusal of stream_options is remembered per server, not per machine. */
  readonly server?: string;
}

/** Servers (`host:port`) that refused an injected `stream_options`: never asked again. */
const rejectsStreamOptions = new Set<string>();

function clientInfo(client: unknown, config: Config): ClientInfo {
  if (!isObject(client)) return { provider: config.providerName, hostKeys: [] };
  let info = config.clients.get(client);
  if (info !== undefined) return info;
  info = { provider: config.providerName, hostKeys: [] };
  try {
    const url = new URL(String(client.baseURL));
    const port = url.port !== '' ? Number(url.port) : url.protocol === 'http:' ? 80 : 443;
    const host = url.hostname;
    const provider =
      PROVIDER_BY_HOST[host] ?? (host.endsWith(AZURE_HOST_SUFFIX) ? PROVIDER.azureOpenai : config.providerName);
    info = { provider, address: host, port, hostKeys: [host, `${host}:${port}`], server: `${host}:${port}` };
  } catch {
    // No usable base URL: record without server attributes.
  }
  config.clients.set(client, info);
  return info;
}

function injectsStreamUsage(info: ClientInfo, config: Config): boolean {
  if (config.streamUsage === 'never' || (info.server !== undefined && rejectsStreamOptions.has(info.server))) return false;
  if (config.streamUsage === 'always') return true;
  return info.hostKeys.some((key) => key === OPENAI_HOST || config.streamUsageHosts.has(key));
}

/** Keeps the usage chunk we asked for away from the consumer, and the `usage: null` it adds. */
function withholdInjectedUsage(chunk: unknown): boolean {
  if (!isObject(chunk)) return false;
  if (Array.isArray(chunk.choices) && chunk.choices.length === 0 && isObject(chunk.usage)) return true;
  if (chunk.usage === null) delete chunk.usage;
  return false;
}

class OpenAICall {
  constructor(
    readonly recorder: RequestRecorder,
    readonly args: unknown[],
    readonly stream: boolean,
    public injected: boolean,
    readonly info: ClientInfo,
    readonly signal: AbortSignal | undefined,
    /** Sends the request again exactly as the caller made it. */
    readonly resend: () => unknown,
  ) {}

  fail(error: unknown, signal = this.signal): void {
    this.recorder.fail(error, signal);
  }

  /**
   * True when the server refused the `stream_options` we added. The host is then never asked
   * again, and the caller must get the answer to the request exactly as they made it.
   */
  refusedStreamOptions(error: unknown): boolean {
    if (!this.injected || !isObject(error) || (error.status !== 400 && error.status !== 422)) return false;
    if (!/stream_options|include_usage/i.test(String(error.message))) return false;
    if (this.info.server !== undefined) rejectsStreamOptions.add(this.info.server);
    diag.warn(
      `otel-inference: ${this.info.address ?? 'the server'} rejected stream_options.include_usage; ` +
        'the request was sent again without it and this host is no longer asked for stream usage.',
    );
    this.injected = false;
    return true;
  }

  /** The call's value arrived: a stream to watch, or a response to read usage from. */
  settle(value: unknown): void {
    try {
      if (this.stream && isObject(value) && typeof value.iterator === 'function') {
        this.watchStream(value);
        return;
      }
      this.recorder.end({ usage: extractUsage(value), responseModel: extractResponseModel(value) });
    } catch (error) {
      reportInternalError('openai response', error);
      this.recorder.end();
    }
  }

  /**
   * Wraps the stream's own `iterator`, which `for await`, `tee()` and `toReadableStream()`
   * all go through, so the Stream object the caller holds stays the same object.
   */
  private watchStream(stream: Obj): void {
    const original = stream.iterator as AnyFunction;
    const controller = stream.controller;
    const signal =
      isObject(controller) && controller.signal instanceof AbortSignal ? controller.signal : this.signal;
    const handlers: ChunkHandlers = {
      isOutputChunk,
      extractUsage,
      extractResponseModel,
      signal,
      withhold: this.injected ? withholdInjectedUsage : undefined,
    };
    const recorder = this.recorder;
    let opened = false;
    stream.iterator = function (this: unknown, ...args: unknown[]): unknown {
      // Only the first iteration is the request's; the client itself rejects a second one.
      if (opened) return original.apply(this, args);
      opened = true;
      let source: AsyncIterator<unknown>;
      try {
        source = original.apply(this, args) as AsyncIterator<unknown>;
      } catch (error) {
        recorder.fail(error, signal);
        throw error;
      }
      return new InstrumentedIterator(() => source, recorder, handlers);
    };
    recorder.watch(stream);
  }
}

function beginCall(
  resource: unknown,
  args: unknown[],
  endpoint: Endpoint,
  config: Config,
  original: AnyFunction,
): OpenAICall | undefined {
  const body = args[0];
  if (!isObject(body)) return undefined;
  const info = clientInfo(isObject(resource) ? resource._client : undefined, config);
  const stream = body.stream === true;
  const requestOptions = args[1];
  const signal =
    isObject(requestOptions) && requestOptions.signal instanceof AbortSignal ? requestOptions.signal : undefined;

  let callArgs = args;
  let injected = false;
  const streamOptions = isObject(body.stream_options) ? body.stream_options : undefined;
  if (
    stream &&
    endpoint.acceptsStreamOptions &&
    (body.stream_options === undefined || (streamOptions !== undefined && streamOptions.include_usage === undefined)) &&
    injectsStreamUsage(info, config)
  ) {
    // A copy: the caller's params object is never modified.
    callArgs = [{ ...body, stream_options: { ...streamOptions, include_usage: true } }, ...args.slice(1)];
    injected = true;
  }

  const recorder = config.metrics.begin(
    {
      provider: info.provider,
      ...(typeof body.model === 'string' ? { model: body.model } : {}),
      operation: endpoint.operation,
      ...(info.address !== undefined ? { serverAddress: info.address } : {}),
      ...(info.port !== undefined ? { serverPort: info.port } : {}),
    },
    stream,
  );
  if (recorder === undefined) return undefined;
  return new OpenAICall(recorder, callArgs, stream, injected, info, signal, () => original.apply(resource, args));
}

/**
 * Observes an openai APIPromise without changing it: the caller keeps the same object, with
 * `.withResponse()`, `.asResponse()` and lazy parsing intact. The body is never read here:
 * we see the parsed value only when the caller's own parse produces it.
 */
function observeAPIPromise(promise: Obj, call: OpenAICall): void {
  if (call.injected) {
    // The APIPromise reads `responsePromise` when it parses, so swapping it here, before the
    // caller can touch the promise, lets a refused `stream_options` be retried unseen.
    promise.responsePromise = (promise.responsePromise as Promise<unknown>).then(undefined, (error: unknown) => {
      if (!call.refusedStreamOptions(error)) throw error;
      const resent = call.resend();
      return isObject(resent) && isThenable(resent.responsePromise) ? resent.responsePromise : resent;
    });
  }
  const parse = promise.parseResponse as AnyFunction;
  let parseStarted = false;
  promise.parseResponse = function (this: unknown, ...args: unknown[]): unknown {
    parseStarted = true;
    let parsed: unknown;
    try {
      parsed = parse.apply(this, args);
    } catch (error) {
      call.fail(error);
      throw error;
    }
    if (!isThenable(parsed)) {
      call.settle(parsed);
      return parsed;
    }
    return parsed.then(
      (value) => {
        call.settle(value);
        return value;
      },
      (error: unknown) => {
        call.fail(error);
        throw error;
      },
    );
  };
  (promise.responsePromise as PromiseLike<unknown>).then(
    () => {
      call.recorder.touch();
      // A caller who awaits has registered its parse on this same promise, so its reaction is
      // already queued: a microtask queued now runs after it. If nothing parses the response
      // (`.asResponse()`, or a promise nobody awaits), the call ends at the headers. No
      // setImmediate here: one per call costs ~40 µs of extra event-loop turns.
      queueMicrotask(() => {
        if (!parseStarted) call.recorder.end();
      });
    },
    (error: unknown) => call.fail(error),
  );
}

function observeResult(result: unknown, call: OpenAICall): void {
  if (isObject(result) && isThenable(result.responsePromise) && typeof result.parseResponse === 'function') {
    observeAPIPromise(result, call);
  } else if (isThenable(result)) {
    result.then(
      (value) => call.settle(value),
      (error: unknown) => call.fail(error),
    );
  } else {
    call.settle(result);
  }
}

function wrapCreate(original: AnyFunction, endpoint: Endpoint, config: Config): AnyFunction {
  const create = function (this: unknown, ...args: unknown[]): unknown {
    let call: OpenAICall | undefined;
    try {
      call = beginCall(this, args, endpoint, config, original);
    } catch (error) {
      reportInternalError('openai request', error);
    }
    if (call === undefined) return original.apply(this, args);
    let result: unknown;
    try {
      result = original.apply(this, call.args);
    } catch (error) {
      call.fail(error);
      throw error;
    }
    try {
      observeResult(result, call);
    } catch (error) {
      reportInternalError('openai result', error);
    }
    return result;
  };
  Object.defineProperty(create, 'name', { value: original.name });
  Object.defineProperty(create, 'length', { value: original.length });
  Object.defineProperty(create, ORIGINAL, { value: original });
  return create;
}

function at(root: unknown, path: readonly string[]): unknown {
  let value = root;
  for (const key of path) value = isObject(value) ? value[key] : undefined;
  return value;
}

/**
 * The OpenAI class from a module namespace, a CJS export, the class itself or a client.
 * openai's CJS export is a callable shim whose `OpenAI` / `default` properties are the class.
 */
function clientClass(target: unknown): unknown {
  if (!isObject(target)) return undefined;
  if (typeof target === 'function' && isObject(at(target, ['Chat']))) return target;
  for (const key of ['OpenAI', 'default']) {
    const value = target[key];
    if (typeof value === 'function' && isObject(at(value, ['Chat']))) return value;
    if (isObject(value) && typeof value.OpenAI === 'function') return value.OpenAI;
  }
  return typeof target === 'function' ? target : undefined;
}

function resourcePrototypes(target: unknown): Map<Obj, Endpoint> {
  const found = new Map<Obj, Endpoint>();
  const cls = clientClass(target);
  for (const endpoint of ENDPOINTS) {
    let proto = at(at(cls, endpoint.staticPath), ['prototype']);
    if (!isObject(proto)) {
      const resource = at(target, endpoint.instancePath);
      proto = isObject(resource) ? Object.getPrototypeOf(resource) : undefined;
    }
    if (isObject(proto) && typeof proto.create === 'function') found.set(proto, endpoint);
  }
  return found;
}

/**
 * Instruments the `openai` client: `chat.completions.create`, `completions.create`,
 * `responses.create` and `embeddings.create`, streaming or not, on every client made from
 * `target`'s class, before or after this call.
 *
 * `target` is what your import gave you: the module namespace, the default export, the
 * `OpenAI` class, or a client instance. The ESM and CJS builds of openai are different
 * classes; the `otel-inference/register` preload patches both. Calling it again replaces
 * the options; it never wraps twice.
 *
 * @returns a function that removes the instrumentation again.
 */
export function instrumentOpenAI(target: unknown, options: OpenAIInstrumentationOptions = {}): () => void {
  const config: Config = {
    metrics: options.metrics ?? defaultInferenceMetrics,
    providerName: options.providerName ?? PROVIDER.openaiCompatible,
    streamUsage: options.streamUsage ?? 'auto',
    streamUsageHosts: new Set(options.streamUsageHosts ?? []),
    clients: new WeakMap(),
  };
  const patched: Array<[Obj, AnyFunction]> = [];
  try {
    for (const [proto, endpoint] of resourcePrototypes(target)) {
      const current = proto.create as AnyFunction & { [ORIGINAL]?: AnyFunction };
      const original = current[ORIGINAL] ?? current;
      const wrapped = wrapCreate(original, endpoint, config);
      proto.create = wrapped;
      patched.push([proto, wrapped]);
    }
    if (patched.length === 0) diag.warn('otel-inference: instrumentOpenAI found no openai client resources to instrument');
  } catch (error) {
    reportInternalError('instrumentOpenAI', error);
  }
  return () => {
    for (const [proto, wrapped] of patched) {
      if (proto.create === wrapped) proto.create = (wrapped as { [ORIGINAL]?: AnyFunction })[ORIGINAL];
    }
  };
}
