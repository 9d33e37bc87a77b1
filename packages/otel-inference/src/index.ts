/**
 * `otel-inference`: the whole API of @otel-inference/instrumentation, re-exported, so that an
 * app that installs the distribution imports from one name. The preload is
 * `otel-inference/register`.
 */
export * from '@otel-inference/instrumentation';
