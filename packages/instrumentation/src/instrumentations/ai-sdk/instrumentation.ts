import { InstrumentationNodeModuleDefinition } from '@opentelemetry/instrumentation';
import { InferenceInstrumentation, type InferenceInstrumentationConfig } from '../base.js';
import { patchAISDK } from './patch.js';

/**
 * The `ai` versions patched: every major that runs on the supported Node.js lines (ai 4 to 7;
 * ai 3 and earlier predate the `embed`/`streamObject` APIs as they are now and are not supported).
 */
export const AI_SDK_SUPPORTED_VERSIONS = ['>=4.0.0 <8'];

export type AISDKInstrumentationConfig = InferenceInstrumentationConfig;

/**
 * The Vercel AI SDK (`ai`) as an OpenTelemetry Instrumentation: `generateText`, `streamText`,
 * `generateObject`, `streamObject`, `embed` and `embedMany` record each model call they make,
 * for every provider, since what is observed is the SDK's model, not HTTP. CJS through
 * require-in-the-middle, ESM through import-in-the-middle; `disable()` turns it off.
 */
export class AISDKInstrumentation extends InferenceInstrumentation<AISDKInstrumentationConfig> {
  constructor(config: AISDKInstrumentationConfig = {}) {
    super('@otel-inference/instrumentation/ai-sdk', config);
  }

  protected override init() {
    // The CJS build's exports are getters that cannot be replaced: the patch hands out a copy.
    const { patch, unpatch } = this.patchHooks((moduleExports) => patchAISDK(moduleExports, () => this.metrics));
    return [new InstrumentationNodeModuleDefinition('ai', AI_SDK_SUPPORTED_VERSIONS, patch, unpatch)];
  }
}
