/**
 * The `ollama` client, patched on the prototype that defines its methods (the browser build's
 * `Ollama`, which the Node build extends): `chat`, `generate`, `embed` and the legacy
 * `embeddings`. That covers the default instance (`import ollama from 'ollama'`), every
 * `new Ollama({ host })`, and `ollama/browser`.
 *
 * The caller gets back the very promise the method returned, and from a stream the very
 * AbortableAsyncIterator, with its own `abort()`: the stream's iteration is observed through
 * its class's `[Symbol.asyncIterator]`, for the streams this adapter began recording only.
 */
import { diag } from '@opentelemetry/api';
import { isObject, isThenable, type Obj } from '../../core/guards.js';
import { reportInternalError } from '../../core/internal-errors.js';
import { defaultInferenceMetrics, type InferenceMetrics } from '../../core/metrics.js';
import type { RequestRecorder } from '../../core/recorder.js';
import { serverOfUrl } from '../../core/server.js';
import { InstrumentedIterator, type ChunkHandlers } from '../../core/stream.js';
import { recordingMethod, wrapMethod, type AnyFunction } from '../../core/wrap.js';
import { OPERATION, PROVIDER } from '../../semconv.js';
import { isOllamaOutputChunk, ollamaErrorType, ollamaResponseModel, ollamaUsage } from './shapes.js';
import { markInstrumented } from '../../core/instrumented.js';

export interface OllamaInstrumentationOptions {
  /** Where to record. Default: the global MeterProvider, no model allowlist. */
  metrics?: InferenceMetrics;
}

interface Method {
  readonly name: string;
  readonly operation: string;
  /** Whether `stream: true` makes it answer with a stream. */
  readonly streams: boolean;
}

const METHODS: readonly Method[] = [
  { name: 'chat', operation: OPERATION.chat, streams: true },
  { name: 'generate', operation: OPERATION.textCompletion, streams: true },
  { name: 'embed', operation: OPERATION.embeddings, streams: false },
  { name: 'embeddings', operation: OPERATION.embeddings, streams: false },
];

/** ollama-js's default host, used by a client whose config we cannot read. */
const DEFAULT_HOST = 'http://127.0.0.1:11434';

interface Config {
  /** Read at each call: an Instrumentation may be given its MeterProvider after patching. */
  readonly metrics: () => InferenceMetrics;
  /** Every undo of this patch, the stream hooks installed later included. */
  readonly undo: (() => void)[];
}

interface Server {
  readonly address?: string | undefined;
  readonly port?: number | undefined;
}

/** Servers by host string: a client's host can change (it is a plain field), so it is read at each call. */
const servers = new Map<string, Server>();
const MAX_SERVERS = 64;

function serverOf(client: unknown): Server {
  const config = isObject(client) ? client.config : undefined;
  const host = isObject(config) ? config.host : DEFAULT_HOST;
  // `proxy: true` leaves the host empty: requests go to relative URLs, to no server we know.
  if (typeof host !== 'string' || host === '') return {};
  let server = servers.get(host);
  if (server === undefined) {
    server = serverOfUrl(host);
    if (servers.size >= MAX_SERVERS) servers.clear();
    servers.set(host, server);
  }
  return server;
}

/** What an observed stream needs when the caller starts iterating it. */
interface PendingStream {
  readonly recorder: RequestRecorder;
  readonly handlers: ChunkHandlers;
}

/**
 * Streams this adapter recorded and nobody has iterated yet. Keyed weakly: a stream that is
 * collected takes its entry with it (and its recorder ends as abandoned).
 */
const pendingStreams = new WeakMap<object, PendingStream>();

const hookedStreamClasses = new WeakSet<object>();

/**
 * Makes the stream class's `[Symbol.asyncIterator]` hand a stream we recorded to an
 * {@link InstrumentedIterator}, once per class (each build and copy of ollama has its own).
 * Other streams of the class (pull, push, create) and later iterations go straight through.
 */
function hookStreamClass(stream: Obj, config: Config): void {
  const proto = Object.getPrototypeOf(stream) as Obj | null;
  if (proto === null || hookedStreamClasses.has(proto) || typeof proto[Symbol.asyncIterator] !== 'function') return;
  hookedStreamClasses.add(proto);
  const restore = wrapMethod(proto, Symbol.asyncIterator, (original) =>
    function (this: unknown, ...args: unknown[]): unknown {
      const pending = isObject(this) ? pendingStreams.get(this) : undefined;
      if (pending === undefined) return original.apply(this, args);
      pendingStreams.delete(this as object);
      const open = () => watchingSource(original.apply(this, args) as AsyncIterator<unknown>, pending);
      return new InstrumentedIterator(open, pending.recorder, pending.handlers);
    },
  );
  config.undo.push(() => {
    restore();
    hookedStreamClasses.delete(proto);
  });
}

/**
 * Watches the source's results before the InstrumentedIterator does (its handler is registered
 * first on the very promise it returns, which is handed on unchanged): the `done: true` object
 * ends the request, as the protocol says, with its counts. A caller who stops there
 * (`if (part.done) break`) completed the call; it did not cancel it.
 */
function watchingSource(source: AsyncIterator<unknown>, pending: PendingStream): AsyncIterator<unknown> {
  const recorder = pending.recorder;
  const onResult = (result: unknown): void => {
    try {
      const value: unknown = isObject(result) && result.done !== true ? result.value : undefined;
      if (!isObject(value) || value.done !== true || recorder.ended) return;
      if (isOllamaOutputChunk(value)) recorder.output();
      recorder.end({ usage: ollamaUsage(value), responseModel: ollamaResponseModel(value) });
    } catch (error) {
      reportInternalError('ollama stream', error);
    }
  };
  // Errors are the InstrumentedIterator's to record; this branch only keeps them handled.
  const ignore = (): void => {};
  const iterator: AsyncIterator<unknown> = {
    next(...args: [] | [unknown]) {
      const result = source.next(...args);
      if (isThenable(result)) result.then(onResult, ignore);
      return result;
    },
  };
  if (typeof source.return === 'function') iterator.return = source.return.bind(source);
  if (typeof source.throw === 'function') iterator.throw = source.throw.bind(source);
  return iterator;
}

/** `error.type` of an error a stream throws: see `ollamaErrorType`. */
const streamErrorType = (error: unknown): string | undefined => ollamaErrorType(error, true);

class OllamaCall {
  constructor(
    readonly recorder: RequestRecorder,
    readonly stream: boolean,
    readonly config: Config,
  ) {}

  fail(error: unknown): void {
    this.recorder.fail(error, undefined, ollamaErrorType(error, false));
  }

  /** The call's value arrived: a stream to watch, or an answer to read the counts from. */
  settle(value: unknown): void {
    try {
      if (this.stream && isObject(value) && typeof value[Symbol.asyncIterator] === 'function') {
        this.watchStream(value);
        return;
      }
      this.recorder.end({ usage: ollamaUsage(value), responseModel: ollamaResponseModel(value) });
    } catch (error) {
      reportInternalError('ollama response', error);
      this.recorder.end();
    }
  }

  private watchStream(stream: Obj): void {
    const recorder = this.recorder;
    // The stream's own controller: its abort() and the client's abort() both go through it.
    const controller = stream.abortController;
    const signal = isObject(controller) && controller.signal instanceof AbortSignal ? controller.signal : undefined;
    if (signal !== undefined) {
      if (signal.aborted) {
        recorder.cancel();
        return;
      }
      // Aborted before (or while) it is iterated: cancelled at the abort, not at a GC much later.
      signal.addEventListener('abort', () => recorder.cancel(), { once: true });
    }
    hookStreamClass(stream, this.config);
    pendingStreams.set(stream, {
      recorder,
      handlers: {
        isOutputChunk: isOllamaOutputChunk,
        extractUsage: ollamaUsage,
        extractResponseModel: ollamaResponseModel,
        signal,
        errorType: streamErrorType,
      },
    });
    recorder.watch(stream);
  }
}

function beginCall(client: unknown, args: unknown[], method: Method, config: Config): OllamaCall | undefined {
  const request = args[0];
  if (!isObject(request)) return undefined;
  const stream = method.streams && request.stream === true;
  const server = serverOf(client);
  const recorder = config.metrics().begin(
    {
      provider: PROVIDER.ollama,
      ...(typeof request.model === 'string' ? { model: request.model } : {}),
      operation: method.operation,
      ...(server.address !== undefined ? { serverAddress: server.address } : {}),
      ...(server.port !== undefined ? { serverPort: server.port } : {}),
    },
    stream,
  );
  return recorder === undefined ? undefined : new OllamaCall(recorder, stream, config);
}

function recording(original: AnyFunction, method: Method, config: Config): AnyFunction {
  return recordingMethod(original, (self, args): OllamaCall | undefined => beginCall(self, args, method, config), 'ollama');
}

function isClientPrototype(proto: unknown): proto is Obj {
  return isObject(proto) && typeof proto.chat === 'function' && typeof proto.generate === 'function';
}

/**
 * The prototypes that define the client's methods, from what the import gave: a module
 * namespace or CJS exports (`Ollama`, `default`), the class, or a client.
 */
function methodOwners(target: unknown): Map<Obj, string[]> {
  const starts: unknown[] = [];
  if (isObject(target)) {
    for (const value of [target.Ollama, target.default, target]) {
      if (typeof value === 'function') starts.push(value.prototype);
      else if (isObject(value)) starts.push(isObject(value.Ollama) ? (value.Ollama as Obj).prototype : Object.getPrototypeOf(value));
    }
  }
  const owners = new Map<Obj, string[]>();
  for (const start of starts) {
    if (!isClientPrototype(start)) continue;
    for (const { name } of METHODS) {
      let proto: unknown = start;
      while (isObject(proto) && !Object.prototype.hasOwnProperty.call(proto, name)) proto = Object.getPrototypeOf(proto);
      if (!isObject(proto) || typeof proto[name] !== 'function') continue;
      const names = owners.get(proto) ?? [];
      if (!names.includes(name)) names.push(name);
      owners.set(proto, names);
    }
  }
  return owners;
}

/**
 * Instruments the `ollama` client: `chat` and `generate` (streamed or not), `embed` and
 * `embeddings`, on the default instance and on every client of its class, made before or
 * after this call.
 *
 * `target` is what your import gave you: the module (`import * as m from 'ollama'`,
 * `require('ollama')`), the `Ollama` class, or a client (the default export). The ESM and CJS
 * builds of ollama are different classes; the `otel-inference/register` preload patches both.
 * Calling it again replaces the options; it never wraps twice.
 *
 * @returns a function that removes the instrumentation again.
 */
export function instrumentOllama(target: unknown, options: OllamaInstrumentationOptions = {}): () => void {
  const metrics = options.metrics ?? defaultInferenceMetrics;
  return patchOllama(target, () => metrics);
}

/** {@link instrumentOllama}, recording wherever `metrics()` says at the time of each call. */
export function patchOllama(target: unknown, metrics: () => InferenceMetrics): () => void {
  const config: Config = { metrics, undo: [] };
  try {
    for (const [proto, names] of methodOwners(target)) {
      for (const method of METHODS) {
        if (names.includes(method.name)) config.undo.push(wrapMethod(proto, method.name, (original) => recording(original, method, config)));
      }
    }
    if (config.undo.length === 0) diag.warn('otel-inference: instrumentOllama found no ollama client to instrument');
    // Frameworks on top of the client (LangChain's ChatOllama) leave its calls to this adapter.
    else config.undo.push(markInstrumented('ollama'));
  } catch (error) {
    reportInternalError('instrumentOllama', error);
  }
  return () => {
    for (const restore of config.undo.splice(0)) restore();
  };
}
