/**
 * Observing a call of a Stainless-generated client (openai, @anthropic-ai/sdk) without changing
 * what the caller gets: the same APIPromise, with `.withResponse()`, `.asResponse()` and lazy
 * parsing intact, and the same Stream object, whose `iterator` (which `for await`, `tee()` and
 * `toReadableStream()` all go through) is watched. The body is never read here: we see the
 * parsed value only when the caller's own parse produces it.
 */
import { isObject, isThenable, type Obj } from '../../core/guards.js';
import { reportInternalError } from '../../core/internal-errors.js';
import type { RequestRecorder } from '../../core/recorder.js';
import type { OutputChunkPredicate, ResponseModelExtractor, UsageExtractor } from '../../core/shapes.js';
import { InstrumentedIterator, type ChunkHandlers } from '../../core/stream.js';
import { observeSettled, recordingMethod, type AnyFunction } from '../../core/wrap.js';

/** How a provider's responses and stream events are read. */
export interface ResponseReaders {
  readonly isOutputChunk: OutputChunkPredicate;
  readonly extractUsage: UsageExtractor;
  readonly extractResponseModel: ResponseModelExtractor;
  /**
   * `error.type` for an error the call or its stream threw, when the provider says more than
   * the error's HTTP status or class; undefined for the default (core/error-type.ts).
   */
  readonly errorType?: ((error: unknown) => string | undefined) | undefined;
}

/** One recorded call of a Stainless client method. */
export class StainlessCall {
  constructor(
    readonly recorder: RequestRecorder,
    /** The arguments to call the original method with (the caller's, or a copy we changed). */
    readonly args: unknown[],
    readonly stream: boolean,
    /** The caller's `signal` request option. */
    readonly signal: AbortSignal | undefined,
    protected readonly readers: ResponseReaders,
  ) {}

  fail(error: unknown, signal = this.signal): void {
    this.recorder.fail(error, signal, this.errorTypeOf(error));
  }

  /** Runs before the APIPromise is observed: a subclass may swap its `responsePromise`. */
  observing(_promise: Obj): void {}

  /** Chunks to keep from the caller: only ones the instrumentation itself asked for. */
  protected withhold(): ((chunk: unknown) => boolean) | undefined {
    return undefined;
  }

  /** The call's value arrived: a stream to watch, or a response to read usage from. */
  settle(value: unknown): void {
    try {
      if (this.stream && isObject(value) && typeof value.iterator === 'function') {
        this.watchStream(value);
        return;
      }
      this.recorder.end({ usage: this.readers.extractUsage(value), responseModel: this.readers.extractResponseModel(value) });
    } catch (error) {
      reportInternalError('response', error);
      this.recorder.end();
    }
  }

  private errorTypeOf(error: unknown): string | undefined {
    try {
      return this.readers.errorType?.(error);
    } catch (classifyError) {
      reportInternalError('error.type', classifyError);
      return undefined;
    }
  }

  /**
   * Wraps the stream's own `iterator`, which `for await`, `tee()` and `toReadableStream()`
   * all go through, so the Stream object the caller holds stays the same object.
   */
  private watchStream(stream: Obj): void {
    const original = stream.iterator as AnyFunction;
    const controller = stream.controller;
    const signal =
      isObject(controller) && controller.signal instanceof AbortSignal ? controller.signal : this.signal;
    const readers = this.readers;
    const handlers: ChunkHandlers = {
      isOutputChunk: readers.isOutputChunk,
      extractUsage: readers.extractUsage,
      extractResponseModel: readers.extractResponseModel,
      signal,
      withhold: this.withhold(),
      errorType: readers.errorType,
    };
    const recorder = this.recorder;
    let opened = false;
    stream.iterator = function (this: unknown, ...args: unknown[]): unknown {
      // Only the first iteration is the request's; the client itself rejects a second one.
      if (opened) return original.apply(this, args);
      opened = true;
      let source: AsyncIterator<unknown>;
      try {
        source = original.apply(this, args) as AsyncIterator<unknown>;
      } catch (error) {
        recorder.fail(error, signal);
        throw error;
      }
      return new InstrumentedIterator(() => source, recorder, handlers);
    };
    recorder.watch(stream);
  }
}

/**
 * Observes a Stainless APIPromise without changing it: its `parseResponse` (called by the
 * caller's own `await`, `.then` or `.withResponse()`) is wrapped on the instance, and its
 * `responsePromise` is watched for the headers.
 */
function observeAPIPromise(promise: Obj, call: StainlessCall): void {
  call.observing(promise);
  const parse = promise.parseResponse as AnyFunction;
  let parseStarted = false;
  promise.parseResponse = function (this: unknown, ...args: unknown[]): unknown {
    parseStarted = true;
    let parsed: unknown;
    try {
      parsed = parse.apply(this, args);
    } catch (error) {
      call.fail(error);
      throw error;
    }
    if (!isThenable(parsed)) {
      call.settle(parsed);
      return parsed;
    }
    return parsed.then(
      (value) => {
        call.settle(value);
        return value;
      },
      (error: unknown) => {
        call.fail(error);
        throw error;
      },
    );
  };
  (promise.responsePromise as PromiseLike<unknown>).then(
    () => {
      call.recorder.touch();
      // A caller who awaits has registered its parse on this same promise, so its reaction is
      // already queued: a microtask queued now runs after it. If nothing parses the response
      // (`.asResponse()`, or a promise nobody awaits), the call ends at the headers. No
      // setImmediate here: one per call costs ~40 µs of extra event-loop turns.
      queueMicrotask(() => {
        if (!parseStarted) call.recorder.end();
      });
    },
    (error: unknown) => call.fail(error),
  );
}

function observeResult(result: unknown, call: StainlessCall): void {
  if (isObject(result) && isThenable(result.responsePromise) && typeof result.parseResponse === 'function') {
    observeAPIPromise(result, call);
  } else {
    observeSettled(result, call);
  }
}

/**
 * A replacement for a Stainless resource method (`create`) that records each call `begin`
 * starts. `begin` returns undefined for a call not to record (it then runs untouched); a throw
 * in `begin` or in the observation is reported and never reaches the caller.
 */
/** Records each call of a Stainless client's resource method (`create`), observing its APIPromise. */
export function recordingStainlessMethod(
  original: AnyFunction,
  begin: (resource: unknown, args: unknown[]) => StainlessCall | undefined,
  what: string,
): AnyFunction {
  return recordingMethod(original, begin, what, observeResult);
}

/** `root[path[0]][path[1]]…`, or undefined where a step is missing. */
export function at(root: unknown, path: readonly string[]): unknown {
  let value = root;
  for (const key of path) value = isObject(value) ? value[key] : undefined;
  return value;
}

/** The `signal` of a Stainless call's request options (its second argument). */
export function signalOf(requestOptions: unknown): AbortSignal | undefined {
  return isObject(requestOptions) && requestOptions.signal instanceof AbortSignal ? requestOptions.signal : undefined;
}
