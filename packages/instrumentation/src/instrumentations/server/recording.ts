/**
 * The bridge from the response tracker to the server-side recorder. Placeholder until the
 * server recorder (startServerRequest) lands: records nothing.
 */
import type { MeterProvider } from '@opentelemetry/api';
import type { ServerRecording, ServerRequestStart } from './track.js';

export interface RecordingOptions {
  meterProvider?: MeterProvider;
  modelAllowlist?: readonly (string | RegExp)[];
}

const NOOP: ServerRecording = {
  firstToken() {},
  outputChunks() {},
  setRequestModel() {},
  setResponseModel() {},
  setStream() {},
  setUsage() {},
  end() {},
  failWithType() {},
  fail() {},
  cancel() {},
};

export function startServerRecording(_start: ServerRequestStart, _options: RecordingOptions): ServerRecording {
  return NOOP;
}
