// A simulated OpenAI-compatible inference server: the tests' wire-protocol double, and the server
// of the demo (which brings its own profile, demo/profile.mjs, and CLI, demo/sim-server.mjs).
//
// Deterministic by default: every request's latency, output, usage and failures are set per
// request with the `x-sim` header (JSON of SimBehavior), over server-level defaults. With a
// profile, each request's behaviour is sampled from the model it names instead.
//
// Built into sim/dist/ by `npm run build` (sim/tsup.config.ts) for code that runs under plain
// node; the tests import these sources.

export type { SimBehavior } from './behavior.js';
export type { SimEmbeddingModel, SimModel, SimProfile } from './profile.js';
export { startSimServer, type SimRequestRecord, type SimServer, type SimServerOptions } from './server.js';
