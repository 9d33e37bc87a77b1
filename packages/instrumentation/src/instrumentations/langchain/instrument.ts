/**
 * Attaching the handler to every LangChain run, the way LangChain supports it: a configure hook
 * (`registerConfigureHook` of `@langchain/core/context`) whose context variable holds the
 * handler, which `CallbackManager.configure` adds to each run. And the stream wrapper of
 * scope.ts on BaseChatModel and BaseLLM.
 */
import { isObject, isRecord } from '../../core/guards.js';
import { reportInternalError } from '../../core/internal-errors.js';
import { defaultInferenceMetrics, type InferenceMetrics } from '../../core/metrics.js';
import { InferenceCallbackHandler } from './handler.js';
import { patchStreamIterator } from './scope.js';

/** The context variable the configure hook reads the handler from. */
export const HANDLER_CONTEXT_VARIABLE = 'otel_inference_callback_handler';

/** What {@link instrumentLangChain} patches: the modules of one copy of `@langchain/core`. */
export interface LangChainModules {
  /** `@langchain/core/language_models/chat_models` (its `BaseChatModel`). */
  chatModels?: unknown;
  /** `@langchain/core/language_models/llms` (its `BaseLLM`). */
  llms?: unknown;
  /** `@langchain/core/context` (its `registerConfigureHook` and `setContextVariable`). */
  context?: unknown;
}

export interface LangChainInstrumentationOptions {
  /** Where to record. Default: the global MeterProvider, no model allowlist. */
  metrics?: InferenceMetrics;
}

/**
 * Registers the configure hook of one copy of `@langchain/core` and sets its context variable to
 * `handler`. LangChain keeps both in an AsyncLocalStorage context: they apply to what runs
 * after this call in the current async context and everything it starts, so call it at the top
 * level of the app (register does it when LangChain is loaded), not inside a request.
 * Returns false when `context` is not LangChain's context module.
 */
export function attachHandler(context: unknown, handler: InferenceCallbackHandler): boolean {
  if (!isObject(context)) return false;
  const { registerConfigureHook, setContextVariable } = context;
  if (typeof registerConfigureHook !== 'function' || typeof setContextVariable !== 'function') return false;
  // Registered again at each call: an earlier registration may belong to another async context.
  // A hook listed twice adds the handler once (LangChain keeps one handler of a name per run).
  registerConfigureHook({ contextVar: HANDLER_CONTEXT_VARIABLE });
  setContextVariable(HANDLER_CONTEXT_VARIABLE, handler);
  return true;
}

function prototypeOf(module: unknown, className: string): unknown {
  const cls = isRecord(module) || typeof module === 'function' ? (module as Record<string, unknown>)[className] : undefined;
  return isObject(cls) ? cls.prototype : undefined;
}

/** @internal The stream wrappers of one copy; returns their undo. */
export function patchLangChainStreams(modules: Pick<LangChainModules, 'chatModels' | 'llms'>): () => void {
  const undo: (() => void)[] = [];
  try {
    for (const proto of [prototypeOf(modules.chatModels, 'BaseChatModel'), prototypeOf(modules.llms, 'BaseLLM')]) {
      const restore = patchStreamIterator(proto);
      if (restore !== undefined) undo.push(restore);
    }
  } catch (error) {
    reportInternalError('instrumentLangChain', error);
  }
  return () => {
    for (const restore of undo.splice(0)) restore();
  };
}

/**
 * Instruments one copy of `@langchain/core` by hand (register does this by itself): every chat
 * model and LLM run, of any model class, is recorded by an {@link InferenceCallbackHandler}
 * attached through LangChain's configure hook, and streams are watched, so that one the caller
 * breaks off or drops is recorded as cancelled.
 *
 * ```ts
 * import * as chatModels from '@langchain/core/language_models/chat_models';
 * import * as llms from '@langchain/core/language_models/llms';
 * import * as context from '@langchain/core/context';
 * instrumentLangChain({ chatModels, llms, context });
 * ```
 *
 * Call it at the top level of the app: LangChain scopes the hook to the async context it is
 * registered in. @returns a function that stops recording and removes the stream wrappers.
 */
export function instrumentLangChain(modules: LangChainModules, options: LangChainInstrumentationOptions = {}): () => void {
  const metrics = options.metrics ?? defaultInferenceMetrics;
  // Streams are watched here, and other runs always end: no idle timeout.
  const handler = new InferenceCallbackHandler({ abandonAfterMs: 0 }, () => metrics);
  const unpatch = patchLangChainStreams(modules);
  try {
    if (modules.context !== undefined && !attachHandler(modules.context, handler)) {
      reportInternalError('instrumentLangChain', new TypeError('context is not @langchain/core/context'));
    }
  } catch (error) {
    reportInternalError('instrumentLangChain', error);
  }
  return () => {
    handler.enabled = false;
    unpatch();
  };
}
