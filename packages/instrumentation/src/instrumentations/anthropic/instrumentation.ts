import { InstrumentationNodeModuleDefinition } from '@opentelemetry/instrumentation';
import { InferenceInstrumentation, type InferenceInstrumentationConfig } from '../base.js';
import { patchAnthropic, type AnthropicInstrumentationOptions } from './patch.js';

/**
 * The @anthropic-ai/sdk versions patched: 0.x from 0.25 (the Messages API and its stream events as they are today)
 * through 1.x, every line that runs on the supported Node.js lines. Tested: 0.25,
 * 0.41 (the last of the older client shape), 0.137 and 1.x.
 */
export const ANTHROPIC_SUPPORTED_VERSIONS = ['>=0.25.0 <2'];

export interface AnthropicInstrumentationConfig
  extends InferenceInstrumentationConfig,
    Pick<AnthropicInstrumentationOptions, 'providerName'> {}

/**
 * The @anthropic-ai/sdk client as a standard OpenTelemetry Instrumentation: pass it to the
 * NodeSDK's `instrumentations`, or to `registerInstrumentations`. It patches every copy of the
 * package loaded after it is enabled (CJS and ESM) and records through the MeterProvider it is
 * given. `disable()` restores the original methods.
 */
export class AnthropicInstrumentation extends InferenceInstrumentation<AnthropicInstrumentationConfig> {
  constructor(config: AnthropicInstrumentationConfig = {}) {
    super('@otel-inference/instrumentation/anthropic', config);
  }

  protected override init() {
    const { patch, unpatch } = this.patchHooks((moduleExports) => {
      const { providerName } = this.getConfig();
      return patchAnthropic(moduleExports, providerName !== undefined ? { providerName } : {}, () => this.metrics);
    });
    return [new InstrumentationNodeModuleDefinition('@anthropic-ai/sdk', ANTHROPIC_SUPPORTED_VERSIONS, patch, unpatch)];
  }
}
