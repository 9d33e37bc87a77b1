/**
 * One served request on a tracked route, from the `request` event to the end of its response:
 * what the response writes is looked at (never changed), and the request is ended once, on the
 * first of: the response ended by the app, the caller gone, the handler throwing, the app
 * destroying the response.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ERROR_TYPE } from '../../semconv.js';
import { isRecord } from '../../core/guards.js';
import { reportInternalError } from '../../core/internal-errors.js';
import type { TokenUsage } from '../../core/shapes.js';
import { JsonSniffer, SseSniffer, type Piece } from './sniff.js';

/** What the tracker needs of a server-side request recording (the server recorder's API). */
export interface ServerRecording {
  /** The first output-carrying event of a stream was written, now. */
  firstToken(): void;
  /** `count` output-carrying events were written, now. */
  outputChunks(count: number): void;
  setRequestModel(model: string): void;
  setResponseModel(model: string): void;
  setStream(stream: boolean): void;
  setUsage(usage: TokenUsage): void;
  /** Ends as success. */
  end(): void;
  /** Ends as error, with `error.type` = `errorType` (an HTTP status code, a stream's error type). */
  failWithType(errorType: string): void;
  /** Ends as error, with `error.type` from the error thrown. */
  fail(error: unknown): void;
  /** Ends as cancelled: the caller went away. */
  cancel(): void;
}

/** What the tracker knows when a request arrives. */
export interface ServerRequestStart {
  operation: string;
  serverPort: number | undefined;
  /** `performance.now()` when the `request` event was emitted. */
  startTime: number;
}

export type StartServerRecording = (start: ServerRequestStart) => ServerRecording;

/** What the body is, decided at its first non-empty write. */
const Body = {
  Undecided: 0,
  Json: 1,
  Sse: 2,
  /** Not JSON or SSE (or encoded, e.g. gzip): nothing is read. */
  Opaque: 3,
} as const;
type Body = (typeof Body)[keyof typeof Body];

const TEXT_ENCODINGS_TO_DECODE = new Set(['base64', 'base64url', 'hex']);
const SSE_FIELD = /^(?:data|event|id|retry):|^:/;

function headerValue(res: ServerResponse, name: string): string | undefined {
  const value = res.getHeader(name);
  if (value === undefined) return undefined;
  return (Array.isArray(value) ? value.join(',') : String(value)).toLowerCase();
}

function firstText(piece: Piece): string {
  if (typeof piece === 'string') return piece.trimStart().slice(0, 8);
  let i = 0;
  while (i < piece.byteLength && (piece[i] === 0x20 || piece[i] === 0x0a || piece[i] === 0x0d || piece[i] === 0x09)) i++;
  return String.fromCharCode(...piece.subarray(i, i + 8));
}

function bodyKind(res: ServerResponse, piece: Piece): Body {
  const encoding = headerValue(res, 'content-encoding');
  if (encoding !== undefined && encoding !== 'identity') return Body.Opaque;
  const type = headerValue(res, 'content-type');
  if (type !== undefined) {
    if (type.includes('text/event-stream')) return Body.Sse;
    return type.includes('json') ? Body.Json : Body.Opaque;
  }
  // Headers given to writeHead() directly are not kept where getHeader() looks: the body says.
  const start = firstText(piece);
  if (start.startsWith('{') || start.startsWith('[')) return Body.Json;
  return SSE_FIELD.test(start) ? Body.Sse : Body.Opaque;
}

function pieceOf(chunk: unknown, encoding: unknown): Piece | undefined {
  if (typeof chunk === 'string') {
    return typeof encoding === 'string' && TEXT_ENCODINGS_TO_DECODE.has(encoding.toLowerCase()) ? Buffer.from(chunk, encoding as BufferEncoding) : chunk;
  }
  return chunk instanceof Uint8Array ? chunk : undefined;
}

const CANCELLED_CODES = new Set(['ECONNRESET', 'ERR_STREAM_PREMATURE_CLOSE', 'EPIPE']);

export class ResponseTracker {
  /** Set once the request is recorded: later writes and events are passed by. */
  done = false;
  private body: Body = Body.Undecided;
  private json: JsonSniffer | undefined;
  private sse: SseSniffer | undefined;
  private firstTokenSeen = false;

  constructor(
    private readonly recording: ServerRecording,
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
  ) {}

  /** A chunk the app writes (`res.write`, `res.end`): read, never kept beyond the sniff windows. */
  observe(chunk: unknown, encoding: unknown): void {
    if (this.body === Body.Opaque) return;
    try {
      const piece = pieceOf(chunk, encoding);
      if (piece === undefined || (typeof piece === 'string' ? piece.length : piece.byteLength) === 0) return;
      if (this.body === Body.Undecided) this.decide(piece);
      if (this.body === Body.Sse) this.outputs(this.sse!.write(piece));
      else if (this.body === Body.Json) this.json!.write(piece);
    } catch (error) {
      this.body = Body.Opaque;
      reportInternalError('server response sniffing', error);
    }
  }

  private decide(piece: Piece): void {
    this.body = bodyKind(this.res, piece);
    if (this.body === Body.Sse) this.sse = new SseSniffer();
    else if (this.body === Body.Json) this.json = new JsonSniffer();
  }

  private outputs(count: number): void {
    if (count === 0) return;
    if (!this.firstTokenSeen) {
      this.firstTokenSeen = true;
      this.recording.firstToken();
    }
    this.recording.outputChunks(count);
  }

  /** The app ended the response (`res.end()` returned and the response is ended). */
  ended(): void {
    if (this.done || !this.res.writableEnded) return;
    this.done = true;
    try {
      this.record();
    } catch (error) {
      reportInternalError('server request end', error);
    }
  }

  private record(): void {
    const recording = this.recording;
    let model: string | undefined;
    let usage: TokenUsage | undefined;
    let streamError: string | undefined;
    if (this.sse !== undefined) {
      this.outputs(this.sse.end());
      recording.setStream(true);
      ({ model, usage, errorType: streamError } = this.sse);
    } else if (this.json !== undefined) {
      recording.setStream(false);
      ({ model, usage } = this.json.facts());
    }
    const body: unknown = (this.req as { body?: unknown }).body;
    if (isRecord(body)) {
      // Parsed by the framework already (Express's body parsers): the stream itself is never read.
      if (typeof body.model === 'string' && body.model !== '') recording.setRequestModel(body.model);
      if (this.sse === undefined && this.json === undefined && typeof body.stream === 'boolean') recording.setStream(body.stream);
    }
    if (model !== undefined) recording.setResponseModel(model);
    if (usage !== undefined) recording.setUsage(usage);
    const status = this.res.statusCode;
    if (status >= 400) recording.failWithType(String(status));
    else if (streamError !== undefined) recording.failWithType(streamError);
    else recording.end();
  }

  /** The response closed: before it ended, the caller went away. */
  closed(): void {
    if (this.done) return;
    if (this.res.writableEnded) {
      // Ended through a path that passed our res.end (a reference taken before the patch).
      this.ended();
      return;
    }
    this.done = true;
    this.settle(() => this.recording.cancel());
  }

  /** The `request` listener threw. */
  threw(error: unknown): void {
    if (this.done) return;
    this.done = true;
    this.settle(() => this.recording.fail(error));
  }

  /** The app destroys the response before ending it. */
  destroyed(error: unknown): void {
    if (this.done || this.res.writableEnded) return;
    this.done = true;
    const code = isRecord(error) ? error.code : undefined;
    // A pipeline tearing the response down because the caller left is still the caller's doing.
    const callerGone = this.req.socket?.destroyed === true || (typeof code === 'string' && CANCELLED_CODES.has(code));
    this.settle(() =>
      callerGone ? this.recording.cancel() : error === undefined || error === null ? this.recording.failWithType(ERROR_TYPE.other) : this.recording.fail(error),
    );
  }

  private settle(end: () => void): void {
    try {
      const body: unknown = (this.req as { body?: unknown }).body;
      if (isRecord(body) && typeof body.model === 'string' && body.model !== '') this.recording.setRequestModel(body.model);
      if (this.sse?.model !== undefined) this.recording.setResponseModel(this.sse.model);
      end();
    } catch (error) {
      reportInternalError('server request end', error);
    }
  }
}
