/**
 * @opentelemetry/instrumentation-openai records the same gen_ai.client.* metrics: with both
 * active, every openai call is counted twice. We cannot switch the other one off, so we say so.
 */
import { diag } from '@opentelemetry/api';
import { isObject } from '../../core/guards.js';
import { isOurWrapper, originalOf, type AnyFunction } from '../../core/wrap.js';
import { clientClass } from './patch.js';

const OTEL_OPENAI_INSTRUMENTATION = '@opentelemetry/instrumentation-openai';
let warned = false;

/**
 * True when another instrumentation (shimmer, as OTel instrumentations use, marks its wrappers
 * with `__wrapped`) has wrapped the client's `chat.completions.create`, before or after ours.
 * Being loaded is not enough: @opentelemetry/instrumentation-openai 0.22 patches openai < 7 only.
 */
export function otherOpenAIInstrumentationActive(moduleExports: unknown): boolean {
  try {
    const cls = clientClass(moduleExports) as { Chat?: { Completions?: { prototype?: { create?: unknown } } } } | undefined;
    const create = cls?.Chat?.Completions?.prototype?.create;
    if (typeof create !== 'function') return false;
    const beneathOurs = originalOf(create as AnyFunction);
    return [create, beneathOurs].some((fn) => isObject(fn) && fn.__wrapped === true && !isOurWrapper(fn));
  } catch {
    return false;
  }
}

/**
 * Warns once when another instrumentation records openai too. Call it when openai is patched
 * and again at its first call: another instrumentation's require hook may run after ours, and
 * auto-instrumentations may be set up after openai is loaded.
 */
export function warnIfDoubleCounting(moduleExports: unknown): void {
  if (warned || !otherOpenAIInstrumentationActive(moduleExports)) return;
  warned = true;
  diag.warn(
    `${OTEL_OPENAI_INSTRUMENTATION} is also active, so the gen_ai.client.* metrics of openai calls are recorded twice. ` +
      'Disable one of them: with @opentelemetry/auto-instrumentations-node set ' +
      'OTEL_NODE_DISABLED_INSTRUMENTATIONS=openai (or getNodeAutoInstrumentations({ "@opentelemetry/instrumentation-openai": { enabled: false } })); ' +
      'to keep that one instead, disable ours with OTEL_NODE_DISABLED_INSTRUMENTATIONS=inference-openai',
  );
}

