export {
  startServerRequest,
  type ServerPhase,
  type ServerRequest,
  type ServerRequestOptions,
  type ServerRequestResult,
} from './request.js';
export {
  observeServerGauge,
  type ServerGaugeCallback,
  type ServerGaugeHandle,
  type ServerGaugeObservation,
  type ServerGaugeOptions,
  type ServerGaugeSpec,
} from './gauges.js';
