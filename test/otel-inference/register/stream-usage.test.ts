/**
 * OTEL_INFERENCE_STREAM_USAGE and OTEL_INFERENCE_STREAM_USAGE_HOSTS through the preload: whether
 * a streamed openai call goes out with `stream_options.include_usage` added, seen in the request
 * body a local OpenAI-compatible server received (one that sends usage only when asked, as
 * OpenAI's API does), and what follows from it: token metrics, and no usage chunk for the app.
 */
import { describe, expect, it } from 'vitest';
import { startOtlpReceiver, type Point } from '../../helpers/otlp-receiver.js';
import { diagLines, run, startFakeOpenAI } from '../../helpers/apps.js';

interface Outcome {
  /** The request body's stream_options, as the server received it. */
  streamOptions: unknown;
  /** What the app saw. */
  app: { text: string; usageChunks: number };
  /** Token usage recorded, by type. */
  tokens: Record<string, number | undefined>;
}

/** Runs the streaming fixture with `env(port)` against its own server and receiver. */
async function stream(env: (serverPort: string) => Record<string, string>): Promise<Outcome> {
  const server = await startFakeOpenAI({ usageOnlyWhenAsked: true });
  const receiver = await startOtlpReceiver();
  try {
    const port = new URL(server.url).port;
    const res = await run({
      app: 'openai-stream.mjs',
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, SIM_URL: server.url, ...env(port) },
    });
    expect(res.code, res.stderr).toBe(0);
    expect(diagLines(res.stderr)).toEqual([]);
    const chat = server.requests.filter((r) => r.path === '/v1/chat/completions');
    expect(chat).toHaveLength(1);
    const body = chat[0]!.body as { stream?: boolean; stream_options?: unknown };
    expect(body.stream).toBe(true);
    const points: Point[] = receiver.points();
    // The call itself is recorded either way: the option only decides whether tokens are.
    const duration = points.filter((p) => p.metric === 'gen_ai.client.operation.duration');
    expect(duration.map((p) => p.value)).toEqual([1]);
    const tokens = Object.fromEntries(
      points.filter((p) => p.metric === 'gen_ai.client.token.usage').map((p) => [String(p.attributes['gen_ai.token.type']), p.sum]),
    );
    return { streamOptions: body.stream_options, app: JSON.parse(res.stdout), tokens };
  } finally {
    await Promise.all([server.close(), receiver.close()]);
  }
}

/** The option was added: the server sent usage, register recorded it, the app never saw it. */
function expectAsked(o: Outcome): void {
  expect(o.streamOptions).toEqual({ include_usage: true });
  expect(o.app).toEqual({ text: 'hello', usageChunks: 0 });
  expect(o.tokens).toEqual({ input: 7, output: 3 });
}

/** The request went out as the app made it: no usage, so no token metrics. */
function expectNotAsked(o: Outcome): void {
  expect(o.streamOptions).toBeUndefined();
  expect(o.app).toEqual({ text: 'hello', usageChunks: 0 });
  expect(o.tokens).toEqual({});
}

describe.concurrent('OTEL_INFERENCE_STREAM_USAGE', () => {
  it('unset (auto): a local server not listed is not asked', async () => {
    expectNotAsked(await stream(() => ({})));
  });

  it.each(['always', 'ALWAYS'])('=%s: asked, whatever the host', async (value) => {
    expectAsked(await stream(() => ({ OTEL_INFERENCE_STREAM_USAGE: value })));
  });

  it('=never: not asked, even a host listed in OTEL_INFERENCE_STREAM_USAGE_HOSTS', async () => {
    expectNotAsked(
      await stream((port) => ({ OTEL_INFERENCE_STREAM_USAGE: 'never', OTEL_INFERENCE_STREAM_USAGE_HOSTS: `127.0.0.1,127.0.0.1:${port}` })),
    );
  });

  it('=always never changes a call that sets include_usage itself', async () => {
    const o = await stream(() => ({ OTEL_INFERENCE_STREAM_USAGE: 'always', STREAM_OPTIONS: '{"include_usage":false}' }));
    expect(o.streamOptions).toEqual({ include_usage: false });
    expect(o.tokens).toEqual({});
  });
});

describe.concurrent('OTEL_INFERENCE_STREAM_USAGE_HOSTS (under auto)', () => {
  it('a listed host is asked', async () => {
    expectAsked(await stream(() => ({ OTEL_INFERENCE_STREAM_USAGE_HOSTS: '127.0.0.1' })));
  });

  it('a listed host:port is asked, among other entries', async () => {
    expectAsked(await stream((port) => ({ OTEL_INFERENCE_STREAM_USAGE_HOSTS: `llm.internal, 127.0.0.1:${port}` })));
  });

  it('the same host on another port is not', async () => {
    expectNotAsked(await stream(() => ({ OTEL_INFERENCE_STREAM_USAGE_HOSTS: '127.0.0.1:1,localhost' })));
  });

  it('=auto given explicitly reads the list too', async () => {
    expectAsked(await stream((port) => ({ OTEL_INFERENCE_STREAM_USAGE: 'auto', OTEL_INFERENCE_STREAM_USAGE_HOSTS: `127.0.0.1:${port}` })));
  });
});
