import { isThenable, type Obj } from './guards.js';
import { reportInternalError } from './internal-errors.js';

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

/** A call an adapter observes: it ends through `settle` (the value arrived) or `fail`. */
export interface ObservedCall {
  /** The arguments to call the original with, when the adapter changed them; else the caller's. */
  readonly args?: unknown[] | undefined;
  settle(value: unknown): void;
  fail(error: unknown): void;
}

/** The default observation: a promise's value or rejection, or a value returned at once. */
export function observeSettled(result: unknown, call: ObservedCall): void {
  if (isThenable(result)) {
    // Registered before the caller's own reaction (its `await`), so a stream in the value is
    // watched before anyone can iterate it. This derived promise never rejects.
    result.then(
      (value) => call.settle(value),
      (error: unknown) => call.fail(error),
    );
  } else {
    call.settle(result);
  }
}

/**
 * The wrapper of a client method that records each call: `begin` starts the record (undefined:
 * the call is not one to record), the original runs with the same `this` and arguments, a throw
 * fails the record and is rethrown as it is, and `observe` watches the result, which the caller
 * gets back as the very same object. Nothing of ours throws into the caller: our own errors are
 * reported once per place (`what request`, `what result`).
 */
export function recordingMethod<C extends ObservedCall>(
  original: AnyFunction,
  begin: (self: unknown, args: unknown[]) => C | undefined,
  what: string,
  observe: (result: unknown, call: C) => void = observeSettled,
): AnyFunction {
  return function (this: unknown, ...args: unknown[]): unknown {
    let call: C | undefined;
    try {
      call = begin(this, args);
    } catch (error) {
      reportInternalError(`${what} request`, error);
    }
    if (call === undefined) return original.apply(this, args);
    let result: unknown;
    try {
      result = original.apply(this, call.args ?? args);
    } catch (error) {
      call.fail(error);
      throw error;
    }
    try {
      observe(result, call);
    } catch (error) {
      reportInternalError(`${what} result`, error);
    }
    return result;
  };
}
