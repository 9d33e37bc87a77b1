// In the ESM build this module's top-level await holds the app's modules back until the
// ESM loader hook acknowledged the hooked modules. The CJS build replaces this module with
// one without the await (see tsup.config.ts): --require cannot wait, and the loader hook it
// registers is in place synchronously anyway (the acknowledgement covers later Hook() calls).
// `hookAcknowledged` is imported by the entry so that no bundler drops this module.
import { boot } from './boot.js';

await boot().ready;

export const hookAcknowledged = true;
