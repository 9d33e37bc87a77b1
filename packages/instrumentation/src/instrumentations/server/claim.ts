/**
 * One served request, one record: when the app records a request itself with
 * `startServerRequest()` (a model server using the explicit API), the zero-code record of the
 * same HTTP request steps aside, whichever of the two would have seen more.
 *
 * The link is the async context of the request's handling: the `request` listener runs inside an
 * AsyncLocalStorage holding the zero-code record, and the app's `startServerRequest()` finds it
 * there, however many awaits later. That storage is switched on only once the app first calls
 * `startServerRequest()`: before that (and forever, in a gateway that never does), it costs
 * nothing; on Node.js 22 a running AsyncLocalStorage slows every promise of the process down
 * (async hooks), on 24 and later it does not (AsyncContextFrame). The requests begun before it
 * was switched on are linked by elimination: the request being dispatched when the call is
 * synchronous, else the oldest one that has written nothing yet.
 */
import type { AsyncLocalStorage } from 'node:async_hooks';

/** A zero-code record, as the link sees it. */
export interface ZeroCodeRequest {
  /** Ended, or stepped aside. */
  readonly done: boolean;
  /** Something of the response was written already. */
  readonly written: boolean;
  /** The app records this request itself: undo the +1 active, record nothing. */
  stepAside(): void;
}

interface Shared {
  storage: AsyncLocalStorage<ZeroCodeRequest> | undefined;
  /** Zero-code records begun while the storage was off, in arrival order. */
  unlinked: Set<ZeroCodeRequest>;
  /** The record whose `request` event is being dispatched, while its listeners run. */
  dispatching: ZeroCodeRequest | undefined;
}

// Symbol.for: the ESM and the CJS copy of this library share one link.
const KEY = Symbol.for('otel-inference.server.zero-code-link');
const shared: Shared = ((globalThis as { [KEY]?: Shared })[KEY] ??= { storage: undefined, unlinked: new Set(), dispatching: undefined });

/**
 * Runs the `request` listeners of `request`'s HTTP request, linked to it. With the storage on,
 * the events of the incoming message (`data`, `end`, ...) run linked too: Node emits them from the
 * socket's parser, outside the listener's async context, and a handler that reads its body in
 * `req.on('end', ...)` calls startServerRequest() there.
 */
export function dispatchLinked<T>(request: ZeroCodeRequest, incoming: object, listeners: () => T): T {
  const storage = shared.storage;
  if (storage !== undefined) {
    linkEvents(incoming as { emit?: unknown }, storage, request);
    return storage.run(request, listeners);
  }
  shared.unlinked.add(request);
  const previous = shared.dispatching;
  shared.dispatching = request;
  try {
    return listeners();
  } finally {
    shared.dispatching = previous;
  }
}

/** The incoming message's own `emit` (an instance property: only tracked requests pay), linked to `request`. */
function linkEvents(incoming: { emit?: unknown }, storage: AsyncLocalStorage<ZeroCodeRequest>, request: ZeroCodeRequest): void {
  const emit = incoming.emit;
  if (typeof emit !== 'function') return;
  incoming.emit = function linkedEmit(this: unknown, ...args: unknown[]): unknown {
    return storage.run(request, () => (emit as (...a: unknown[]) => unknown).apply(this, args));
  };
}

/** `request` has ended (or stepped aside): the link forgets it. */
export function unlink(request: ZeroCodeRequest): void {
  if (shared.unlinked.size > 0) shared.unlinked.delete(request);
}

function oldestUnwritten(): ZeroCodeRequest | undefined {
  for (const request of shared.unlinked) if (!request.done && !request.written) return request;
  return undefined;
}

/**
 * Called by the app's `startServerRequest()`: the zero-code record of the request being handled,
 * if any, steps aside. Switches the linking storage on at the first call.
 */
export function claimServedRequest(): void {
  let request = shared.storage?.getStore() ?? shared.dispatching;
  if (shared.storage === undefined) {
    shared.storage = new (process.getBuiltinModule('node:async_hooks').AsyncLocalStorage)<ZeroCodeRequest>();
  }
  request ??= shared.unlinked.size > 0 ? oldestUnwritten() : undefined;
  if (request !== undefined && !request.done) request.stepAside();
}

/** For tests: the link as a fresh process has it. */
export function resetLinkForTests(): void {
  shared.storage = undefined;
  shared.unlinked.clear();
  shared.dispatching = undefined;
}
