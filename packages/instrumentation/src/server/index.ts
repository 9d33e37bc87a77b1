export {
  startServerRequest,
  type ServerPhase,
  type ServerRequest,
  type ServerRequestOptions,
  type ServerRequestResult,
} from './request.js';
