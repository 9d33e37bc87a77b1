/** The Anthropic readers on values: usage normalisation, output events, stream error types. */
import { describe, expect, it } from 'vitest';
import {
  AnthropicStreamUsage,
  anthropicStreamErrorType,
  anthropicTokenUsage,
  isAnthropicOutputEvent,
  messageUsage,
} from '../../../../packages/instrumentation/src/instrumentations/anthropic/readers.js';

describe('anthropicTokenUsage', () => {
  it.each([
    [
      'input excludes cache reads and writes: the total adds them',
      { input_tokens: 25, cache_creation_input_tokens: 15, cache_read_input_tokens: 60, output_tokens: 6 },
      { inputTokens: 100, cacheWriteInputTokens: 15, cacheReadInputTokens: 60, outputTokens: 6 },
    ],
    ['no cache fields (older API): input as reported', { input_tokens: 9, output_tokens: 3 }, { inputTokens: 9, outputTokens: 3 }],
    [
      'null cache fields count 0 and are not reported',
      { input_tokens: 9, cache_creation_input_tokens: null, cache_read_input_tokens: null, output_tokens: 0 },
      { inputTokens: 9, outputTokens: 0 },
    ],
    [
      'a cache field that is not a count: no input total, the rest stands',
      { input_tokens: 9, cache_creation_input_tokens: -1, cache_read_input_tokens: 4, output_tokens: 2 },
      { cacheReadInputTokens: 4, outputTokens: 2 },
    ],
    ['an input that is not a count', { input_tokens: '9', output_tokens: 2 }, { outputTokens: 2 }],
    ['output only (message_delta of the older API)', { output_tokens: 15 }, { outputTokens: 15 }],
    ['nothing', {}, undefined],
    ['nothing countable', { input_tokens: 1.5, output_tokens: null }, undefined],
  ])('%s', (_name, usage, expected) => {
    expect(anthropicTokenUsage(usage)).toEqual(expected);
  });

  it('never sets reasoningOutputTokens: Anthropic does not report thinking tokens apart', () => {
    expect(anthropicTokenUsage({ input_tokens: 1, output_tokens: 50 })).not.toHaveProperty('reasoningOutputTokens');
  });

  it('a Message: its usage; anything else: nothing', () => {
    expect(messageUsage({ type: 'message', usage: { input_tokens: 3, cache_read_input_tokens: 2, output_tokens: 4 } })).toEqual({
      inputTokens: 5,
      cacheReadInputTokens: 2,
      outputTokens: 4,
    });
    for (const odd of [null, 'x', 42, {}, { usage: null }, { usage: 'x' }]) expect(messageUsage(odd)).toBeUndefined();
  });
});

describe('AnthropicStreamUsage', () => {
  const start = (usage: unknown) => ({ type: 'message_start', message: { id: 'msg_1', model: 'claude', usage } });
  const delta = (usage: unknown) => ({ type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage });

  it('input from message_start (not its placeholder output_tokens), output from message_delta', () => {
    const reader = new AnthropicStreamUsage();
    expect(
      reader.extract(start({ input_tokens: 10, cache_creation_input_tokens: 5, cache_read_input_tokens: 20, output_tokens: 1 })),
    ).toEqual({ inputTokens: 35, cacheWriteInputTokens: 5, cacheReadInputTokens: 20 });
    expect(reader.extract({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'x' } })).toBeUndefined();
    expect(reader.extract(delta({ output_tokens: 42 }))).toEqual({
      inputTokens: 35,
      cacheWriteInputTokens: 5,
      cacheReadInputTokens: 20,
      outputTokens: 42,
    });
  });

  it('message_delta repeating the input counts (current API), with nulls keeping the earlier values', () => {
    const reader = new AnthropicStreamUsage();
    reader.extract(start({ input_tokens: 10, cache_creation_input_tokens: 5, cache_read_input_tokens: 20, output_tokens: 1 }));
    expect(
      reader.extract(delta({ input_tokens: 10, cache_creation_input_tokens: null, cache_read_input_tokens: 20, output_tokens: 7 })),
    ).toEqual({ inputTokens: 35, cacheWriteInputTokens: 5, cacheReadInputTokens: 20, outputTokens: 7 });
  });

  it('malformed events give nothing and throw nothing', () => {
    const reader = new AnthropicStreamUsage();
    for (const odd of [null, 1, 'event', [], { type: 'message_start' }, start(null), start('x'), delta(undefined), { type: 'ping' }]) {
      expect(reader.extract(odd)).toBeUndefined();
    }
  });
});

describe('isAnthropicOutputEvent', () => {
  const d = (delta: unknown) => ({ type: 'content_block_delta', index: 0, delta });
  it.each([
    [d({ type: 'text_delta', text: 'hi' }), true],
    [d({ type: 'input_json_delta', partial_json: '{"q"' }), true],
    [d({ type: 'thinking_delta', thinking: 'hmm' }), true],
    [d({ type: 'text_delta', text: '' }), false],
    [d({ type: 'input_json_delta', partial_json: '' }), false],
    [d({ type: 'signature_delta', signature: 'abc' }), false],
    [d({ type: 'citations_delta', citation: {} }), false],
    [d({ type: 'something_new', text: 'x' }), false],
    [d(null), false],
    [{ type: 'message_start', message: {} }, false],
    [{ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }, false],
    [{ type: 'content_block_stop', index: 0 }, false],
    [{ type: 'message_delta', delta: {}, usage: { output_tokens: 3 } }, false],
    [{ type: 'message_stop' }, false],
    [{ type: 'ping' }, false],
    [null, false],
    ['text', false],
  ])('%j → %s', (event, expected) => {
    expect(isAnthropicOutputEvent(event)).toBe(expected);
  });
});

describe('anthropicStreamErrorType', () => {
  it.each([
    ['1.x/0.5x+: error.type', { status: undefined, type: 'overloaded_error', error: {} }, 'overloaded_error'],
    ['0.4x: the event body as error.error', { error: { type: 'error', error: { type: 'api_error', message: 'm' } } }, 'api_error'],
    [
      '0.41: the event JSON as the message',
      { message: '{"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}' },
      'overloaded_error',
    ],
    ['an HTTP error: its status decides, not this', { status: 529, type: 'overloaded_error' }, undefined],
    ['a type that is not a bounded identifier', { type: 'Overloaded Error!' }, undefined],
    ['a message that is not JSON', { message: '{not json' }, undefined],
    ['a message with other JSON', { message: '{"type":"message"}' }, undefined],
    ['not an object', 'overloaded_error', undefined],
  ])('%s', (_name, error, expected) => {
    expect(anthropicStreamErrorType(error)).toBe(expected);
  });
});
