/**
 * The `ai` package's entry points, patched: each is given the caller's model observed (a Proxy,
 * model.ts) in a copy of the caller's options, so that every model call it makes is recorded.
 * The caller's options object and model are never changed; the return value is the SDK's own.
 */
import { diag } from '@opentelemetry/api';
import { isObject, isRecord, type Obj } from '../../core/guards.js';
import { reportInternalError } from '../../core/internal-errors.js';
import { originalOf, type AnyFunction } from '../../core/wrap.js';
import { observedModel } from './model.js';
import { linkWrappedModel, type MetricsSource } from './observe.js';

/** The exported functions that take `{ model }` and call it (`embed`/`embedMany` an embedding model). */
export const AI_SDK_FUNCTIONS = ['generateText', 'streamText', 'generateObject', 'streamObject', 'embed', 'embedMany'] as const;

/** The wrappers, watched so that a wrapped model is recorded with its inner model's server. */
export const AI_SDK_WRAPPERS = ['wrapLanguageModel', 'experimental_wrapLanguageModel', 'wrapEmbeddingModel'] as const;

const ORIGINAL = Symbol.for('otel-inference.original');

function linkingWrapper(original: AnyFunction, name: string): AnyFunction {
  const wrapper = function (this: unknown, ...args: unknown[]): unknown {
    const result = original.apply(this, args);
    try {
      linkWrappedModel(result, isRecord(args[0]) ? args[0].model : undefined);
    } catch (error) {
      reportInternalError(`ai-sdk ${name}`, error);
    }
    return result;
  };
  Object.defineProperty(wrapper, 'name', { value: original.name });
  Object.defineProperty(wrapper, 'length', { value: original.length });
  Object.defineProperty(wrapper, ORIGINAL, { value: original });
  return wrapper;
}

/**
 * A model given by its id (`model: 'openai/gpt-4o'`, ai 5 and later) is resolved the way the SDK
 * resolves it, through `globalThis.AI_SDK_DEFAULT_PROVIDER` or the AI Gateway, so that it is
 * observed too. Anything that goes wrong leaves the id to the SDK.
 */
function resolveModelId(id: string, moduleExports: Obj, embedding: boolean): unknown {
  try {
    const provider = (globalThis as { AI_SDK_DEFAULT_PROVIDER?: unknown }).AI_SDK_DEFAULT_PROVIDER ?? moduleExports.gateway;
    if (!isObject(provider)) return id;
    const factory = embedding ? (provider.embeddingModel ?? provider.textEmbeddingModel) : provider.languageModel;
    if (typeof factory !== 'function') return id;
    const model: unknown = (factory as AnyFunction).call(provider, id);
    return isObject(model) ? model : id;
  } catch {
    return id;
  }
}

function recordingEntry(original: AnyFunction, name: string, moduleExports: Obj, metrics: MetricsSource, active: () => boolean): AnyFunction {
  const embedding = name === 'embed' || name === 'embedMany';
  const wrapper = function (this: unknown, ...args: unknown[]): unknown {
    let callArgs = args;
    try {
      const options = args[0];
      if (active() && isRecord(options) && 'model' in options) {
        const given = options.model;
        const model = typeof given === 'string' ? resolveModelId(given, moduleExports, embedding) : given;
        const observed = observedModel(model, metrics);
        if (observed !== given) callArgs = [{ ...options, model: observed }, ...args.slice(1)];
      }
    } catch (error) {
      reportInternalError(`ai-sdk ${name}`, error);
      callArgs = args;
    }
    return original.apply(this, callArgs);
  };
  Object.defineProperty(wrapper, 'name', { value: original.name });
  Object.defineProperty(wrapper, 'length', { value: original.length });
  Object.defineProperty(wrapper, ORIGINAL, { value: original });
  return wrapper;
}

export interface PatchedAISDK {
  /** What the module should export: `moduleExports` itself when it could be patched in place, else a copy. */
  readonly exports: unknown;
  /** Restores the originals in place; a copy's wrappers turn into pass-throughs. */
  readonly undo: () => void;
}

/**
 * Patches `ai`'s exports. An ESM namespace under import-in-the-middle takes the new functions in
 * place. A CommonJS build defines its exports as getters that cannot be replaced (and ai 7,
 * ESM-only, is a module namespace under `require`): then the patched module is a copy, with the
 * same properties, whose entry points are ours, for the require hook to hand out instead.
 */
export function patchAISDK(moduleExports: unknown, metrics: MetricsSource): PatchedAISDK {
  if (!isObject(moduleExports)) return { exports: moduleExports, undo: () => {} };
  let active = true;
  const isActive = () => active;
  const wrappers = new Map<string, AnyFunction>();
  try {
    for (const name of AI_SDK_FUNCTIONS) {
      const current = moduleExports[name];
      if (typeof current !== 'function') continue;
      const original = originalOf(current as AnyFunction);
      wrappers.set(name, recordingEntry(original, name, moduleExports, metrics, isActive));
    }
    if (wrappers.size === 0) {
      diag.warn('otel-inference: the `ai` module has none of generateText, streamText, generateObject, streamObject, embed, embedMany');
      return { exports: moduleExports, undo: () => {} };
    }
    for (const name of AI_SDK_WRAPPERS) {
      const current = moduleExports[name];
      if (typeof current === 'function') wrappers.set(name, linkingWrapper(originalOf(current as AnyFunction), name));
    }
  } catch (error) {
    reportInternalError('ai-sdk patch', error);
    return { exports: moduleExports, undo: () => {} };
  }

  if (assignAll(moduleExports, wrappers)) {
    return {
      exports: moduleExports,
      undo: () => {
        active = false;
        for (const [name, wrapper] of wrappers) {
          if (moduleExports[name] === wrapper) moduleExports[name] = (wrapper as { [ORIGINAL]?: unknown })[ORIGINAL];
        }
      },
    };
  }
  return { exports: copyWith(moduleExports, wrappers), undo: () => (active = false) };
}

/** Sets every wrapper in place, or none: false when the exports do not take them. */
function assignAll(moduleExports: Obj, wrappers: Map<string, AnyFunction>): boolean {
  const before = new Map<string, unknown>();
  try {
    for (const [name, wrapper] of wrappers) {
      before.set(name, moduleExports[name]);
      moduleExports[name] = wrapper;
      if (moduleExports[name] !== wrapper) throw new TypeError(`${name} is read-only`);
    }
    return true;
  } catch {
    for (const [name, value] of before) {
      try {
        if (moduleExports[name] !== value) moduleExports[name] = value;
      } catch {
        // It was never replaced.
      }
    }
    return false;
  }
}

/**
 * A copy of the exports, property by property (getters stay getters, so live bindings stay
 * live), with the wrappers in place of the entry points.
 */
function copyWith(moduleExports: Obj, wrappers: Map<string, AnyFunction>): Obj {
  const copy: Obj = Object.create(Object.getPrototypeOf(moduleExports) as object | null) as Obj;
  for (const key of Reflect.ownKeys(moduleExports)) {
    const wrapper = typeof key === 'string' ? wrappers.get(key) : undefined;
    if (wrapper !== undefined) {
      Object.defineProperty(copy, key, { value: wrapper, enumerable: true, writable: true, configurable: true });
      continue;
    }
    const descriptor = Reflect.getOwnPropertyDescriptor(moduleExports, key);
    if (descriptor === undefined) continue;
    if ('value' in descriptor && !('get' in descriptor)) {
      // A module namespace's properties are data properties that follow the live binding.
      Object.defineProperty(copy, key, {
        get: () => moduleExports[key],
        enumerable: descriptor.enumerable ?? false,
        configurable: true,
      });
      if (key === '__esModule' || key === Symbol.toStringTag) Object.defineProperty(copy, key, { ...descriptor, configurable: true });
    } else {
      Object.defineProperty(copy, key, { ...descriptor, configurable: true });
    }
  }
  return copy;
}

