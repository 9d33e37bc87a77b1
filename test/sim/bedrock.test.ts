/**
 * The simulated server's Amazon Bedrock Runtime wire protocol, as the real AWS SDK sees it: the
 * four routes (modelId URL-encoded in the path), Converse's usage, the binary event streams of
 * ConverseStream and InvokeModelWithResponseStream, AWS error answers and in-stream exceptions.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimServer, type SimServer } from '../../sim/index.js';
import { ANTHROPIC_BODY, BEDROCK_VERSIONS, MESSAGES, MODEL, simClient } from '../helpers/bedrock.js';

let sim: SimServer;
beforeAll(async () => {
  sim = await startSimServer();
});
afterAll(async () => {
  await sim.close();
});

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

describe.concurrent.each(BEDROCK_VERSIONS)('%s against the sim', (_name, mod) => {
  it('Converse: the output message and TokenUsage, inputTokens without the cache tokens', async () => {
    const client = simClient(mod, sim.url, { behavior: { chunks: 3, promptTokens: 10, cacheReadTokens: 4, cacheWriteTokens: 2 } });
    const out = await client.send(new mod.ConverseCommand({ modelId: MODEL, messages: MESSAGES }));
    expect(out.output?.message?.content).toEqual([{ text: 'tok1 tok2 tok3 ' }]);
    expect(out.stopReason).toBe('end_turn');
    expect(out.usage).toEqual({ inputTokens: 4, outputTokens: 3, totalTokens: 13, cacheReadInputTokens: 4, cacheWriteInputTokens: 2 });
  });

  it('routes by the URL-encoded modelId, an inference profile ARN included', async () => {
    const arn = 'arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-haiku-20240307-v1:0';
    const client = simClient(mod, sim.url);
    await client.send(new mod.ConverseCommand({ modelId: arn, messages: MESSAGES }));
    const request = sim.requests.filter((r) => r.path.includes('inference-profile')).at(-1);
    expect(request?.path).toBe(`/v1/model/${encodeURIComponent(arn)}/converse`);
    expect(request?.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 /);
  });

  it('ConverseStream: event stream of messageStart, deltas (reasoning first), stops and metadata', async () => {
    const client = simClient(mod, sim.url, { behavior: { chunks: 2, reasoningChunks: 1, promptTokens: 9, cacheReadTokens: 3 } });
    const out = await client.send(new mod.ConverseStreamCommand({ modelId: MODEL, messages: MESSAGES }));
    const events = await collect(out.stream!);
    expect(events.map((e) => Object.keys(e).filter((k) => (e as unknown as Record<string, unknown>)[k] !== undefined)[0])).toEqual([
      'messageStart',
      'contentBlockDelta',
      'contentBlockDelta',
      'contentBlockStop',
      'contentBlockDelta',
      'contentBlockDelta',
      'contentBlockStop',
      'messageStop',
      'metadata',
    ]);
    expect(events[1]).toMatchObject({ contentBlockDelta: { contentBlockIndex: 0, delta: { reasoningContent: { text: 'think1 ' } } } });
    expect(events[4]).toMatchObject({ contentBlockDelta: { contentBlockIndex: 1, delta: { text: 'tok1 ' } } });
    expect(events[8]).toMatchObject({
      metadata: { usage: { inputTokens: 6, outputTokens: 3, totalTokens: 12, cacheReadInputTokens: 3 } },
    });
  });

  it('ConverseStream tool use: contentBlockStart with the tool, then toolUse input deltas', async () => {
    const client = simClient(mod, sim.url, { behavior: { chunks: 3, toolCall: true, noUsage: true } });
    const out = await client.send(new mod.ConverseStreamCommand({ modelId: MODEL, messages: MESSAGES }));
    const events = (await collect(out.stream!)) as unknown as Record<string, { delta?: { toolUse?: { input?: string } } }>[];
    expect(events.some((e) => e.metadata !== undefined && 'usage' in (e.metadata as object))).toBe(false);
    const input = events.flatMap((e) => (e.contentBlockDelta?.delta?.toolUse?.input !== undefined ? [e.contentBlockDelta.delta.toolUse.input] : []));
    expect(JSON.parse(input.join(''))).toEqual({ q: 'tok2 tok3 ' });
  });

  it('errorAfterChunks: a modelStreamErrorException event, thrown by the SDK while iterating', async () => {
    const client = simClient(mod, sim.url, { behavior: { chunks: 3, errorAfterChunks: 1 } });
    const out = await client.send(new mod.ConverseStreamCommand({ modelId: MODEL, messages: MESSAGES }));
    const seen: unknown[] = [];
    const error = await (async () => {
      for await (const e of out.stream!) seen.push(e);
    })().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(mod.ModelStreamErrorException);
    expect(seen).toHaveLength(2);
  });

  it('error answers: x-amzn-errortype and {message}, as the SDK turns them into its exceptions', async () => {
    const client = simClient(mod, sim.url, { behavior: { status: 429 } });
    const error = await client.send(new mod.ConverseCommand({ modelId: MODEL, messages: MESSAGES })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(mod.ThrottlingException);
    expect(error).toMatchObject({ $metadata: { httpStatusCode: 429 }, message: 'ThrottlingException (simulated).' });
    client.setBehavior({ status: 400 });
    const invalid = await client.send(new mod.InvokeModelCommand({ modelId: MODEL, body: ANTHROPIC_BODY })).catch((e: unknown) => e);
    expect(invalid).toBeInstanceOf(mod.ValidationException);
  });

  it('InvokeModel: an Anthropic Messages body, usage without the cache tokens in input_tokens', async () => {
    const client = simClient(mod, sim.url, { behavior: { chunks: 2, promptTokens: 8, cacheWriteTokens: 5 } });
    const out = await client.send(new mod.InvokeModelCommand({ modelId: MODEL, body: ANTHROPIC_BODY }));
    expect(JSON.parse(out.body.transformToString())).toMatchObject({
      type: 'message',
      content: [{ type: 'text', text: 'tok1 tok2 ' }],
      usage: { input_tokens: 3, cache_creation_input_tokens: 5, cache_read_input_tokens: 0, output_tokens: 2 },
    });
  });

  it('InvokeModelWithResponseStream: Anthropic events in chunk bytes, invocation metrics on the last', async () => {
    const client = simClient(mod, sim.url, { behavior: { chunks: 2, promptTokens: 8 } });
    const out = await client.send(new mod.InvokeModelWithResponseStreamCommand({ modelId: MODEL, body: ANTHROPIC_BODY }));
    const chunks = (await collect(out.body!)).map((e) => JSON.parse(new TextDecoder().decode(e.chunk!.bytes)) as Record<string, unknown>);
    expect(chunks.map((c) => c.type)).toEqual([
      'message_start',
      'content_block_start',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    expect(chunks.at(-1)).toMatchObject({ 'amazon-bedrock-invocationMetrics': { inputTokenCount: 8, outputTokenCount: 2 } });
  });

  it('dropAfterChunks: the connection is reset mid-stream', async () => {
    const client = simClient(mod, sim.url, { behavior: { chunks: 3, dropAfterChunks: 1 } });
    const out = await client.send(new mod.ConverseStreamCommand({ modelId: MODEL, messages: MESSAGES }));
    const error = await collect(out.stream!).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
  });
});
