/**
 * The @aws-sdk/client-bedrock-runtime versions under test, and clients for the simulated server.
 *
 * The sim speaks HTTP/1.1; the latest SDK's default handler for Bedrock Runtime is HTTP/2
 * (NodeHttp2Handler), so the test clients are given the SDK's own HTTP/1.1 NodeHttpHandler. The
 * instrumentation patches `send`, above the transport, so the handler makes no difference to it.
 */
import * as BedrockLatest from '@aws-sdk/client-bedrock-runtime';
import * as Bedrock3587 from 'bedrock-runtime-v3-587';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { SimBehavior } from '../../sim/index.js';

export type BedrockModule = typeof BedrockLatest;

/**
 * Every 3.x version tested: 3.587.0, the first with ConverseStream, and the latest (whose
 * serialization and event stream decoding were rewritten around schemas in between).
 */
export const BEDROCK_VERSIONS = [
  ['bedrock 3.587.0', Bedrock3587 as unknown as BedrockModule],
  ['bedrock latest', BedrockLatest],
] as const;

/** Fake static credentials: the sim checks no signature. */
export const FAKE_CREDENTIALS = { accessKeyId: 'AKIDSIMULATED', secretAccessKey: 'not-a-secret' };

export interface SimClientOptions {
  /** The `x-sim` header of every request of this client. */
  behavior?: SimBehavior;
  /** More client configuration (e.g. `maxAttempts`). */
  config?: Record<string, unknown>;
  /** The aggregated client (`BedrockRuntime`, with `converse()` etc.) instead of `BedrockRuntimeClient`. */
  aggregated?: boolean;
}

/**
 * A client of `mod` for the sim at `url`, one attempt per call. Its `x-sim` header comes from a
 * build-step middleware on the client's own stack; `setBehavior` changes it for later calls.
 */
export function simClient(mod: BedrockModule, url: string, options: SimClientOptions = {}) {
  const Client = options.aggregated === true ? mod.BedrockRuntime : mod.BedrockRuntimeClient;
  const client = new Client({
    region: 'us-east-1',
    endpoint: url,
    credentials: FAKE_CREDENTIALS,
    maxAttempts: 1,
    requestHandler: new NodeHttpHandler(),
    ...options.config,
  });
  let header = JSON.stringify(options.behavior ?? {});
  client.middlewareStack.add(
    (next) => (args) => {
      const request = (args as { request?: { headers?: Record<string, string> } }).request;
      if (request?.headers !== undefined) request.headers['x-sim'] = header;
      return next(args);
    },
    { step: 'build', name: 'simBehavior' },
  );
  return Object.assign(client, {
    setBehavior(behavior: SimBehavior) {
      header = JSON.stringify(behavior);
    },
  });
}

export const MODEL = 'anthropic.claude-3-haiku-20240307-v1:0';
export const MESSAGES = [{ role: 'user' as const, content: [{ text: 'hi' }] }];
export const ANTHROPIC_BODY = JSON.stringify({
  anthropic_version: 'bedrock-2023-05-31',
  max_tokens: 64,
  messages: [{ role: 'user', content: 'hi' }],
});
