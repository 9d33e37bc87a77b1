/** Type guards every part of the instrumentation shares. */

export type Obj = Record<PropertyKey, unknown>;

/** Anything that can carry properties: objects, and functions (a class, a CJS export, a method). */
export function isObject(value: unknown): value is Obj {
  return (typeof value === 'object' || typeof value === 'function') && value !== null;
}

/** A data object (a parsed response, a chunk, an error), never a function. */
export function isRecord(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null;
}

export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return isObject(value) && typeof value.then === 'function';
}
