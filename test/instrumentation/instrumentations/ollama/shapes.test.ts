/** The ollama adapter's readers (instrumentations/ollama/shapes.ts), on values. */
import { describe, expect, it } from 'vitest';
import { isOllamaOutputChunk, ollamaResponseModel, ollamaUsage } from '../../../../packages/instrumentation/src/index.js';
import { ollamaErrorType } from '../../../../packages/instrumentation/src/instrumentations/ollama/shapes.js';
import { ERROR_TYPE } from '../../../../packages/instrumentation/src/semconv.js';

describe('ollamaUsage', () => {
  it.each([
    ['a done object', { done: true, prompt_eval_count: 26, eval_count: 298 }, { inputTokens: 26, outputTokens: 298 }],
    [
      'with the cached part of the prompt (newer servers): a subset of prompt_eval_count',
      { done: true, prompt_eval_count: 900, prompt_eval_cached_count: 850, eval_count: 12 },
      { inputTokens: 900, outputTokens: 12, cacheReadInputTokens: 850 },
    ],
    ['a cached count of 0 is a report of 0', { prompt_eval_count: 9, prompt_eval_cached_count: 0, eval_count: 1 }, { inputTokens: 9, outputTokens: 1, cacheReadInputTokens: 0 }],
    ['an embed answer: input only', { model: 'm', embeddings: [[0]], prompt_eval_count: 6 }, { inputTokens: 6 }],
    ['eval_count alone (a cached prompt on an old server omits prompt_eval_count)', { done: true, eval_count: 5 }, { outputTokens: 5 }],
    ['no counts (noUsage, the legacy embeddings answer)', { done: true, total_duration: 1 }, undefined],
    ['counts that are not counts', { prompt_eval_count: -1, eval_count: 1.5, prompt_eval_cached_count: '3' }, undefined],
    ['a streamed chunk', { message: { role: 'assistant', content: 'x' }, done: false }, undefined],
    ['not an object', 'prompt_eval_count', undefined],
    ['null', null, undefined],
  ])('%s', (_name, value, expected) => {
    expect(ollamaUsage(value)).toEqual(expected);
  });
});

describe('isOllamaOutputChunk', () => {
  it.each([
    ['chat content', { message: { role: 'assistant', content: 'Hi' } }, true],
    ['chat thinking', { message: { role: 'assistant', content: '', thinking: 'hmm' } }, true],
    ['chat tool call', { message: { role: 'assistant', content: '', tool_calls: [{ function: { name: 'f', arguments: {} } }] } }, true],
    ['generate response', { response: 'Hi', done: false }, true],
    ['generate thinking', { response: '', thinking: 'hmm' }, true],
    ['the done object', { message: { role: 'assistant', content: '' }, done: true, eval_count: 3 }, false],
    ['an empty tool_calls', { message: { role: 'assistant', content: '', tool_calls: [] } }, false],
    ['a pull progress object', { status: 'pulling manifest' }, false],
    ['a string', 'Hi', false],
    ['a malformed message', { message: 'Hi' }, false],
  ])('%s → %s', (_name, chunk, expected) => {
    expect(isOllamaOutputChunk(chunk)).toBe(expected);
  });
});

describe('ollamaResponseModel', () => {
  it('reads model, nothing else', () => {
    expect(ollamaResponseModel({ model: 'llama3.2:1b' })).toBe('llama3.2:1b');
    expect(ollamaResponseModel({ model: '' })).toBeUndefined();
    expect(ollamaResponseModel({ embedding: [1] })).toBeUndefined();
    expect(ollamaResponseModel(undefined)).toBeUndefined();
  });
});

describe('ollamaErrorType', () => {
  class ResponseError extends Error {
    constructor(
      readonly error: string,
      readonly status_code: number,
    ) {
      super(error);
      this.name = 'ResponseError';
    }
  }

  it('an HTTP error answer: its status', () => {
    expect(ollamaErrorType(new ResponseError('model "x" not found', 404), false)).toBe('404');
    expect(ollamaErrorType(new ResponseError('x', 99), false)).toBeUndefined();
  });

  it('a plain Error inside a stream (an {"error"} line): stream_error; the library\'s no-done Error and others: the default', () => {
    expect(ollamaErrorType(new Error('model runner has unexpectedly stopped'), true)).toBe(ERROR_TYPE.streamError);
    expect(ollamaErrorType(new Error('model runner has unexpectedly stopped'), false)).toBeUndefined();
    expect(ollamaErrorType(new Error('Did not receive done or success response in stream.'), true)).toBeUndefined();
    expect(ollamaErrorType(new TypeError('terminated'), true)).toBeUndefined();
    expect(ollamaErrorType(Object.assign(new Error('aborted'), { name: 'AbortError' }), true)).toBeUndefined();
    expect(ollamaErrorType('boom', true)).toBeUndefined();
  });
});
