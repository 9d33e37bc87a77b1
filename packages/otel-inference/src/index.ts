/**
 * `otel-inference`: the whole API of @otel-inference/instrumentation, re-exported, so that an
 * app that installs the distribution imports from one name, plus `statsHandler()` (the
 * `/v1/stats` JSON snapshot for an app's own server). It loads no SDK; the preload is
 * `otel-inference/register`.
 */
export * from '@otel-inference/instrumentation';
export { statsHandler, type StatsHandlerOptions, type StatsRequestHandler } from './stats.js';
