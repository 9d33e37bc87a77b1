export { InferenceServerInstrumentation, type InferenceServerInstrumentationConfig } from './instrumentation.js';
export { DEFAULT_SERVER_ROUTES, operationOfPath, parseServerRoute, type ServerRoute } from './routes.js';
