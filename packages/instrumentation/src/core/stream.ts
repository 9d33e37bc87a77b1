import { reportInternalError } from './internal-errors.js';
import type { RequestRecorder } from './recorder.js';
import type { OutputChunkPredicate, ResponseModelExtractor, UsageExtractor } from './shapes.js';

export interface ChunkHandlers {
  readonly isOutputChunk: OutputChunkPredicate;
  readonly extractUsage: UsageExtractor;
  readonly extractResponseModel: ResponseModelExtractor;
  /** True to keep a chunk from the consumer: one the instrumentation itself asked the server for. */
  readonly withhold?: ((chunk: unknown) => boolean) | undefined;
  /** The request's abort signal: a stream that ends quietly while it is aborted was cancelled. */
  readonly signal?: AbortSignal | undefined;
  /**
   * `error.type` of an error the stream threw, when the adapter knows better than the error's
   * status or class (a provider's error event inside the stream); undefined for the default.
   */
  readonly errorType?: ((error: unknown) => string | undefined) | undefined;
}

/**
 * An async iterator that hands the consumer exactly the source's chunks, errors and end,
 * while the recorder watches them. The source iterator is opened when the consumer starts
 * iterating, not before, so a stream that is never iterated is never touched.
 */
export class InstrumentedIterator<T> implements AsyncIterableIterator<T> {
  private source: AsyncIterator<T> | undefined;
  // The handlers as own fields: they are called for every chunk.
  private readonly isOutputChunk: ChunkHandlers['isOutputChunk'];
  private readonly extractUsage: ChunkHandlers['extractUsage'];
  private readonly extractResponseModel: ChunkHandlers['extractResponseModel'];
  private readonly withhold: ChunkHandlers['withhold'];
  private readonly signal: AbortSignal | undefined;
  private readonly errorType: ChunkHandlers['errorType'];
  private needsResponseModel = true;

  constructor(
    private readonly open: () => AsyncIterator<T>,
    private readonly recorder: RequestRecorder,
    handlers: ChunkHandlers,
  ) {
    this.isOutputChunk = handlers.isOutputChunk;
    this.extractUsage = handlers.extractUsage;
    this.extractResponseModel = handlers.extractResponseModel;
    this.withhold = handlers.withhold;
    this.signal = handlers.signal;
    this.errorType = handlers.errorType;
    recorder.watch(this);
  }

  [Symbol.asyncIterator](): this {
    this.opened();
    return this;
  }

  next(value?: unknown): Promise<IteratorResult<T>> {
    let pending: Promise<IteratorResult<T>> | IteratorResult<T>;
    try {
      // No rest parameters: an array per chunk shows up in the per-chunk cost.
      const source = this.opened();
      pending = arguments.length === 0 ? source.next() : source.next(value);
    } catch (error) {
      this.recorder.fail(error, this.signal);
      throw error;
    }
    return Promise.resolve(pending).then(this.onResult, this.onError);
  }

  return(value?: unknown): Promise<IteratorResult<T>> {
    this.recorder.cancel();
    const source = this.opened();
    if (typeof source.return !== 'function') {
      return Promise.resolve({ done: true, value: value as T });
    }
    return Promise.resolve(source.return(value));
  }

  throw(error?: unknown): Promise<IteratorResult<T>> {
    this.recorder.cancel();
    const source = this.opened();
    if (typeof source.throw !== 'function') return Promise.reject(error);
    return Promise.resolve(source.throw(error));
  }

  private opened(): AsyncIterator<T> {
    if (this.source === undefined) {
      try {
        this.source = this.open();
      } catch (error) {
        this.recorder.fail(error, this.signal);
        throw error;
      }
    }
    return this.source;
  }

  private readonly onResult = (result: IteratorResult<T>): IteratorResult<T> | Promise<IteratorResult<T>> => {
    if (result.done) {
      if (this.signal?.aborted === true) this.recorder.cancel();
      else this.recorder.end();
      return result;
    }
    const chunk: unknown = result.value;
    let withheld = false;
    try {
      this.observe(chunk);
      withheld = this.withhold !== undefined && this.withhold(chunk);
    } catch (error) {
      reportInternalError('stream chunk', error);
    }
    return withheld ? this.next() : result;
  };

  private readonly onError = (error: unknown): never => {
    // Only the error decides here: the openai client aborts its own controller on the way
    // out of a failed stream, so an aborted signal says nothing about who ended it.
    let type: string | undefined;
    try {
      type = this.errorType?.(error);
    } catch (classifyError) {
      reportInternalError('error.type', classifyError);
    }
    this.recorder.fail(error, undefined, type);
    throw error;
  };

  /** Runs for every chunk: one clock read per output chunk and none for the rest. */
  private observe(chunk: unknown): void {
    const recorder = this.recorder;
    if (this.isOutputChunk(chunk)) recorder.output();
    const usage = this.extractUsage(chunk);
    if (usage !== undefined) recorder.setUsage(usage);
    if (this.needsResponseModel) {
      const model = this.extractResponseModel(chunk);
      if (model !== undefined) {
        recorder.setResponseModel(model);
        this.needsResponseModel = false;
      }
    }
  }
}
