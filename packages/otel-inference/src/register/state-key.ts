/**
 * Where register keeps its state: one global, shared by the ESM and CJS copies of the package and
 * read by the main entry (statsHandler) without loading the SDK.
 */
export const STATE_KEY = Symbol.for('otel-inference.register');
