import { describe, expect, it } from 'vitest';
import { errorTypeOf, isAbortError, outcomeOfError } from '../../../packages/instrumentation/src/core/error-type.js';

describe('errorTypeOf', () => {
  it.each([
    ['HTTP status', Object.assign(new Error('x'), { status: 503 }), '503'],
    ['statusCode', Object.assign(new Error('x'), { statusCode: 404 }), '404'],
    ['AWS SDK $metadata.httpStatusCode', Object.assign(new Error('x'), { name: 'ThrottlingException', $metadata: { httpStatusCode: 429 } }), '429'],
    ['AWS SDK in-stream exception, no status', Object.assign(new Error('x'), { name: 'ModelStreamErrorException', $metadata: {} }), 'ModelStreamErrorException'],
    ['class name', new RangeError('x'), 'RangeError'],
    ['subclass name', new (class ProviderOverloaded extends Error {})('x'), 'ProviderOverloaded'],
    ['timeout by name', Object.assign(new Error('x'), { name: 'APIConnectionTimeoutError' }), 'timeout'],
    ['timeout by code', Object.assign(new Error('x'), { code: 'ETIMEDOUT' }), 'timeout'],
    ['timeout by cause code', Object.assign(new TypeError('fetch failed'), { cause: { code: 'UND_ERR_BODY_TIMEOUT' } }), 'timeout'],
    ['a string thrown', 'boom', '_OTHER'],
    ['undefined', undefined, '_OTHER'],
    ['an out-of-range status', Object.assign(new Error('x'), { status: 42 }), 'Error'],
    ['a name full of content', Object.assign(new Error('x'), { name: 'user said: please help me' }), '_OTHER'],
  ])('%s', (_name, error, expected) => {
    expect(errorTypeOf(error)).toBe(expected);
  });
});

describe('outcomeOfError', () => {
  it('is cancelled for aborts and errors under an aborted signal, error otherwise', () => {
    const aborted = AbortSignal.abort();
    expect(isAbortError(new DOMException('a', 'AbortError'))).toBe(true);
    expect(outcomeOfError(Object.assign(new Error('x'), { name: 'APIUserAbortError' }))).toBe('cancelled');
    // openai's own class keeps name = 'Error'.
    class APIUserAbortError extends Error {}
    expect(isAbortError(new APIUserAbortError('Request was aborted.'))).toBe(true);
    expect(outcomeOfError(new APIUserAbortError('Request was aborted.'))).toBe('cancelled');
    expect(outcomeOfError(new Error('x'), aborted)).toBe('cancelled');
    expect(outcomeOfError(new Error('x'))).toBe('error');
  });
});
