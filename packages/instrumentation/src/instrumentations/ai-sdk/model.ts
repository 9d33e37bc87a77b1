/**
 * An AI SDK model, observed: a Proxy of the caller's model whose `doGenerate`, `doStream` and
 * `doEmbed` record each call. Everything else reads through to the model itself (its
 * `provider`, `modelId`, `specificationVersion`, `supportedUrls`, getters), and methods run on
 * the model, never on the Proxy, so private state of a provider class still works. The caller's
 * model object is never changed.
 */
import { isObject, type Obj } from '../../core/guards.js';
import type { AnyFunction } from '../../core/wrap.js';
import { observeEmbed, observeGenerate, observeStream, runClaimed, type MetricsSource } from './observe.js';

type Observer = typeof observeGenerate;

const OBSERVERS: Readonly<Record<string, Observer>> = {
  doGenerate: observeGenerate,
  doStream: observeStream,
  doEmbed: observeEmbed,
};

/** Marks our proxies, so a model is never observed twice (a model passed on from one call to another). */
const OBSERVED = Symbol.for('otel-inference.ai-sdk.observed');

/** One proxy per model and metrics source: the SDK may compare or cache models by identity. */
const proxies = new WeakMap<object, WeakMap<MetricsSource, object>>();

export function isObservedModel(model: unknown): boolean {
  return isObject(model) && (model as { [OBSERVED]?: boolean })[OBSERVED] === true;
}

/** `model` observed, or `model` itself when it is not a model object (or already observed). */
export function observedModel<T>(model: T, metrics: MetricsSource): T {
  if (!isObject(model) || isObservedModel(model)) return model;
  if (!['doGenerate', 'doStream', 'doEmbed'].some((key) => typeof model[key] === 'function')) return model;
  let byMetrics = proxies.get(model);
  const cached = byMetrics?.get(metrics);
  if (cached !== undefined) return cached as T;
  const target: Obj = model;
  const methods = new Map<PropertyKey, { original: unknown; wrapper: unknown }>();
  const proxy = new Proxy(target, {
    get(object, key) {
      if (key === OBSERVED) return true;
      const value: unknown = Reflect.get(object, key, object);
      if (typeof value !== 'function') return value;
      const known = methods.get(key);
      if (known !== undefined && known.original === value) return known.wrapper;
      const observer = typeof key === 'string' ? OBSERVERS[key] : undefined;
      const original = value as AnyFunction;
      const wrapper = observer
        ? function (this: unknown, params: unknown, ...rest: unknown[]): unknown {
            return runClaimed(() => observer(metrics, object, params, () => original.call(object, params, ...rest)));
          }
        : original.bind(object);
      methods.set(key, { original: value, wrapper });
      return wrapper;
    },
  });
  if (byMetrics === undefined) proxies.set(model, (byMetrics = new WeakMap()));
  byMetrics.set(metrics, proxy);
  return proxy as T;
}
