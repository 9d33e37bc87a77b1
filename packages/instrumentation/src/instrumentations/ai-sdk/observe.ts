/**
 * One AI SDK model call, recorded: a language model's `doGenerate` or `doStream`, an embedding
 * model's `doEmbed`. The patched `ai` functions and the middleware both record through here,
 * so they record identically. Each model call is one inference operation: a `generateText`
 * that runs tools over three steps is three, each with the usage that step reported.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { isObject, isRecord, isThenable, type Obj } from '../../core/guards.js';
import { reportInternalError } from '../../core/internal-errors.js';
import type { InferenceMetrics } from '../../core/metrics.js';
import type { RequestRecorder } from '../../core/recorder.js';
import { serverOfUrl, type ServerAttributes } from '../../core/server.js';
import { OPERATION } from '../../semconv.js';
import { languageOperation, providerName, usageFamily, type UsageFamily } from './provider.js';
import { embeddingModelUsage, languageModelUsage } from './usage.js';

export type MetricsSource = () => InferenceMetrics;

interface ModelInfo {
  readonly provider: string;
  readonly family: UsageFamily;
  readonly model: string | undefined;
  readonly operation: string;
  readonly server: ServerAttributes;
}

const infos = new WeakMap<object, ModelInfo>();

/**
 * The server a provider model talks to, from its `config` (every @ai-sdk provider keeps its
 * base URL there: `baseURL`, Bedrock's `baseUrl()`, or a `url({ path, modelId })` builder).
 */
function serverOfModel(model: Obj): ServerAttributes {
  try {
    const config = model.config;
    if (!isRecord(config)) return {};
    let url: unknown;
    if (typeof config.baseURL === 'string') url = config.baseURL;
    else if (typeof config.baseUrl === 'string') url = config.baseUrl;
    else if (typeof config.baseUrl === 'function') url = (config.baseUrl as () => unknown)();
    else if (typeof config.url === 'function') url = (config.url as (o: object) => unknown)({ path: '', modelId: model.modelId });
    return typeof url === 'string' ? serverOfUrl(url) : {};
  } catch {
    // A provider that cannot build its URL yet (no region, no resource name) fails its call by itself.
    return {};
  }
}

/**
 * The model each `wrapLanguageModel` / `wrapEmbeddingModel` result wraps (the patch records it):
 * a wrapper has no provider config of its own, its inner model has.
 */
const innerModels = new WeakMap<object, object>();

export function linkWrappedModel(wrapper: unknown, inner: unknown): void {
  if (isObject(wrapper) && isObject(inner) && wrapper !== inner) innerModels.set(wrapper, inner);
}

function serverThrough(model: Obj): ServerAttributes {
  let current: Obj | undefined = model;
  for (let depth = 0; current !== undefined && depth < 16; depth++) {
    const server = serverOfModel(current);
    if (server.address !== undefined) return server;
    current = innerModels.get(current) as Obj | undefined;
  }
  return {};
}

function modelInfo(model: Obj, embedding: boolean): ModelInfo {
  let info = infos.get(model);
  if (info === undefined) {
    info = {
      provider: providerName(model.provider),
      family: usageFamily(model.provider),
      model: typeof model.modelId === 'string' ? model.modelId : undefined,
      operation: embedding ? OPERATION.embeddings : languageOperation(model.provider),
      server: serverThrough(model),
    };
    infos.set(model, info);
  }
  return info;
}

function begin(metrics: MetricsSource, model: Obj, info: ModelInfo, stream: boolean): RequestRecorder | undefined {
  return metrics().begin(
    {
      provider: info.provider,
      ...(info.model !== undefined ? { model: info.model } : {}),
      operation: info.operation,
      ...(info.server.address !== undefined ? { serverAddress: info.server.address } : {}),
      ...(info.server.port !== undefined ? { serverPort: info.server.port } : {}),
    },
    stream,
  );
}

function abortSignalOf(params: unknown): AbortSignal | undefined {
  const signal = isRecord(params) ? params.abortSignal : undefined;
  return signal instanceof AbortSignal ? signal : undefined;
}

/**
 * What `error.type` is read from. A body that broke off after a 2xx answer reaches the caller
 * (ai 5 and later) as an APICallError carrying that 2xx status: the status says nothing about the
 * failure, its cause does (`TypeError`, as ai 4 reports the same drop).
 */
export function errorSubject(error: unknown): unknown {
  if (!isRecord(error)) return error;
  const status = error.statusCode;
  if (typeof status !== 'number' || status >= 400) return error;
  return isRecord(error.cause) ? error.cause : { name: typeof error.name === 'string' ? error.name : undefined };
}

function fail(recorder: RequestRecorder, error: unknown, signal: AbortSignal | undefined): void {
  recorder.fail(errorSubject(error), signal);
}

/**
 * Model calls the patch records. The middleware, when it runs inside one (an app that wraps its
 * model with it and runs under the preload too), leaves that call to the patch: never both.
 * One store per process, shared by the ESM and CJS copies of this package.
 */
interface Claim {
  taken: boolean;
}
const CLAIMS_KEY = Symbol.for('otel-inference.ai-sdk.claims');
const claims: AsyncLocalStorage<Claim> = ((globalThis as { [CLAIMS_KEY]?: AsyncLocalStorage<Claim> })[CLAIMS_KEY] ??=
  new AsyncLocalStorage<Claim>());

/** Runs a model call that the patch records. */
export function runClaimed<T>(call: () => T): T {
  return claims.run({ taken: false }, call);
}

/** True (once) when the model call running now is already recorded by the patch. */
export function claimedByPatch(): boolean {
  const claim = claims.getStore();
  if (claim === undefined || claim.taken) return false;
  claim.taken = true;
  return true;
}

/**
 * Begins the record of one model call: undefined, and the call runs unrecorded, when `model` is
 * not an object or beginning failed (reported once per place, `what`).
 */
function startCall(
  metrics: MetricsSource,
  model: unknown,
  embedding: boolean,
  stream: boolean,
  what: string,
): { recorder: RequestRecorder; info: ModelInfo } | undefined {
  try {
    if (!isObject(model)) return undefined;
    const info = modelInfo(model, embedding);
    const recorder = begin(metrics, model, info, stream);
    return recorder === undefined ? undefined : { recorder, info };
  } catch (error) {
    reportInternalError(what, error);
    return undefined;
  }
}

/** `doGenerate`: one call, its usage and response model from the result. */
export function observeGenerate(metrics: MetricsSource, model: unknown, params: unknown, call: () => unknown): unknown {
  const started = startCall(metrics, model, false, false, 'ai-sdk doGenerate');
  if (started === undefined) return call();
  const { recorder, info } = started;
  const signal = abortSignalOf(params);
  const family = info.family;
  let result: unknown;
  try {
    result = call();
  } catch (error) {
    fail(recorder, error, signal);
    throw error;
  }
  const settle = (value: unknown): void => {
    try {
      const usage = isRecord(value) ? languageModelUsage(value.usage, value.providerMetadata, family) : undefined;
      const responseModel = isRecord(value) && isRecord(value.response) ? value.response.modelId : undefined;
      recorder.end({
        ...(usage !== undefined ? { usage } : {}),
        ...(typeof responseModel === 'string' && responseModel !== '' ? { responseModel } : {}),
      });
    } catch (error) {
      reportInternalError('ai-sdk generate result', error);
      recorder.end();
    }
  };
  if (isThenable(result)) result.then(settle, (error: unknown) => fail(recorder, error, signal));
  else settle(result);
  return result;
}

/** `doEmbed`: one call (embedMany makes one per chunk of values), usage `{ tokens }`. */
export function observeEmbed(metrics: MetricsSource, model: unknown, params: unknown, call: () => unknown): unknown {
  const started = startCall(metrics, model, true, false, 'ai-sdk doEmbed');
  if (started === undefined) return call();
  const { recorder } = started;
  const signal = abortSignalOf(params);
  let result: unknown;
  try {
    result = call();
  } catch (error) {
    fail(recorder, error, signal);
    throw error;
  }
  const settle = (value: unknown): void => {
    try {
      const usage = isRecord(value) ? embeddingModelUsage(value.usage) : undefined;
      const responseModel = isRecord(value) && isRecord(value.response) ? value.response.modelId : undefined;
      recorder.end({
        ...(usage !== undefined ? { usage } : {}),
        ...(typeof responseModel === 'string' && responseModel !== '' ? { responseModel } : {}),
      });
    } catch (error) {
      reportInternalError('ai-sdk embed result', error);
      recorder.end();
    }
  };
  if (isThenable(result)) result.then(settle, (error: unknown) => fail(recorder, error, signal));
  else settle(result);
  return result;
}

function nonEmpty(value: unknown): boolean {
  return typeof value === 'string' && value.length > 0;
}

/**
 * Watches the parts of one `doStream` stream, in any specification version: v1 (`text-delta`
 * with `textDelta`, `reasoning`, `tool-call-delta`) and v2 to v4 (`text-delta`,
 * `reasoning-delta`, `tool-input-delta` with `delta`).
 */
class PartObserver {
  /** Tool calls whose input arrived in deltas: their closing `tool-call` part is no new output. */
  private toolInputs: Set<unknown> | undefined;
  private error: { value: unknown } | undefined;

  constructor(
    private readonly recorder: RequestRecorder,
    private readonly family: UsageFamily,
  ) {}

  observe(part: unknown): void {
    if (!isRecord(part)) return;
    switch (part.type) {
      case 'text-delta':
        if (nonEmpty(part.delta) || nonEmpty(part.textDelta)) this.recorder.output();
        return;
      case 'reasoning-delta':
        if (nonEmpty(part.delta)) this.recorder.output();
        return;
      case 'reasoning':
        if (nonEmpty(part.textDelta)) this.recorder.output();
        return;
      case 'tool-input-delta':
        if (nonEmpty(part.delta)) this.toolInput(part.id);
        return;
      case 'tool-call-delta':
        if (nonEmpty(part.argsTextDelta)) this.toolInput(part.toolCallId);
        return;
      case 'tool-call':
        // A provider that sends a tool call whole (no input deltas) still produced output.
        if (this.toolInputs?.has(part.toolCallId) !== true) this.recorder.output();
        return;
      case 'file':
        this.recorder.output();
        return;
      case 'response-metadata':
        if (nonEmpty(part.modelId)) this.recorder.setResponseModel(part.modelId as string);
        return;
      case 'finish': {
        const usage = languageModelUsage(part.usage, part.providerMetadata, this.family);
        if (usage !== undefined) this.recorder.setUsage(usage);
        return;
      }
      case 'error':
        this.error ??= { value: part.error };
        return;
      default:
        return;
    }
  }

  private toolInput(id: unknown): void {
    (this.toolInputs ??= new Set()).add(id);
    this.recorder.output();
  }

  /** The stream ended: an `error` part in it (the provider's in-stream error) fails the call. */
  close(signal: AbortSignal | undefined): void {
    if (this.error !== undefined) fail(this.recorder, this.error.value, signal);
    else if (signal?.aborted === true) this.recorder.cancel();
    else this.recorder.end();
  }
}

/**
 * The same parts, in the same order, with the same end, error or cancel: read from the
 * provider's stream only when the SDK reads ours (no read-ahead, no buffering of our own).
 */
function observedStream(source: ReadableStream<unknown>, recorder: RequestRecorder, family: UsageFamily, signal: AbortSignal | undefined): ReadableStream<unknown> {
  const reader = source.getReader();
  const observer = new PartObserver(recorder, family);
  const stream = new ReadableStream<unknown>(
    {
      async pull(controller) {
        let next: { done: boolean; value?: unknown };
        try {
          next = await reader.read();
        } catch (error) {
          fail(recorder, error, signal);
          controller.error(error);
          return;
        }
        if (next.done) {
          try {
            observer.close(signal);
          } catch (error) {
            reportInternalError('ai-sdk stream end', error);
            recorder.end();
          }
          controller.close();
          return;
        }
        try {
          observer.observe(next.value);
        } catch (error) {
          reportInternalError('ai-sdk stream part', error);
        }
        controller.enqueue(next.value);
      },
      cancel(reason) {
        recorder.cancel();
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
  recorder.watch(stream);
  return stream;
}

/**
 * `doStream`: timed from this call; the first output part gives time to first chunk, each later
 * one a gap; usage from the `finish` part; the call ends when the stream does.
 */
export function observeStream(metrics: MetricsSource, model: unknown, params: unknown, call: () => unknown): unknown {
  const started = startCall(metrics, model, false, true, 'ai-sdk doStream');
  if (started === undefined) return call();
  const { recorder, info } = started;
  const signal = abortSignalOf(params);
  const family = info.family;
  // The caller's abort ends the call then, as cancelled: once aborted, an SDK may stop reading
  // the stream it no longer wants (ai 4 to 6 on Node.js 22), and the read that would say so never comes.
  if (signal !== undefined) {
    if (signal.aborted) recorder.cancel();
    else signal.addEventListener('abort', () => recorder.cancel(), { once: true });
  }
  let result: unknown;
  try {
    result = call();
  } catch (error) {
    fail(recorder, error, signal);
    throw error;
  }
  const settle = (value: unknown): unknown => {
    try {
      const stream = isRecord(value) ? value.stream : undefined;
      if (isRecord(stream) && typeof stream.getReader === 'function' && stream.locked !== true) {
        return { ...(value as Obj), stream: observedStream(stream as unknown as ReadableStream<unknown>, recorder, family, signal) };
      }
      recorder.end();
    } catch (error) {
      reportInternalError('ai-sdk stream result', error);
      recorder.end();
    }
    return value;
  };
  if (!isThenable(result)) return settle(result);
  return Promise.resolve(result).then(settle, (error: unknown) => {
    fail(recorder, error, signal);
    throw error;
  });
}
