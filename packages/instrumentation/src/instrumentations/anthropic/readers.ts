/**
 * Reading Anthropic's Messages API: usage, output events, the responding model and the error
 * types. Every reader is total: any input, however malformed, gives undefined/false and is
 * never modified.
 */
import { isRecord, type Obj } from '../../core/guards.js';
import { anthropicTokenUsage, extractResponseModel, type AnthropicUsage, type TokenUsage } from '../../core/shapes.js';

export { anthropicTokenUsage, type AnthropicUsage };
import type { ResponseReaders } from '../stainless/observe.js';

const INPUT_FIELDS = ['input_tokens', 'cache_creation_input_tokens', 'cache_read_input_tokens'] as const;

/**
 * The usage of one stream, from its events: `message_start`'s message.usage gives the input
 * counts (its `output_tokens` is a placeholder, 1, and is not taken), `message_delta`'s usage
 * the cumulative `output_tokens` and, in the current API, the input counts again. As in the
 * SDK's own MessageStream, a field that is null or absent keeps the value it had.
 */
export class AnthropicStreamUsage {
  private readonly fields: AnthropicUsage = {};

  readonly extract = (event: unknown): TokenUsage | undefined => {
    if (!isRecord(event)) return undefined;
    let usage: unknown;
    let withOutput: boolean;
    if (event.type === 'message_start' && isRecord(event.message)) {
      usage = event.message.usage;
      withOutput = false;
    } else if (event.type === 'message_delta') {
      usage = event.usage;
      withOutput = true;
    } else {
      return undefined;
    }
    if (!isRecord(usage)) return undefined;
    let changed = false;
    for (const field of INPUT_FIELDS) changed = this.take(usage, field) || changed;
    if (withOutput) changed = this.take(usage, 'output_tokens') || changed;
    return changed ? anthropicTokenUsage(this.fields) : undefined;
  };

  private take(usage: Obj, field: keyof AnthropicUsage): boolean {
    const value = usage[field];
    if (value === undefined || value === null) return false;
    this.fields[field] = value;
    return true;
  }
}

/** The usage of a Message (a non-streamed response). */
export function messageUsage(value: unknown): TokenUsage | undefined {
  return isRecord(value) && isRecord(value.usage) ? anthropicTokenUsage(value.usage) : undefined;
}

function nonEmpty(value: unknown): boolean {
  return typeof value === 'string' && value.length > 0;
}

/**
 * Output events: a `content_block_delta` with text (`text_delta`), tool input
 * (`input_json_delta`) or thinking (`thinking_delta`). The rest (`message_start`,
 * `content_block_start`/`stop`, `message_delta`/`stop`, `ping`, a `signature_delta`, a
 * `citations_delta`, an empty delta, an unknown type) carries no generated tokens.
 */
export function isAnthropicOutputEvent(event: unknown): boolean {
  if (!isRecord(event) || event.type !== 'content_block_delta' || !isRecord(event.delta)) return false;
  const delta = event.delta;
  switch (delta.type) {
    case 'text_delta':
      return nonEmpty(delta.text);
    case 'input_json_delta':
      return nonEmpty(delta.partial_json);
    case 'thinking_delta':
      return nonEmpty(delta.thinking);
    default:
      return false;
  }
}

/** Anthropic error types are short snake_case words (`overloaded_error`); anything else is not taken. */
const ERROR_TYPE_PATTERN = /^[a-z][a-z_]{0,63}$/;

/** An error event's JSON is short; a longer message is not parsed. */
const MAX_ERROR_JSON = 4096;

function errorTypeOfBody(body: unknown): string | undefined {
  const inner = isRecord(body) && body.type === 'error' && isRecord(body.error) ? body.error.type : undefined;
  return typeof inner === 'string' && ERROR_TYPE_PATTERN.test(inner) ? inner : undefined;
}

/**
 * `error.type` of an `event: error` inside a stream: the Anthropic error type it carries
 * (`overloaded_error`, `api_error`, …). Such an error has no HTTP status (the stream's response
 * was a 200), so otherwise only the class name (`APIError`) would say what went wrong. The SDK
 * keeps the type as `error.type` (0.5x and later), or the event's body as `error.error` (0.4x),
 * or (0.41 and older, which make it an APIConnectionError) the event's JSON as the message.
 * Undefined for every other error: an HTTP error is its status, as core/error-type.ts says.
 */
export function anthropicStreamErrorType(error: unknown): string | undefined {
  if (!isRecord(error) || typeof error.status === 'number') return undefined;
  if (typeof error.type === 'string' && ERROR_TYPE_PATTERN.test(error.type)) return error.type;
  const fromBody = errorTypeOfBody(error.error);
  if (fromBody !== undefined) return fromBody;
  const message = typeof error.message === 'string' ? error.message.trim() : '';
  if (message.startsWith('{') && message.length <= MAX_ERROR_JSON) {
    try {
      return errorTypeOfBody(JSON.parse(message));
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** The readers of one call: a stream's usage is accumulated across its events. */
export function anthropicReaders(stream: boolean): ResponseReaders {
  return {
    isOutputChunk: isAnthropicOutputEvent,
    extractUsage: stream ? new AnthropicStreamUsage().extract : messageUsage,
    // message_start's message.model, or the Message's model.
    extractResponseModel,
    errorType: anthropicStreamErrorType,
  };
}
