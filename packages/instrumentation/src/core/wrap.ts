import type { Obj } from './guards.js';

export type AnyFunction = (this: unknown, ...args: unknown[]) => unknown;

/** Marks our wrappers and keeps the original; Symbol.for so that ESM and CJS copies agree. */
const ORIGINAL = Symbol.for('otel-inference.original');

type Wrapped = AnyFunction & { [ORIGINAL]?: AnyFunction };

/** The function our wrapper replaced, or `fn` itself when it is not ours. */
export function originalOf(fn: AnyFunction): AnyFunction {
  return (fn as Wrapped)[ORIGINAL] ?? fn;
}

/** True when `fn` is a wrapper of ours. */
export function isOurWrapper(fn: unknown): boolean {
  return typeof fn === 'function' && (fn as Wrapped)[ORIGINAL] !== undefined;
}

/**
 * Replaces `target[key]` with `makeWrapper(original)`, which keeps the original's `name` and
 * `length`. Wrapping again wraps the original, never our wrapper: wrappers do not stack, and
 * the last options win. Returns the undo, which restores the original if our wrapper is still
 * in place (someone else's later wrapper is left alone).
 */
export function wrapMethod(target: Obj, key: PropertyKey, makeWrapper: (original: AnyFunction) => AnyFunction): () => void {
  const original = originalOf(target[key] as AnyFunction);
  const wrapper = makeWrapper(original);
  Object.defineProperty(wrapper, 'name', { value: original.name });
  Object.defineProperty(wrapper, 'length', { value: original.length });
  Object.defineProperty(wrapper, ORIGINAL, { value: original });
  target[key] = wrapper;
  return () => {
    if (target[key] === wrapper) target[key] = original;
  };
}
