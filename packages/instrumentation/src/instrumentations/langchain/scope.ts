/**
 * The streams LangChain hands out (`.stream()`, `streamEvents`, a chain's `transform`) all come
 * from a model's `_streamIterator`. LangChain calls neither `handleLLMEnd` nor `handleLLMError`
 * when the caller breaks off such a stream (the generator returns at its `yield`), and the
 * callback handler is not told that a run is a stream at all. Wrapping `_streamIterator` gives
 * both: the run that starts inside it is a stream, and it ends as cancelled when the caller
 * returns the iterator early or drops it unfinished (garbage-collected).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { isObject, type Obj } from '../../core/guards.js';
import type { RequestRecorder } from '../../core/recorder.js';
import { wrapMethod, type AnyFunction } from '../../core/wrap.js';

/** One `_streamIterator` call: the run that starts in it, once the handler has begun it. */
export class StreamScope {
  private claimed = false;
  private recorder: RequestRecorder | undefined;
  private release: (() => void) | undefined;
  private gaveUp: 'cancel' | 'abandon' | undefined;

  /** The first run started inside the stream is the stream's; later ones (rare) are not. */
  claim(): boolean {
    if (this.claimed) return false;
    this.claimed = true;
    return true;
  }

  /** `release` forgets the run in the handler once the caller gave up on the stream. */
  attach(recorder: RequestRecorder, release: () => void): void {
    this.recorder = recorder;
    this.release = release;
    if (this.gaveUp !== undefined) this.giveUp();
  }

  private giveUp(): void {
    const recorder = this.recorder;
    if (recorder === undefined || recorder.ended) return;
    this.release?.();
    if (this.gaveUp === 'cancel') recorder.cancel();
    else recorder.abandon();
  }

  /** The caller returned the stream before its end. */
  cancel(): void {
    this.gaveUp ??= 'cancel';
    this.giveUp();
  }

  /** The stream was garbage-collected unfinished. */
  abandon(): void {
    this.gaveUp ??= 'abandon';
    this.giveUp();
  }
}

const STORAGE_KEY = Symbol.for('otel-inference.langchain.stream-scope');

/** Process-global, so that a handler of another copy of this package sees the scope too. */
const storage: AsyncLocalStorage<StreamScope> = ((globalThis as { [STORAGE_KEY]?: AsyncLocalStorage<StreamScope> })[
  STORAGE_KEY
] ??= new AsyncLocalStorage<StreamScope>());

/** The stream scope the current code runs in, if any. */
export function currentStreamScope(): StreamScope | undefined {
  return storage.getStore();
}

const abandonedStreams = new FinalizationRegistry<StreamScope>((scope) => scope.abandon());

/**
 * The caller's iterator: the same chunks in the same order, each `next()` run inside the scope
 * so that the run LangChain starts in it finds the scope.
 */
class ScopedStream<T> implements AsyncIterableIterator<T> {
  private readonly scope = new StreamScope();

  constructor(private readonly inner: AsyncIterator<T>) {
    abandonedStreams.register(this, this.scope, this);
  }

  next(...args: [] | [unknown]): Promise<IteratorResult<T>> {
    return storage.run(this.scope, () => this.inner.next(...args));
  }

  return(value?: unknown): Promise<IteratorResult<T>> {
    abandonedStreams.unregister(this);
    this.scope.cancel();
    return typeof this.inner.return === 'function'
      ? this.inner.return(value)
      : Promise.resolve({ done: true, value: value as T });
  }

  throw(error?: unknown): Promise<IteratorResult<T>> {
    abandonedStreams.unregister(this);
    if (typeof this.inner.throw !== 'function') {
      this.scope.cancel();
      return Promise.reject(error);
    }
    // LangChain's generator reports the error (handleLLMError) before it rethrows.
    const settled = storage.run(this.scope, () => this.inner.throw!(error));
    settled.then(
      () => this.scope.cancel(),
      () => this.scope.cancel(),
    );
    return settled;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

/**
 * Wraps `proto._streamIterator` (BaseChatModel's or BaseLLM's). A model that cannot stream
 * (`_streamResponseChunks` not overridden, or `disableStreaming`) answers a stream with one
 * `invoke`: no scope, the run is what it is on the wire, not a stream.
 */
export function patchStreamIterator(proto: unknown): (() => void) | undefined {
  if (!isObject(proto) || typeof proto._streamIterator !== 'function') return undefined;
  const baseChunks = proto._streamResponseChunks;
  return wrapMethod(proto, '_streamIterator', (original: AnyFunction) =>
    function (this: unknown, ...args: unknown[]): unknown {
      const inner = original.apply(this, args);
      const model = this as Obj | undefined;
      if (
        !isObject(inner) ||
        typeof inner.next !== 'function' ||
        !isObject(model) ||
        model._streamResponseChunks === baseChunks ||
        model.disableStreaming === true
      ) {
        return inner;
      }
      return new ScopedStream(inner as unknown as AsyncIterator<unknown>);
    },
  );
}
