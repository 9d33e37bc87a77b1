/**
 * The same recording as a language model middleware, for apps that prefer code to the preload:
 *
 *     const model = wrapLanguageModel({ model: openai('gpt-4o'), middleware: inferenceMiddleware() });
 *
 * Works with `wrapLanguageModel` of ai 4 to 7 (and `wrapEmbeddingModel`, ai 6 and 7, with
 * {@link inferenceEmbeddingMiddleware}). Under the `otel-inference/register` preload too, each
 * model call is still recorded once: the patch records it and the middleware steps aside.
 */
import { defaultInferenceMetrics, type InferenceMetrics } from '../../core/metrics.js';
import { claimedByPatch, observeEmbed, observeGenerate, observeStream, type MetricsSource } from './observe.js';

export interface InferenceMiddlewareOptions {
  /** Where to record. Default: the global MeterProvider, no model allowlist. */
  metrics?: InferenceMetrics;
}

/* eslint-disable @typescript-eslint/no-explicit-any -- the middleware types of ai 4 to 7 differ;
   one object fits each (their `specificationVersion` is a type-level tag: wrapLanguageModel
   does not read it). */

/** What the SDK passes to a middleware's `wrapGenerate` / `wrapStream` / `wrapEmbed`. */
interface WrapOptions<R> {
  doGenerate?: () => PromiseLike<R>;
  doStream?: () => PromiseLike<R>;
  doEmbed?: () => PromiseLike<R>;
  params: any;
  model: any;
}

/** A language model middleware (`LanguageModelV1Middleware` … `LanguageModelV4Middleware`). */
export interface InferenceLanguageModelMiddleware {
  readonly specificationVersion: any;
  wrapGenerate(options: WrapOptions<any> & { doGenerate: () => PromiseLike<any> }): Promise<any>;
  wrapStream(options: WrapOptions<any> & { doStream: () => PromiseLike<any> }): Promise<any>;
}

/** An embedding model middleware (`EmbeddingModelV3Middleware`, `EmbeddingModelV4Middleware`). */
export interface InferenceEmbeddingModelMiddleware {
  readonly specificationVersion: any;
  wrapEmbed(options: WrapOptions<any> & { doEmbed: () => PromiseLike<any> }): Promise<any>;
}

function source(options: InferenceMiddlewareOptions): MetricsSource {
  const metrics = options.metrics ?? defaultInferenceMetrics;
  return () => metrics;
}

/**
 * A middleware that records every call of the model it wraps (each step of a multi-step
 * `generateText` or `streamText`, each `generateObject`/`streamObject`) exactly as the
 * `inference-ai-sdk` instrumentation does.
 */
export function inferenceMiddleware(options: InferenceMiddlewareOptions = {}): InferenceLanguageModelMiddleware {
  const metrics = source(options);
  return {
    specificationVersion: undefined,
    wrapGenerate: async ({ doGenerate, params, model }) =>
      claimedByPatch() ? doGenerate() : observeGenerate(metrics, model, params, doGenerate),
    wrapStream: async ({ doStream, params, model }) =>
      claimedByPatch() ? doStream() : observeStream(metrics, model, params, doStream),
  };
}

/** {@link inferenceMiddleware} for `wrapEmbeddingModel` (ai 6 and later): every `doEmbed` call. */
export function inferenceEmbeddingMiddleware(options: InferenceMiddlewareOptions = {}): InferenceEmbeddingModelMiddleware {
  const metrics = source(options);
  return {
    specificationVersion: undefined,
    wrapEmbed: async ({ doEmbed, params, model }) =>
      claimedByPatch() ? doEmbed() : observeEmbed(metrics, model, params, doEmbed),
  };
}
