// Types for demo/profile.mjs (hand-written: the module itself is plain JavaScript); the shapes
// are the simulated server's own.
import type { SimEmbeddingModel, SimModel, SimProfile } from '../sim/index.js';

/** Chat / completions / responses models of the demo profile. */
export declare const DEMO_MODELS: readonly SimModel[];
/** Embedding models of the demo profile. */
export declare const DEMO_EMBEDDING_MODELS: readonly SimEmbeddingModel[];
/** The demo profile: `startSimServer({ profile: DEMO_PROFILE })`. */
export declare const DEMO_PROFILE: SimProfile;
