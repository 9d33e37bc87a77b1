import { INFERENCE_INSTRUMENTATIONS } from '../../packages/instrumentation/src/index.js';

/**
 * The names of the library's instrumentations in registry order: what `getRegisterStatus()`
 * lists before `http` and `undici`. registry.test.ts checks the registry itself against its own
 * explicit table.
 */
export const INFERENCE_NAMES: readonly string[] = INFERENCE_INSTRUMENTATIONS.map((entry) => entry.name);
