import { InstrumentationNodeModuleDefinition } from '@opentelemetry/instrumentation';
import { InferenceInstrumentation, type InferenceInstrumentationConfig } from '../base.js';
import { patchBedrock } from './patch.js';

/**
 * The `@aws-sdk/client-bedrock-runtime` versions patched: major 3 from 3.587.0, the first with
 * Converse and ConverseStream (tested: 3.587.0 and the latest 3.x).
 */
export const BEDROCK_SUPPORTED_VERSIONS = ['>=3.587.0 <4'];

export type BedrockInstrumentationConfig = InferenceInstrumentationConfig;

/**
 * `@aws-sdk/client-bedrock-runtime` as a standard OpenTelemetry Instrumentation: Converse,
 * ConverseStream, InvokeModel and InvokeModelWithResponseStream sent through
 * `BedrockRuntimeClient#send` (and the aggregated `BedrockRuntime` client's methods). Pass it to
 * the NodeSDK's `instrumentations` or to `registerInstrumentations`; `disable()` restores `send`.
 */
export class BedrockInstrumentation extends InferenceInstrumentation<BedrockInstrumentationConfig> {
  constructor(config: BedrockInstrumentationConfig = {}) {
    super('@otel-inference/instrumentation/bedrock', config);
  }

  protected override init() {
    const { patch, unpatch } = this.patchHooks((moduleExports) => patchBedrock(moduleExports, () => this.metrics));
    return [new InstrumentationNodeModuleDefinition('@aws-sdk/client-bedrock-runtime', BEDROCK_SUPPORTED_VERSIONS, patch, unpatch)];
  }
}
