/**
 * Readers for Ollama's native API objects: a chat or generate answer, each object of their
 * NDJSON streams, and an embed answer. Each is total: any input yields `undefined`/`false`
 * and is never modified.
 */
import { isRecord } from '../../core/guards.js';
import { tokenCount, type TokenUsage } from '../../core/shapes.js';
import { ERROR_TYPE } from '../../semconv.js';

function nonEmpty(value: unknown): boolean {
  return typeof value === 'string' && value.length > 0;
}

/**
 * Ollama's counts as {@link TokenUsage}. They come on the last object of a stream (`done: true`),
 * on a whole answer and on an embed answer:
 * - `prompt_eval_count`: every prompt token, those read from the KV cache included (since
 *   mid-2024; before, a cached prompt left the field out) → `inputTokens`;
 * - `eval_count`: every generated token, thinking included → `outputTokens`;
 * - `prompt_eval_cached_count` (newer servers): the part of the prompt read from the cache →
 *   `cacheReadInputTokens`.
 * Ollama reports no cache writes and no separate thinking count: those stay unset. A field
 * that is missing or not a token count is left out.
 */
export function ollamaUsage(value: unknown): TokenUsage | undefined {
  if (!isRecord(value)) return undefined;
  const input = tokenCount(value.prompt_eval_count, 'prompt_eval_count');
  const output = tokenCount(value.eval_count, 'eval_count');
  const cacheRead = tokenCount(value.prompt_eval_cached_count, 'prompt_eval_cached_count');
  if (input === undefined && output === undefined && cacheRead === undefined) return undefined;
  const usage: TokenUsage = {};
  if (input !== undefined) usage.inputTokens = input;
  if (output !== undefined) usage.outputTokens = output;
  if (cacheRead !== undefined) usage.cacheReadInputTokens = cacheRead;
  return usage;
}

/**
 * A streamed object that carries output: chat's `message.content`, `message.thinking` or
 * `message.tool_calls`, generate's `response` or `thinking`. The last object (empty content,
 * the counts) and anything unrecognised are not.
 */
export function isOllamaOutputChunk(chunk: unknown): boolean {
  if (!isRecord(chunk)) return false;
  const message = chunk.message;
  if (isRecord(message)) {
    return (
      nonEmpty(message.content) ||
      nonEmpty(message.thinking) ||
      (Array.isArray(message.tool_calls) && message.tool_calls.length > 0)
    );
  }
  return nonEmpty(chunk.response) || nonEmpty(chunk.thinking);
}

/** The `model` an answer or a streamed object names. */
export function ollamaResponseModel(value: unknown): string | undefined {
  return isRecord(value) && nonEmpty(value.model) ? (value.model as string) : undefined;
}

/** The message of the plain Error ollama-js throws when a stream ends without its `done` object. */
const NO_DONE_MESSAGE = 'Did not receive done or success response in stream.';

/**
 * `error.type` where Ollama's errors say more than their class:
 * - a `ResponseError` (an HTTP error answer) carries the status as `status_code`: the status;
 * - a stream that had begun and then got an `{"error": "…"}` line rejects with a plain
 *   `Error` holding the server's text, which has no status or code: `stream_error`.
 * Undefined for every other error (the default reading of core/error-type.ts applies).
 */
export function ollamaErrorType(error: unknown, inStream: boolean): string | undefined {
  if (!isRecord(error)) return undefined;
  const status = error.status_code;
  if (error.name === 'ResponseError' && typeof status === 'number' && Number.isInteger(status) && status >= 100 && status <= 599) {
    return String(status);
  }
  if (inStream && error instanceof Error && error.constructor === Error && error.name === 'Error' && error.message !== NO_DONE_MESSAGE) {
    return ERROR_TYPE.streamError;
  }
  return undefined;
}
