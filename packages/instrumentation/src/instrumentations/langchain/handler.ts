/**
 * A LangChain callback handler that records the inference metrics of every chat model and LLM
 * run it sees, whatever the model class: LangChain's callbacks are the one interface all of them
 * share.
 */
import { isRecord } from '../../core/guards.js';
import { isInstrumented } from '../../core/instrumented.js';
import { reportInternalError } from '../../core/internal-errors.js';
import { defaultInferenceMetrics, type InferenceMetrics } from '../../core/metrics.js';
import type { RequestRecorder } from '../../core/recorder.js';
import { serverOfUrl } from '../../core/server.js';
import { OPERATION } from '../../semconv.js';
import { langchainProvider } from './providers.js';
import { currentStreamScope } from './scope.js';
import { responseModelOfResult, tokenCarriesOutput, usageOfResult } from './usage.js';

export interface InferenceCallbackHandlerOptions {
  /** Where to record. Default: the global MeterProvider, no model allowlist. */
  metrics?: InferenceMetrics;
  /**
   * A run outside a stream that the instrumentation watches, that has had no callback for this
   * long, is ended as `cancelled` (its duration runs to its last callback): LangChain tells a
   * handler nothing when the caller breaks off a `.stream()`. Default 600000 (10 minutes, the
   * default request timeout of the openai and Anthropic clients); 0 never ends a run this way.
   * With the instrumentation enabled (`otel-inference/register`, LangChainInstrumentation)
   * streams are watched exactly and this applies to nothing in practice.
   */
  abandonAfterMs?: number;
}

interface Run {
  readonly recorder: RequestRecorder;
  readonly signal: AbortSignal | undefined;
  /** Removes the signal's abort listener. */
  unlisten: (() => void) | undefined;
  /** Ended by its stream scope if the caller gives up; not subject to `abandonAfterMs`. */
  readonly scoped: boolean;
  lastActivity: number;
}

const DEFAULT_ABANDON_AFTER_MS = 600_000;
/** The abandoned-run sweep runs at most this often, and at least every abandonAfterMs / 4. */
const MAX_SWEEP_MS = 30_000;

function field(value: unknown, key: string): unknown {
  return isRecord(value) ? value[key] : undefined;
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

const URL_KEYS = ['baseURL', 'baseUrl', 'base_url', 'basePath', 'apiUrl', 'api_url', 'anthropicApiUrl', 'anthropic_api_url', 'endpoint'];

/**
 * `server.address` / `server.port` from the base URL in the model's serialized constructor
 * arguments (ChatOpenAI `configuration.baseURL`, ChatOllama `baseUrl`, ...). Only these keys
 * are read; nothing else of the arguments (headers, keys) is.
 */
function serverOfModel(serialized: unknown): { address?: string; port?: number } {
  const kwargs = field(serialized, 'kwargs');
  for (const holder of [kwargs, field(kwargs, 'configuration'), field(kwargs, 'clientOptions'), field(kwargs, 'client_options')]) {
    if (!isRecord(holder)) continue;
    for (const key of URL_KEYS) {
      const url = str(holder[key]);
      if (url === undefined) continue;
      const server = serverOfUrl(url);
      if (server.address !== undefined) return server;
    }
  }
  return {};
}

function lastOf(value: unknown): unknown {
  return Array.isArray(value) ? value[value.length - 1] : undefined;
}

/**
 * Records `gen_ai.client.*` and `inference.*` metrics for LangChain chat models and LLMs, any
 * class: add it to a model's or a call's `callbacks`, or let `otel-inference/register` attach it
 * to every run. A run begins at `handleChatModelStart` / `handleLLMStart`; each
 * `handleLLMNewToken` that carries output is an output chunk; `handleLLMEnd` ends it with the
 * usage the provider reported, `handleLLMError` with the error (an abort: `cancelled`).
 *
 * A run of a model whose client library an otel-inference client adapter records (ChatOpenAI on
 * `openai`, ...) is left to that adapter, which sees the wire: each call is recorded once.
 *
 * It is not a subclass of LangChain's BaseCallbackHandler (otel-inference does not depend on
 * LangChain) but has every member LangChain looks for. Its callbacks are awaited
 * (`awaitHandlers`), so that their times are the chunks' times, not a background queue's; they
 * return at once.
 */
export class InferenceCallbackHandler {
  /** LangChain keeps one handler of a name per run: a second copy of this handler is not added twice. */
  readonly name = 'otel_inference_callback_handler';
  readonly awaitHandlers = true;
  readonly raiseError = false;
  readonly ignoreLLM = false;
  readonly ignoreChain = true;
  readonly ignoreAgent = true;
  readonly ignoreRetriever = true;
  readonly ignoreCustomEvent = true;
  readonly lc_serializable = false;

  /** @internal Off: new runs are not recorded (the instrumentation was disabled). */
  enabled = true;
  private readonly runs = new Map<string, Run>();
  private readonly metricsOf: () => InferenceMetrics;
  private readonly abandonAfterMs: number;
  private sweep: ReturnType<typeof setInterval> | undefined;

  constructor(options: InferenceCallbackHandlerOptions = {}, /** @internal */ metricsOf?: () => InferenceMetrics) {
    const metrics = options.metrics ?? defaultInferenceMetrics;
    this.metricsOf = metricsOf ?? (() => metrics);
    const after = options.abandonAfterMs ?? DEFAULT_ABANDON_AFTER_MS;
    this.abandonAfterMs = Number.isFinite(after) && after > 0 ? after : 0;
  }

  /** The same handler: its runs are in flight across LangChain's copies of the callback list. */
  copy(): this {
    return this;
  }

  /** How many runs are in flight (for tests and debugging). */
  get activeRuns(): number {
    return this.runs.size;
  }

  handleLLMStart(llm: unknown, _prompts: unknown, runId: unknown, _parentRunId?: unknown, extraParams?: unknown, _tags?: unknown, metadata?: unknown): void {
    this.start(OPERATION.textCompletion, llm, runId, extraParams, metadata);
  }

  handleChatModelStart(llm: unknown, _messages: unknown, runId: unknown, _parentRunId?: unknown, extraParams?: unknown, _tags?: unknown, metadata?: unknown): void {
    this.start(OPERATION.chat, llm, runId, extraParams, metadata);
  }

  handleLLMNewToken(token: unknown, _idx: unknown, runId: unknown, _parentRunId?: unknown, _tags?: unknown, fields?: unknown): void {
    const run = typeof runId === 'string' ? this.runs.get(runId) : undefined;
    if (run === undefined) return;
    try {
      if (tokenCarriesOutput(token, fields)) run.recorder.output();
      else run.recorder.touch();
      if (!run.scoped) run.lastActivity = performance.now();
    } catch (error) {
      reportInternalError('langchain token', error);
    }
  }

  handleLLMEnd(output: unknown, runId: unknown): void {
    const run = this.take(runId);
    if (run === undefined) return;
    let usage;
    let responseModel;
    try {
      usage = usageOfResult(output);
      responseModel = responseModelOfResult(output);
    } catch (error) {
      reportInternalError('langchain result', error);
    }
    run.recorder.end({ ...(usage !== undefined ? { usage } : {}), ...(responseModel !== undefined ? { responseModel } : {}) });
  }

  handleLLMError(error: unknown, runId: unknown): void {
    const run = this.take(runId);
    run?.recorder.fail(error, run.signal);
  }

  private take(runId: unknown): Run | undefined {
    if (typeof runId !== 'string') return undefined;
    const run = this.runs.get(runId);
    if (run !== undefined) {
      this.runs.delete(runId);
      run.unlisten?.();
      run.unlisten = undefined;
    }
    return run;
  }

  private start(operation: string, llm: unknown, runId: unknown, extraParams: unknown, metadata: unknown): void {
    try {
      if (!this.enabled || typeof runId !== 'string' || this.runs.has(runId)) return;
      const scope = currentStreamScope();
      const inStream = scope?.claim() === true;
      const params = field(extraParams, 'invocation_params');
      const { provider, clientModule } = langchainProvider(
        field(metadata, 'ls_provider') ?? field(params, 'ls_provider'),
        lastOf(field(llm, 'id')),
      );
      // The client adapter records this call; recording it here too would count it twice.
      if (clientModule !== undefined && isInstrumented(clientModule)) return;
      const model =
        str(field(metadata, 'ls_model_name')) ??
        str(field(params, 'ls_model_name')) ??
        str(field(params, 'model')) ??
        str(field(params, 'model_name')) ??
        str(field(params, 'modelName'));
      const stream = inStream || field(params, 'stream') === true || field(params, 'streaming') === true;
      const server = serverOfModel(llm);
      const recorder = this.metricsOf().begin(
        {
          provider,
          operation,
          ...(model !== undefined ? { model } : {}),
          ...(server.address !== undefined ? { serverAddress: server.address } : {}),
          ...(server.port !== undefined ? { serverPort: server.port } : {}),
        },
        stream,
      );
      if (recorder === undefined) return;
      const option = field(field(extraParams, 'options'), 'signal');
      const signal = option instanceof AbortSignal ? option : undefined;
      const run: Run = { recorder, signal, unlisten: undefined, scoped: inStream, lastActivity: performance.now() };
      this.runs.set(runId, run);
      if (signal !== undefined) {
        // The caller's abort ends the run at once: LangChain 1.x may hand the caller the abort
        // error from a race with the signal while the model's generator stays suspended, and
        // then no callback ever comes.
        const onAbort = () => this.take(runId)?.recorder.fail(signal.reason, signal);
        if (signal.aborted) {
          onAbort();
          return;
        }
        signal.addEventListener('abort', onAbort, { once: true });
        run.unlisten = () => signal.removeEventListener('abort', onAbort);
      }
      if (inStream) scope!.attach(recorder, () => this.take(runId));
      else if (this.abandonAfterMs > 0) this.startSweep();
    } catch (error) {
      reportInternalError('langchain run start', error);
    }
  }

  private startSweep(): void {
    if (this.sweep !== undefined) return;
    const every = Math.min(MAX_SWEEP_MS, Math.max(1, this.abandonAfterMs / 4));
    this.sweep = setInterval(() => this.sweepAbandoned(), every);
    this.sweep.unref();
  }

  private sweepAbandoned(): void {
    const now = performance.now();
    let unscoped = 0;
    for (const [runId, run] of this.runs) {
      if (run.recorder.ended) {
        this.take(runId);
        continue;
      }
      if (run.scoped) continue;
      if (now - run.lastActivity >= this.abandonAfterMs) {
        this.take(runId);
        run.recorder.abandon();
      } else {
        unscoped++;
      }
    }
    if (unscoped === 0 && this.sweep !== undefined) {
      clearInterval(this.sweep);
      this.sweep = undefined;
    }
  }
}
