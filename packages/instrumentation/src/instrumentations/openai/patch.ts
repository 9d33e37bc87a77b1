/**
 * The openai client's resources, patched on their prototypes: `chat.completions.create`,
 * `completions.create`, `responses.create` and `embeddings.create`, streamed or not. The
 * caller gets back the same APIPromise and the same Stream object; we observe the caller's own
 * parse and iteration and never read a body ourselves.
 */
import { diag } from '@opentelemetry/api';
import { isObject, type Obj } from '../../core/guards.js';
import { reportInternalError } from '../../core/internal-errors.js';
import { markInstrumented } from '../../core/instrumented.js';
import { defaultInferenceMetrics, type InferenceMetrics } from '../../core/metrics.js';
import type { RequestRecorder } from '../../core/recorder.js';
import { serverOfUrl } from '../../core/server.js';
import { extractResponseModel, extractUsage, isOutputChunk } from '../../core/shapes.js';
import { wrapMethod, type AnyFunction } from '../../core/wrap.js';
import { OPERATION, PROVIDER, PROVIDER_BY_HOST } from '../../semconv.js';
import { at, recordingStainlessMethod, signalOf, StainlessCall, type ResponseReaders } from '../stainless/observe.js';
import {
  bodyAskingForUsage,
  resendIfRefused,
  withholdInjectedUsage,
  type ServerKeys,
  type StreamUsage,
  type StreamUsagePolicy,
} from './stream-usage.js';

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
  streamUsage?: StreamUsage;
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

const OPENAI_READERS: ResponseReaders = { isOutputChunk, extractUsage, extractResponseModel };

const AZURE_HOST_SUFFIX = '.openai.azure.com';

interface Config {
  /** Read at each call: an Instrumentation may be given its MeterProvider after patching. */
  readonly metrics: () => InferenceMetrics;
  /** Runs once, at the first call through any patched method. */
  onFirstCall: (() => void) | undefined;
  readonly providerName: string;
  readonly streamUsage: StreamUsagePolicy;
  readonly clients: WeakMap<object, ClientInfo>;
}

interface ClientInfo extends ServerKeys {
  readonly provider: string;
  readonly address?: string | undefined;
  readonly port?: number | undefined;
}

function clientInfo(client: unknown, config: Config): ClientInfo {
  if (!isObject(client)) return { provider: config.providerName, hostKeys: [] };
  let info = config.clients.get(client);
  if (info !== undefined) return info;
  const { address, port } = serverOfUrl(String(client.baseURL));
  if (address === undefined) {
    info = { provider: config.providerName, hostKeys: [] };
  } else {
    const provider =
      PROVIDER_BY_HOST[address] ?? (address.endsWith(AZURE_HOST_SUFFIX) ? PROVIDER.azureOpenai : config.providerName);
    const server = port === undefined ? address : `${address}:${port}`;
    info = { provider, address, port, hostKeys: [address, server], server };
  }
  config.clients.set(client, info);
  return info;
}

/** An openai call: a stream may carry a usage chunk we asked for, kept from the caller. */
class OpenAICall extends StainlessCall {
  constructor(
    recorder: RequestRecorder,
    args: unknown[],
    stream: boolean,
    public injected: boolean,
    readonly info: ClientInfo,
    signal: AbortSignal | undefined,
    /** Sends the request again exactly as the caller made it. */
    readonly resend: () => unknown,
  ) {
    super(recorder, args, stream, signal, OPENAI_READERS);
  }

  override observing(promise: Obj): void {
    if (!this.injected) return;
    resendIfRefused(promise, this.info, this.resend, () => {
      this.injected = false;
    });
  }

  protected override withhold(): ((chunk: unknown) => boolean) | undefined {
    return this.injected ? withholdInjectedUsage : undefined;
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
  const signal = signalOf(args[1]);

  const asking = stream && endpoint.acceptsStreamOptions ? bodyAskingForUsage(body, info, config.streamUsage) : undefined;
  const callArgs = asking === undefined ? args : [asking, ...args.slice(1)];

  const recorder = config.metrics().begin(
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
  return new OpenAICall(recorder, callArgs, stream, asking !== undefined, info, signal, () => original.apply(resource, args));
}

function recordingCreate(original: AnyFunction, endpoint: Endpoint, config: Config): AnyFunction {
  return recordingStainlessMethod(
    original,
    (resource, args) => {
      if (config.onFirstCall !== undefined) {
        const once = config.onFirstCall;
        config.onFirstCall = undefined;
        once();
      }
      return beginCall(resource, args, endpoint, config, original);
    },
    'openai',
  );
}

/**
 * The OpenAI class from a module namespace, a CJS export, the class itself or a client.
 * openai's CJS export is a callable shim whose `OpenAI` / `default` properties are the class.
 */
export function clientClass(target: unknown): unknown {
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
  const metrics = options.metrics ?? defaultInferenceMetrics;
  return patchOpenAI(target, options, () => metrics);
}

/** {@link instrumentOpenAI}, recording wherever `metrics()` says at the time of each call. */
export function patchOpenAI(
  target: unknown,
  options: Omit<OpenAIInstrumentationOptions, 'metrics'>,
  metrics: () => InferenceMetrics,
  onFirstCall?: () => void,
): () => void {
  const config: Config = {
    metrics,
    onFirstCall,
    providerName: options.providerName ?? PROVIDER.openaiCompatible,
    streamUsage: { mode: options.streamUsage ?? 'auto', hosts: new Set(options.streamUsageHosts ?? []) },
    clients: new WeakMap(),
  };
  const undo: (() => void)[] = [];
  try {
    for (const [proto, endpoint] of resourcePrototypes(target)) {
      undo.push(wrapMethod(proto, 'create', (original) => recordingCreate(original, endpoint, config)));
    }
    if (undo.length === 0) diag.warn('otel-inference: instrumentOpenAI found no openai client resources to instrument');
    // Frameworks on top of openai (LangChain's ChatOpenAI) leave its calls to this adapter.
    else undo.push(markInstrumented('openai'));
  } catch (error) {
    reportInternalError('instrumentOpenAI', error);
  }
  return () => {
    for (const restore of undo.splice(0)) restore();
  };
}
