/**
 * Which client libraries a client adapter is recording in this process, by npm package name.
 *
 * A framework's own instrumentation (the LangChain callback handler) sees calls that usually go
 * through one of those clients (ChatOpenAI calls `openai`). The client adapter sees the wire
 * (exact time to first chunk, the usage the server sent), so it records the call, and the
 * framework's instrumentation asks {@link isInstrumented} and records nothing for it: each call is
 * counted once.
 *
 * Process-global (a `Symbol.for` key): the ESM and CJS copies of this package, and two versions
 * of it, share one table.
 */
const KEY = Symbol.for('otel-inference.instrumented-modules');

type Counts = Map<string, number>;

const counts: Counts = ((globalThis as { [KEY]?: Counts })[KEY] ??= new Map());

/**
 * Says that `module` (an npm package name, e.g. `openai`) has a client adapter recording its
 * calls from now on. Call it where the adapter's patch is installed; call the returned function
 * where it is removed. Counted: two installs need two removals.
 */
export function markInstrumented(module: string): () => void {
  counts.set(module, (counts.get(module) ?? 0) + 1);
  let removed = false;
  return () => {
    if (removed) return;
    removed = true;
    const left = (counts.get(module) ?? 1) - 1;
    if (left > 0) counts.set(module, left);
    else counts.delete(module);
  };
}

/** True while a client adapter records the calls of `module`. */
export function isInstrumented(module: string): boolean {
  return (counts.get(module) ?? 0) > 0;
}
