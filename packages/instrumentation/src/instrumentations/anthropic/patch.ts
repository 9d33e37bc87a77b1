/**
 * The @anthropic-ai/sdk client: `messages.create` and `beta.messages.create`, patched on their
 * prototypes. `messages.stream()`, `beta.messages.stream()`, `parse()` and the tool runner all
 * send their request through `create`, so each request is recorded once, there. The caller gets
 * back the same APIPromise and the same Stream (instrumentations/stainless/observe.ts).
 * `countTokens` is not an inference call and is not patched.
 */
import { diag } from '@opentelemetry/api';
import { isObject, type Obj } from '../../core/guards.js';
import { reportInternalError } from '../../core/internal-errors.js';
import { defaultInferenceMetrics, type InferenceMetrics } from '../../core/metrics.js';
import { serverOfUrl } from '../../core/server.js';
import { wrapMethod, type AnyFunction } from '../../core/wrap.js';
import { OPERATION, PROVIDER } from '../../semconv.js';
import { at, recordingStainlessMethod, signalOf, StainlessCall } from '../stainless/observe.js';
import { anthropicReaders } from './readers.js';
import { markInstrumented } from '../../core/instrumented.js';

export interface AnthropicInstrumentationOptions {
  /** Where to record. Default: the global MeterProvider, no model allowlist. */
  metrics?: InferenceMetrics;
  /**
   * `gen_ai.provider.name` for a base URL that is not Anthropic's, Bedrock's or Vertex AI's
   * (an Anthropic-compatible server or gateway). Default `anthropic`.
   */
  providerName?: string;
}

/** The resources patched: the Messages API and its beta twin, which posts to the same path. */
const RESOURCES: readonly { readonly staticPath: readonly string[]; readonly instancePath: readonly string[] }[] = [
  { staticPath: ['Messages'], instancePath: ['messages'] },
  { staticPath: ['Beta', 'Messages'], instancePath: ['beta', 'messages'] },
];

interface ClientInfo {
  readonly provider: string;
  readonly address?: string | undefined;
  readonly port?: number | undefined;
}

interface Config {
  /** Read at each call: an Instrumentation may be given its MeterProvider after patching. */
  readonly metrics: () => InferenceMetrics;
  readonly providerName: string;
  readonly clients: WeakMap<object, ClientInfo>;
}

/**
 * The provider of a base URL. The Bedrock and Vertex AI clients (@anthropic-ai/bedrock-sdk,
 * @anthropic-ai/vertex-sdk) are built on this package's resources, so their calls arrive here too.
 */
function providerOfHost(address: string, fallback: string): string {
  if (address === 'api.anthropic.com') return PROVIDER.anthropic;
  if (/^bedrock-runtime[.-].*\.amazonaws\.com$/.test(address)) return PROVIDER.awsBedrock;
  if (address === 'aiplatform.googleapis.com' || address.endsWith('-aiplatform.googleapis.com')) return PROVIDER.gcpVertexAi;
  return fallback;
}

function clientInfo(client: unknown, config: Config): ClientInfo {
  if (!isObject(client)) return { provider: config.providerName };
  let info = config.clients.get(client);
  if (info !== undefined) return info;
  const { address, port } = serverOfUrl(String(client.baseURL));
  info = address === undefined ? { provider: config.providerName } : { provider: providerOfHost(address, config.providerName), address, port };
  config.clients.set(client, info);
  return info;
}

function beginCall(resource: unknown, args: unknown[], config: Config): StainlessCall | undefined {
  const body = args[0];
  if (!isObject(body)) return undefined;
  const info = clientInfo(isObject(resource) ? resource._client : undefined, config);
  const stream = body.stream === true;
  const recorder = config.metrics().begin(
    {
      provider: info.provider,
      ...(typeof body.model === 'string' ? { model: body.model } : {}),
      operation: OPERATION.chat,
      ...(info.address !== undefined ? { serverAddress: info.address } : {}),
      ...(info.port !== undefined ? { serverPort: info.port } : {}),
    },
    stream,
  );
  if (recorder === undefined) return undefined;
  return new StainlessCall(recorder, args, stream, signalOf(args[1]), anthropicReaders(stream));
}

/**
 * The Anthropic class from a module namespace, a CJS export, the class itself or a client.
 * The CJS export is the class, with `Anthropic` and `default` pointing at it.
 */
function clientClass(target: unknown): unknown {
  if (!isObject(target)) return undefined;
  if (typeof target === 'function' && isObject(at(target, ['Messages']))) return target;
  for (const key of ['Anthropic', 'default']) {
    const value = target[key];
    if (typeof value === 'function' && isObject(at(value, ['Messages']))) return value;
  }
  return undefined;
}

function resourcePrototypes(target: unknown): Set<Obj> {
  const found = new Set<Obj>();
  const cls = clientClass(target);
  for (const resource of RESOURCES) {
    let proto = at(at(cls, resource.staticPath), ['prototype']);
    if (!isObject(proto)) {
      const instance = at(target, resource.instancePath);
      proto = isObject(instance) ? Object.getPrototypeOf(instance) : undefined;
    }
    if (isObject(proto) && typeof proto.create === 'function') found.add(proto);
  }
  return found;
}

/**
 * Instruments the @anthropic-ai/sdk client: `messages.create` and `beta.messages.create`,
 * streaming or not, and so `messages.stream()` and the other helpers built on them, on every
 * client made from `target`'s class, before or after this call.
 *
 * `target` is what your import gave you: the module namespace, the default export, the
 * `Anthropic` class, or a client instance. The ESM and CJS builds are different classes; the
 * `otel-inference/register` preload patches both. Calling it again replaces the options; it
 * never wraps twice.
 *
 * @returns a function that removes the instrumentation again.
 */
export function instrumentAnthropic(target: unknown, options: AnthropicInstrumentationOptions = {}): () => void {
  const metrics = options.metrics ?? defaultInferenceMetrics;
  return patchAnthropic(target, options, () => metrics);
}

/** {@link instrumentAnthropic}, recording wherever `metrics()` says at the time of each call. */
export function patchAnthropic(
  target: unknown,
  options: Omit<AnthropicInstrumentationOptions, 'metrics'>,
  metrics: () => InferenceMetrics,
): () => void {
  const config: Config = { metrics, providerName: options.providerName ?? PROVIDER.anthropic, clients: new WeakMap() };
  const undo: (() => void)[] = [];
  try {
    for (const proto of resourcePrototypes(target)) {
      undo.push(
        wrapMethod(proto, 'create', (original: AnyFunction) =>
          recordingStainlessMethod(original, (resource, args) => beginCall(resource, args, config), 'anthropic'),
        ),
      );
    }
    if (undo.length === 0) diag.warn('otel-inference: instrumentAnthropic found no @anthropic-ai/sdk resources to instrument');
    // Frameworks on top of the SDK (LangChain's ChatAnthropic) leave its calls to this adapter.
    else undo.push(markInstrumented('@anthropic-ai/sdk'));
  } catch (error) {
    reportInternalError('instrumentAnthropic', error);
  }
  return () => {
    for (const restore of undo.splice(0)) restore();
  };
}
