/**
 * @aws-sdk/client-bedrock-runtime, patched at `BedrockRuntimeClient.prototype.send`: Converse,
 * ConverseStream, InvokeModel and InvokeModelWithResponseStream commands, recognised by the
 * module's own command classes; every other command goes through untouched. The aggregated
 * client (`BedrockRuntime#converse()` etc.) calls `send`, so it is recorded there, once. The
 * caller gets the same promise (or its callback), the same output object and the same stream
 * object; a stream is observed through its own `[Symbol.asyncIterator]`, and a response body is
 * read as a copy, never consumed.
 */
import { diag } from '@opentelemetry/api';
import { isObject, isRecord, isThenable, type Obj } from '../../core/guards.js';
import { reportInternalError } from '../../core/internal-errors.js';
import { defaultInferenceMetrics, type InferenceMetrics } from '../../core/metrics.js';
import type { RequestRecorder } from '../../core/recorder.js';
import { serverOfUrl, type ServerAttributes } from '../../core/server.js';
import type { TokenUsage } from '../../core/shapes.js';
import { InstrumentedIterator, type ChunkHandlers } from '../../core/stream.js';
import { wrapMethod, type AnyFunction } from '../../core/wrap.js';
import { OPERATION, PROVIDER } from '../../semconv.js';
import { anthropicUsage, converseUsage, invocationMetricsUsage, invokeBodyUsage } from './usage.js';
import { markInstrumented } from '../../core/instrumented.js';

export interface BedrockInstrumentationOptions {
  /** Where to record. Default: the global MeterProvider, no model allowlist. */
  metrics?: InferenceMetrics;
}

type Kind = 'converse' | 'converseStream' | 'invoke' | 'invokeStream';

const COMMANDS: readonly [string, Kind][] = [
  ['ConverseCommand', 'converse'],
  ['ConverseStreamCommand', 'converseStream'],
  ['InvokeModelCommand', 'invoke'],
  ['InvokeModelWithResponseStreamCommand', 'invokeStream'],
];

/** Request bodies larger than this are not parsed to tell the operation (they are `chat`). */
const MAX_PARSED_REQUEST = 256 * 1024;
/** Response bodies larger than this are not parsed for usage. */
const MAX_PARSED_RESPONSE = 4 * 1024 * 1024;

interface Config {
  readonly metrics: () => InferenceMetrics;
  readonly commands: readonly [AnyFunction, Kind][];
}

/**
 * The endpoint each client's requests went to, learned from the request the SDK built (a
 * build-step middleware on the client's own stack): AWS clients resolve their endpoint
 * asynchronously (region, FIPS, custom endpoint providers), so it is known only once a request
 * has been built. Shared by every copy of this package (ESM next to CJS).
 */
const SERVERS_KEY = Symbol.for('otel-inference.bedrock.servers');
const servers: WeakMap<object, ServerAttributes> = ((globalThis as { [SERVERS_KEY]?: WeakMap<object, ServerAttributes> })[
  SERVERS_KEY
] ??= new WeakMap());
const MIDDLEWARE_NAME = 'otelInferenceServerAddress';

function learnServer(client: Obj): void {
  if (servers.has(client)) return;
  const stack = client.middlewareStack;
  if (!isObject(stack) || typeof stack.add !== 'function') return;
  servers.set(client, {});
  const middleware = (next: AnyFunction) =>
    function (this: unknown, args: unknown): unknown {
      try {
        const request = isRecord(args) ? args.request : undefined;
        if (isRecord(request) && typeof request.hostname === 'string' && typeof request.protocol === 'string') {
          const port = typeof request.port === 'number' ? `:${request.port}` : '';
          const protocol = request.protocol.endsWith(':') ? request.protocol : `${request.protocol}:`;
          servers.set(client, serverOfUrl(`${protocol}//${request.hostname}${port}`));
        }
      } catch (error) {
        reportInternalError('bedrock endpoint', error);
      }
      return next.call(this, args);
    };
  try {
    (stack.add as AnyFunction).call(stack, middleware, { step: 'build', name: MIDDLEWARE_NAME, priority: 'low' });
  } catch {
    // Already added, by another copy of this package: it fills the same map.
  }
}

function isUtf8Json(contentType: unknown): boolean {
  return contentType === undefined || (typeof contentType === 'string' && /json/i.test(contentType));
}

const decoder = new TextDecoder();

/** The JSON of a body the caller handed us or will read, without consuming it; undefined if it is not JSON. */
function parseJsonBytes(body: unknown, max: number): unknown {
  let text: string;
  if (typeof body === 'string') text = body;
  else if (body instanceof Uint8Array) {
    if (body.byteLength > max) return undefined;
    text = decoder.decode(body);
  } else return undefined;
  if (text.length > max || text.length === 0) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * InvokeModel's operation, from the model and the request body: embeddings models (`embed` in
 * the id), `messages` (chat), `prompt` or `inputText` (text completion); anything else `chat`.
 */
export function invokeOperation(modelId: unknown, body: unknown): string {
  if (typeof modelId === 'string' && /embed/i.test(modelId)) return OPERATION.embeddings;
  const json = parseJsonBytes(body, MAX_PARSED_REQUEST);
  if (isRecord(json)) {
    if (Array.isArray(json.messages)) return OPERATION.chat;
    if (typeof json.prompt === 'string' || typeof json.inputText === 'string') return OPERATION.textCompletion;
  }
  return OPERATION.chat;
}

function nonEmpty(value: unknown): boolean {
  return (typeof value === 'string' && value.length > 0) || (value instanceof Uint8Array && value.byteLength > 0);
}

/**
 * A ConverseStream event that carries output: a text, tool-input or reasoning delta, or the
 * start of a tool use (the model naming the tool). Message and block framing, a reasoning
 * signature and `metadata` are not output.
 */
export function isConverseOutputEvent(event: unknown): boolean {
  if (!isRecord(event)) return false;
  const delta = isRecord(event.contentBlockDelta) ? event.contentBlockDelta.delta : undefined;
  if (isRecord(delta)) {
    if (nonEmpty(delta.text)) return true;
    if (isRecord(delta.toolUse)) return true;
    const reasoning = delta.reasoningContent;
    return isRecord(reasoning) && (nonEmpty(reasoning.text) || nonEmpty(reasoning.redactedContent));
  }
  const start = isRecord(event.contentBlockStart) ? event.contentBlockStart.start : undefined;
  return isRecord(start) && isRecord(start.toolUse);
}

function converseEventUsage(event: unknown): TokenUsage | undefined {
  return isRecord(event) && isRecord(event.metadata) ? converseUsage(event.metadata.usage) : undefined;
}

/**
 * The model's JSON in an InvokeModelWithResponseStream event (`{ chunk: { bytes } }`), parsed
 * once per event (the predicate and the usage reader see the same event in turn).
 */
function chunkReader(): (event: unknown) => unknown {
  let last: unknown;
  let parsed: unknown;
  return (event) => {
    if (event === last) return parsed;
    last = event;
    const bytes = isRecord(event) && isRecord(event.chunk) ? event.chunk.bytes : undefined;
    parsed = bytes instanceof Uint8Array ? (parseJsonBytes(bytes, MAX_PARSED_RESPONSE) ?? NOT_JSON) : undefined;
    return parsed;
  };
}

/** A chunk with bytes that are not JSON. */
const NOT_JSON = Symbol('not JSON');

/**
 * Whether a model's streamed chunk carries output. Known formats: Anthropic
 * (`content_block_delta`), OpenAI chat (`choices[].delta` with content, reasoning or tool calls),
 * Meta Llama (`generation`), Amazon Titan (`outputText`), Amazon Nova (`contentBlockDelta`). Any
 * other chunk with bytes is output: a model streams chunks to stream its output.
 */
export function isInvokeOutputChunk(json: unknown): boolean {
  if (json === undefined) return false;
  if (!isRecord(json)) return true;
  if (typeof json.type === 'string') return json.type === 'content_block_delta';
  if (Array.isArray(json.choices)) {
    return json.choices.some((choice) => {
      const delta = isRecord(choice) ? choice.delta : undefined;
      return (
        isRecord(delta) &&
        (nonEmpty(delta.content) || nonEmpty(delta.reasoning_content) || nonEmpty(delta.reasoning) || Array.isArray(delta.tool_calls))
      );
    });
  }
  if ('generation' in json) return nonEmpty(json.generation);
  if ('outputText' in json) return nonEmpty(json.outputText);
  if ('contentBlockDelta' in json || 'messageStart' in json || 'messageStop' in json || 'metadata' in json) {
    return isConverseOutputEvent(json);
  }
  return !('amazon-bedrock-invocationMetrics' in json && Object.keys(json).length === 1);
}

/**
 * The usage in one streamed chunk: Bedrock's own `amazon-bedrock-invocationMetrics` (every model,
 * last chunk), else the model's: Anthropic's `message_start` (input) and `message_delta`
 * (output), or the formats {@link invokeBodyUsage} reads.
 */
export function invokeChunkUsage(json: unknown): TokenUsage | undefined {
  if (!isRecord(json)) return undefined;
  const metrics = invocationMetricsUsage(json['amazon-bedrock-invocationMetrics']);
  if (metrics !== undefined) return metrics;
  if (json.type === 'message_start') {
    const usage = isRecord(json.message) ? json.message.usage : undefined;
    // message_start's output_tokens is a placeholder; message_delta reports the count.
    return isRecord(usage) ? anthropicUsage(usage, false) : undefined;
  }
  if (json.type === 'message_delta') {
    return isRecord(json.usage) ? anthropicUsage(json.usage) : undefined;
  }
  return invokeBodyUsage(json);
}

function noResponseModel(): undefined {
  return undefined;
}

class BedrockCall {
  constructor(
    readonly recorder: RequestRecorder,
    readonly kind: Kind,
    readonly signal: AbortSignal | undefined,
  ) {}

  fail(error: unknown): void {
    this.recorder.fail(error, this.signal);
  }

  settle(output: unknown): void {
    try {
      switch (this.kind) {
        case 'converse':
          this.recorder.end({ ...usageField(isRecord(output) ? converseUsage(output.usage) : undefined) });
          return;
        case 'invoke': {
          const body = isRecord(output) && isUtf8Json(output.contentType) ? parseJsonBytes(output.body, MAX_PARSED_RESPONSE) : undefined;
          this.recorder.end({ ...usageField(invokeBodyUsage(body)) });
          return;
        }
        case 'converseStream':
          this.watchStream(isRecord(output) ? output.stream : undefined, {
            isOutputChunk: isConverseOutputEvent,
            extractUsage: converseEventUsage,
            extractResponseModel: noResponseModel,
            signal: this.signal,
          });
          return;
        case 'invokeStream': {
          const read = chunkReader();
          this.watchStream(isRecord(output) ? output.body : undefined, {
            isOutputChunk: (event) => isInvokeOutputChunk(read(event)),
            extractUsage: (event) => invokeChunkUsage(read(event)),
            extractResponseModel: noResponseModel,
            signal: this.signal,
          });
          return;
        }
      }
    } catch (error) {
      reportInternalError('bedrock response', error);
      this.recorder.end();
    }
  }

  /** Observes the stream object's own iteration; the caller keeps the same object. */
  private watchStream(stream: unknown, handlers: ChunkHandlers): void {
    const original = isObject(stream) ? stream[Symbol.asyncIterator] : undefined;
    if (!isObject(stream) || typeof original !== 'function') {
      this.recorder.end();
      return;
    }
    const recorder = this.recorder;
    let opened = false;
    const iterate = function (this: unknown, ...args: unknown[]): unknown {
      // Only the first iteration is the request's: the response can be read once.
      if (opened) return (original as AnyFunction).apply(this, args);
      opened = true;
      let source: AsyncIterator<unknown>;
      try {
        source = (original as AnyFunction).apply(this, args) as AsyncIterator<unknown>;
      } catch (error) {
        recorder.fail(error, handlers.signal);
        throw error;
      }
      return new InstrumentedIterator(() => cancelOnAbort(source, recorder, handlers.signal), recorder, handlers);
    };
    Object.defineProperty(stream, Symbol.asyncIterator, { value: iterate, writable: true, configurable: true, enumerable: false });
    recorder.watch(stream);
  }
}

/**
 * The SDK ends a stream whose abortSignal fired with a plain `Error: aborted` from the socket:
 * the caller's own signal says it was a cancel, not a failure.
 */
function cancelOnAbort(source: AsyncIterator<unknown>, recorder: RequestRecorder, signal: AbortSignal | undefined): AsyncIterator<unknown> {
  if (signal === undefined) return source;
  const onError = (error: unknown): never => {
    if (signal.aborted) recorder.cancel();
    throw error;
  };
  return {
    next: (...args: [] | [unknown]) => Promise.resolve(source.next(...args)).then(undefined, onError),
    ...(typeof source.return === 'function' ? { return: (value?: unknown) => source.return!(value) } : {}),
    ...(typeof source.throw === 'function' ? { throw: (error?: unknown) => source.throw!(error) } : {}),
  };
}

function usageField(usage: TokenUsage | undefined): { usage?: TokenUsage } {
  return usage === undefined ? {} : { usage };
}

function kindOf(command: unknown, config: Config): Kind | undefined {
  if (!isObject(command)) return undefined;
  for (const [cls, kind] of config.commands) {
    if (command instanceof cls) return kind;
  }
  return undefined;
}

function beginCall(client: unknown, args: unknown[], config: Config): BedrockCall | undefined {
  const kind = kindOf(args[0], config);
  if (kind === undefined) return undefined;
  const input = (args[0] as Obj).input;
  const modelId = isRecord(input) ? input.modelId : undefined;
  const options = typeof args[1] === 'function' ? undefined : args[1];
  const signal = isRecord(options) && options.abortSignal instanceof AbortSignal ? options.abortSignal : undefined;
  let server: ServerAttributes = {};
  if (isObject(client)) {
    server = servers.get(client) ?? {};
    learnServer(client);
  }
  const operation = kind === 'invoke' || kind === 'invokeStream' ? invokeOperation(modelId, isRecord(input) ? input.body : undefined) : OPERATION.chat;
  const recorder = config.metrics().begin(
    {
      provider: PROVIDER.awsBedrock,
      ...(typeof modelId === 'string' ? { model: modelId } : {}),
      operation,
      ...(server.address !== undefined ? { serverAddress: server.address } : {}),
      ...(server.port !== undefined ? { serverPort: server.port } : {}),
    },
    kind === 'converseStream' || kind === 'invokeStream',
  );
  return recorder === undefined ? undefined : new BedrockCall(recorder, kind, signal);
}

function recordingSend(original: AnyFunction, config: Config): AnyFunction {
  return function (this: unknown, ...args: unknown[]): unknown {
    let call: BedrockCall | undefined;
    try {
      call = beginCall(this, args, config);
    } catch (error) {
      reportInternalError('bedrock request', error);
    }
    if (call === undefined) return original.apply(this, args);
    const observed = call;
    // The callback form, send(command, cb) or send(command, options, cb): the SDK calls it with
    // (err) or (null, output); ours sees that first and passes it on, return value and all.
    const cbIndex = typeof args[1] === 'function' ? 1 : typeof args[2] === 'function' ? 2 : -1;
    let callArgs = args;
    if (cbIndex >= 0) {
      const callback = args[cbIndex] as AnyFunction;
      callArgs = args.slice();
      callArgs[cbIndex] = function (this: unknown, ...cbArgs: unknown[]): unknown {
        try {
          if (cbArgs[0] !== null && cbArgs[0] !== undefined) observed.fail(cbArgs[0]);
          else observed.settle(cbArgs[1]);
        } catch (error) {
          reportInternalError('bedrock callback', error);
        }
        return callback.apply(this, cbArgs);
      };
    }
    let result: unknown;
    try {
      result = original.apply(this, callArgs);
    } catch (error) {
      observed.fail(error);
      throw error;
    }
    if (cbIndex < 0) {
      if (isThenable(result)) {
        result.then(
          (value) => observed.settle(value),
          (error: unknown) => observed.fail(error),
        );
      } else {
        observed.settle(result);
      }
    }
    return result;
  };
}

/** The module's exports: a namespace, its `default` (CJS `module.exports`), or the exports object. */
function moduleExports(target: unknown): Obj | undefined {
  if (!isObject(target)) return undefined;
  if (typeof target.BedrockRuntimeClient === 'function') return target;
  const inner = target.default;
  return isObject(inner) && typeof inner.BedrockRuntimeClient === 'function' ? inner : undefined;
}

/**
 * Instruments `@aws-sdk/client-bedrock-runtime`: Converse, ConverseStream, InvokeModel and
 * InvokeModelWithResponseStream sent through any `BedrockRuntimeClient` (or `BedrockRuntime`)
 * of that module, made before or after this call. `target` is the module: `import * as bedrock`
 * or `require('@aws-sdk/client-bedrock-runtime')`. Calling it again replaces the options; it
 * never wraps twice.
 *
 * @returns a function that removes the instrumentation again.
 */
export function instrumentBedrock(target: unknown, options: BedrockInstrumentationOptions = {}): () => void {
  const metrics = options.metrics ?? defaultInferenceMetrics;
  return patchBedrock(target, () => metrics);
}

/** {@link instrumentBedrock}, recording wherever `metrics()` says at the time of each call. */
export function patchBedrock(target: unknown, metrics: () => InferenceMetrics): () => void {
  const undo: (() => void)[] = [];
  try {
    const exports = moduleExports(target);
    const proto = exports !== undefined && isObject(exports.BedrockRuntimeClient) ? exports.BedrockRuntimeClient.prototype : undefined;
    if (exports === undefined || !isObject(proto) || typeof proto.send !== 'function') {
      diag.warn('otel-inference: instrumentBedrock found no BedrockRuntimeClient to instrument');
    } else {
      const commands: [AnyFunction, Kind][] = [];
      for (const [name, kind] of COMMANDS) {
        const cls = exports[name];
        if (typeof cls === 'function') commands.push([cls as AnyFunction, kind]);
      }
      const config: Config = { metrics, commands };
      const restore = wrapMethod(proto, 'send', (original) => recordingSend(original, config));
      undo.push(() => {
        restore();
        // `send` is inherited from the SDK's Client: leave no own copy of it behind.
        const inherited = Object.getPrototypeOf(proto) as Obj | null;
        if (Object.prototype.hasOwnProperty.call(proto, 'send') && inherited?.send === proto.send) delete proto.send;
      });
      // Frameworks on top of the client (LangChain's ChatBedrockConverse) leave its calls to this adapter.
      undo.push(markInstrumented('@aws-sdk/client-bedrock-runtime'));
    }
  } catch (error) {
    reportInternalError('instrumentBedrock', error);
  }
  return () => {
    for (const restore of undo.splice(0)) restore();
  };
}
