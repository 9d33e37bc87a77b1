export { currentBackend, withBackend } from './backend.js';
export {
  recordFallback,
  withFallback,
  type FallbackBackend,
  type FallbackOptions,
  type RecordFallbackOptions,
} from './fallback.js';
