/**
 * The backend a request is routed to, carried in an AsyncLocalStorage context so that every
 * client-side request started inside `withBackend(name, fn)` (through the openai instrumentation,
 * the wrappers or a tracker) records `inference.backend` = name, with no change to the call.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { LabelBound, MAX_BACKENDS } from '../core/labels.js';
import { ATTR, OTHER_BACKEND } from '../semconv.js';

/**
 * One context per process, shared by every copy of this package (the ESM and CJS builds side by
 * side): a name set by one copy's `withBackend` must be seen by the other copy's recorder.
 */
interface BackendContext {
  /** The shape of this object; a copy with another one keeps its own. */
  readonly protocol: number;
  readonly storage: AsyncLocalStorage<string>;
  /** Backend names kept, for the whole process (fallback counters and client series agree). */
  names: LabelBound;
  /** False until the first `withBackend`: until then a request does not even look the context up. */
  used: boolean;
}

const CONTEXT_PROTOCOL = 1;
const CONTEXT_KEY = Symbol.for('otel-inference.backend-context');

function newContext(): BackendContext {
  return {
    protocol: CONTEXT_PROTOCOL,
    storage: new AsyncLocalStorage<string>(),
    names: new LabelBound(ATTR.backend, MAX_BACKENDS, OTHER_BACKEND),
    used: false,
  };
}

const shared = ((globalThis as { [CONTEXT_KEY]?: BackendContext })[CONTEXT_KEY] ??= newContext());
const context: BackendContext = shared.protocol === CONTEXT_PROTOCOL ? shared : newContext();

/**
 * A backend name as it is recorded: itself when it is a clean label value (non-empty, at most 128
 * characters, no control characters) among the first 32 distinct names of the process, else `other`.
 */
export function backendLabel(name: unknown): string {
  return context.names.bound(name);
}

/**
 * Runs `fn` with `backend` as the backend of every inference request it starts, synchronously or
 * in any async continuation (`inference.backend` on the client-side series). Returns exactly what
 * `fn` returns and throws exactly what it throws. An inner `withBackend` wins over an outer one;
 * an explicit {@link InferenceRequest.backend} wins over both.
 *
 * The name should be low-cardinality and chosen by the app (`primary`, `vllm-a100`), not a URL
 * or a user input: it is recorded as given if clean and among the first 32 distinct names, else as
 * `other`.
 */
export function withBackend<R>(backend: string, fn: () => R): R {
  context.used = true;
  return context.storage.run(backendLabel(backend), fn);
}

/** The backend of the current context (already bounded), if a {@link withBackend} set one. */
export function currentBackend(): string | undefined {
  return context.used ? context.storage.getStore() : undefined;
}

/** @internal Forgets the names kept so far (tests of the bound). */
export function resetBackendLabels(): void {
  context.names = new LabelBound(ATTR.backend, MAX_BACKENDS, OTHER_BACKEND);
}
