/**
 * @google/genai's `Models`, patched on its prototype at the methods that make exactly one HTTP
 * request each: `generateContentInternal`, `generateContentStreamInternal` and
 * `embedContentInternal` (`embedContent` in 0.x). The public `generateContent`,
 * `generateContentStream` and `embedContent` are arrow functions set on each instance, not
 * prototype methods, and may make several requests for one call (automatic function calling,
 * automatic continuation); `chats.sendMessage`/`sendMessageStream` go through them too. So every
 * request to the model is recorded once, with its own timing and its own reported usage, and
 * the time the SDK spends in the app's tools is nobody's latency.
 *
 * The caller gets back the same promise and the same async generator object: we observe the
 * promise with our own `then` and give the generator own `next`/`return`/`throw` that watch the
 * chunks on their way through.
 */
import { diag } from '@opentelemetry/api';
import { isObject, isThenable, type Obj } from '../../core/guards.js';
import { reportInternalError } from '../../core/internal-errors.js';
import { defaultInferenceMetrics, type InferenceMetrics } from '../../core/metrics.js';
import type { RequestRecorder } from '../../core/recorder.js';
import { serverOfUrl } from '../../core/server.js';
import type { UsageExtractor } from '../../core/shapes.js';
import { InstrumentedIterator, type ChunkHandlers } from '../../core/stream.js';
import { recordingMethod, wrapMethod, type AnyFunction } from '../../core/wrap.js';
import { OPERATION, PROVIDER } from '../../semconv.js';
import { embedUsage, generateUsage, geminiResponseModel, isGeminiOutputChunk } from './usage.js';

export interface GoogleGenAIInstrumentationOptions {
  /** Where to record. Default: the global MeterProvider, no model allowlist. */
  metrics?: InferenceMetrics;
}

interface Method {
  readonly operation: string;
  readonly stream: boolean;
  readonly usage: UsageExtractor;
}

const GENERATE: Method = { operation: OPERATION.generateContent, stream: false, usage: generateUsage };
const GENERATE_STREAM: Method = { operation: OPERATION.generateContent, stream: true, usage: generateUsage };
const EMBED: Method = { operation: OPERATION.embeddings, stream: false, usage: embedUsage };

const GEMINI_API_HOST = 'generativelanguage.googleapis.com';
const VERTEX_AI_HOST = 'aiplatform.googleapis.com';

interface ClientInfo {
  readonly provider: string;
  readonly address?: string | undefined;
  readonly port?: number | undefined;
}

interface Config {
  /** Read at each call: an Instrumentation may be given its MeterProvider after patching. */
  readonly metrics: () => InferenceMetrics;
  readonly clients: WeakMap<object, ClientInfo>;
}

function field(value: unknown, key: string): unknown {
  return isObject(value) ? value[key] : undefined;
}

/** A no-argument method's value, or undefined when it is missing or throws. */
function ask(target: unknown, method: string): unknown {
  const fn = field(target, method);
  if (typeof fn !== 'function') return undefined;
  try {
    return (fn as AnyFunction).call(target);
  } catch {
    return undefined;
  }
}

/**
 * The provider by the client's mode (`vertexai: true` speaks Vertex AI's API, otherwise the
 * Gemini Developer API's, wherever its base URL points), and by host for a client that does not
 * say; `gcp.gen_ai` when neither tells.
 */
function providerOf(vertex: unknown, address: string | undefined): string {
  if (vertex === true) return PROVIDER.gcpVertexAi;
  if (vertex === false) return PROVIDER.gcpGemini;
  if (address === GEMINI_API_HOST) return PROVIDER.gcpGemini;
  if (address !== undefined && (address === VERTEX_AI_HOST || address.endsWith(`-${VERTEX_AI_HOST}`) || /^aiplatform\.[a-z0-9-]+\.rep\.googleapis\.com$/.test(address))) {
    return PROVIDER.gcpVertexAi;
  }
  return PROVIDER.gcpGenAi;
}

function infoOf(apiClient: unknown, baseUrl: unknown): ClientInfo {
  const { address, port } = typeof baseUrl === 'string' ? serverOfUrl(baseUrl) : {};
  return { provider: providerOf(ask(apiClient, 'isVertexAI'), address), address, port };
}

/** The client's provider and server, from its mode and the base URL the request goes to. */
function clientInfo(apiClient: unknown, params: Obj, config: Config): ClientInfo {
  // A request's own `config.httpOptions.baseUrl` overrides the client's.
  const override = field(field(params.config, 'httpOptions'), 'baseUrl');
  if (typeof override === 'string') return infoOf(apiClient, override);
  if (!isObject(apiClient)) return { provider: PROVIDER.gcpGenAi };
  let info = config.clients.get(apiClient);
  if (info === undefined) {
    info = infoOf(apiClient, ask(apiClient, 'getBaseUrl'));
    config.clients.set(apiClient, info);
  }
  return info;
}

/**
 * `gen_ai.request.model`: the model id of `gemini-2.5-flash`, `models/gemini-2.5-flash`,
 * `publishers/google/models/gemini-2.5-flash` or a full Vertex resource name alike, the way
 * `modelVersion` names it. Anything else (a tuned model, an endpoint) as given.
 */
export function requestModelOf(model: string): string {
  const match = /(?:^|\/)models\/([^/]+)$/.exec(model);
  return match !== null ? match[1]! : model;
}

/** 0.x's ClientError/ServerError carry the HTTP status only in their message. */
const STATUS_IN_MESSAGE = /^got status: ([1-5]\d\d)\b/;

/**
 * The error to classify: `error` itself, or for 0.x's ClientError/ServerError (no `status`
 * field) a stand-in with the status their message starts with, so that `error.type` is the
 * HTTP status in every major.
 */
function classified(error: unknown): unknown {
  if (!(error instanceof Error) || field(error, 'status') !== undefined) return error;
  if (error.name !== 'ClientError' && error.name !== 'ServerError' && error.constructor.name !== 'ClientError' && error.constructor.name !== 'ServerError') {
    return error;
  }
  const match = STATUS_IN_MESSAGE.exec(error.message);
  return match !== null ? { name: error.name, status: Number(match[1]) } : error;
}

class GenAICall {
  constructor(
    readonly recorder: RequestRecorder,
    readonly method: Method,
    readonly signal: AbortSignal | undefined,
  ) {}

  fail(error: unknown): void {
    this.recorder.fail(classified(error), this.signal);
  }

  settle(value: unknown): void {
    try {
      if (this.method.stream) {
        this.watchStream(value);
        return;
      }
      this.recorder.end({ usage: this.method.usage(value), responseModel: geminiResponseModel(value) });
    } catch (error) {
      reportInternalError('google-genai response', error);
      this.recorder.end();
    }
  }

  /**
   * Gives the async generator the SDK hands out own `next`/`return`/`throw` that run through an
   * InstrumentedIterator over its original ones: `for await` (the caller's, or the SDK's own
   * wrappers around it) sees the same object, the same chunks and the same errors.
   */
  private watchStream(generator: unknown): void {
    if (!isObject(generator) || typeof generator.next !== 'function') {
      this.recorder.end();
      return;
    }
    const target = generator;
    const next = generator.next as AnyFunction;
    const ret = generator.return;
    const thr = generator.throw;
    const source: AsyncIterator<unknown> = {
      next: (...args: unknown[]) => next.apply(target, args) as Promise<IteratorResult<unknown>>,
      ...(typeof ret === 'function' ? { return: (...args: unknown[]) => (ret as AnyFunction).apply(target, args) as Promise<IteratorResult<unknown>> } : {}),
      ...(typeof thr === 'function' ? { throw: (...args: unknown[]) => (thr as AnyFunction).apply(target, args) as Promise<IteratorResult<unknown>> } : {}),
    };
    const handlers: ChunkHandlers = {
      isOutputChunk: isGeminiOutputChunk,
      extractUsage: generateUsage,
      extractResponseModel: geminiResponseModel,
      signal: this.signal,
    };
    const iterator = new InstrumentedIterator(() => source, this.recorder, handlers);
    const own = (fn: AnyFunction): PropertyDescriptor => ({ value: fn, writable: true, configurable: true, enumerable: false });
    Object.defineProperties(target, {
      next: own(function (this: unknown, ...args: unknown[]) {
        return args.length === 0 ? iterator.next() : iterator.next(args[0]);
      }),
      return: own((value: unknown) => iterator.return(value)),
      throw: own((error: unknown) => iterator.throw(error)),
    });
    this.recorder.watch(target);
  }
}

function beginCall(models: unknown, params: unknown, method: Method, config: Config): GenAICall | undefined {
  if (!isObject(params)) return undefined;
  const info = clientInfo(field(models, 'apiClient'), params, config);
  const abortSignal = field(params.config, 'abortSignal');
  const recorder = config.metrics().begin(
    {
      provider: info.provider,
      ...(typeof params.model === 'string' ? { model: requestModelOf(params.model) } : {}),
      operation: method.operation,
      ...(info.address !== undefined ? { serverAddress: info.address } : {}),
      ...(info.port !== undefined ? { serverPort: info.port } : {}),
    },
    method.stream,
  );
  if (recorder === undefined) return undefined;
  return new GenAICall(recorder, method, abortSignal instanceof AbortSignal ? abortSignal : undefined);
}

function recording(original: AnyFunction, method: Method, config: Config): AnyFunction {
  return recordingMethod(original, (self, args): GenAICall | undefined => beginCall(self, args[0], method, config), 'google-genai');
}

function isModelsPrototype(value: unknown): value is Obj {
  return isObject(value) && typeof value.generateContentInternal === 'function';
}

/**
 * The `Models` prototype from the module (namespace, CJS exports, or either's `default`), the
 * `Models` class, a `GoogleGenAI` client or its `models`.
 */
export function modelsPrototype(target: unknown): Obj | undefined {
  if (!isObject(target)) return undefined;
  for (const candidate of [target, field(target, 'default')]) {
    const proto = field(field(candidate, 'Models'), 'prototype');
    if (isModelsPrototype(proto)) return proto;
  }
  const own = field(target, 'prototype');
  if (typeof target === 'function' && isModelsPrototype(own)) return own;
  for (const instance of [field(target, 'models'), target]) {
    const proto = isObject(instance) ? Object.getPrototypeOf(instance) : undefined;
    if (isModelsPrototype(proto)) return proto;
  }
  return undefined;
}

/**
 * Instruments @google/genai: `models.generateContent`, `models.generateContentStream` and
 * `models.embedContent` (and `chats`, which go through them) on every client made from
 * `target`'s module, before or after this call. Each request to the model is recorded once.
 *
 * `target` is the module namespace or CJS export, the `Models` class, or a `GoogleGenAI`
 * client. The ESM and CJS builds are different classes; the `otel-inference/register` preload
 * patches both. Calling it again replaces the options; it never wraps twice.
 *
 * @returns a function that removes the instrumentation again.
 */
export function instrumentGoogleGenAI(target: unknown, options: GoogleGenAIInstrumentationOptions = {}): () => void {
  const metrics = options.metrics ?? defaultInferenceMetrics;
  return patchGoogleGenAI(target, () => metrics);
}

/** {@link instrumentGoogleGenAI}, recording wherever `metrics()` says at the time of each call. */
export function patchGoogleGenAI(target: unknown, metrics: () => InferenceMetrics): () => void {
  const config: Config = { metrics, clients: new WeakMap() };
  const undo: (() => void)[] = [];
  try {
    const proto = modelsPrototype(target);
    if (proto === undefined) {
      diag.warn('otel-inference: instrumentGoogleGenAI found no @google/genai Models to instrument');
    } else {
      undo.push(wrapMethod(proto, 'generateContentInternal', (original) => recording(original, GENERATE, config)));
      if (typeof proto.generateContentStreamInternal === 'function') {
        undo.push(wrapMethod(proto, 'generateContentStreamInternal', (original) => recording(original, GENERATE_STREAM, config)));
      }
      // 1.x on: the public embedContent is an instance arrow over embedContentInternal; 0.x: a method.
      const embed = typeof proto.embedContentInternal === 'function' ? 'embedContentInternal' : 'embedContent';
      if (typeof proto[embed] === 'function') undo.push(wrapMethod(proto, embed, (original) => recording(original, EMBED, config)));
    }
  } catch (error) {
    reportInternalError('instrumentGoogleGenAI', error);
  }
  return () => {
    for (const restore of undo.splice(0)) restore();
  };
}
