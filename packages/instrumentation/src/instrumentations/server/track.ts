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
import type { ServerRequestRecorder } from '../../server/request.js';
import { unlink, type ZeroCodeRequest } from './claim.js';
import { JsonSniffer, SseSniffer, type Piece } from './sniff.js';

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

export class ResponseTracker implements ZeroCodeRequest {
  /** Set once the request is recorded: later writes and events are passed by. */
  done = false;
  private body: Body = Body.Undecided;
  private json: JsonSniffer | undefined;
  private sse: SseSniffer | undefined;
  private firstTokenSeen = false;
  private responseModelSet = false;
  private requestBodyRead = false;
  private streamKnown = false;

  constructor(
    private readonly request: ServerRequestRecorder,
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
  ) {}

  get written(): boolean {
    return this.body !== Body.Undecided;
  }

  /** The app records this request itself (startServerRequest): ours is undone, not recorded. */
  stepAside(): void {
    if (this.done) return;
    this.done = true;
    unlink(this);
    this.request.discard();
  }

  /** A chunk the app writes (`res.write`, `res.end`): read, never kept beyond the sniff windows. */
  observe(chunk: unknown, encoding: unknown): void {
    if (this.body === Body.Opaque) return;
    try {
      const piece = pieceOf(chunk, encoding);
      if (piece === undefined || (typeof piece === 'string' ? piece.length : piece.byteLength) === 0) return;
      if (this.body === Body.Undecided) this.decide(piece);
      if (this.body === Body.Sse) this.streamed(this.sse!.write(piece));
      else if (this.body === Body.Json) this.json!.write(piece);
    } catch (error) {
      this.body = Body.Opaque;
      reportInternalError('server response sniffing', error);
    }
  }

  /** At the first write: what the body is, and what the request said (its attributes come first, for the live token counts). */
  private decide(piece: Piece): void {
    this.readRequestBody();
    this.body = bodyKind(this.res, piece);
    if (this.body === Body.Sse) this.sse = new SseSniffer();
    else if (this.body === Body.Json) this.json = new JsonSniffer();
    if (!this.streamKnown && this.body !== Body.Opaque) {
      this.streamKnown = true;
      this.request.setStream(this.body === Body.Sse);
    }
  }

  /**
   * The request's body, when a framework has parsed it already (Express's body parsers put it on
   * `req.body`): its `model` and `stream`. The request stream itself is never read.
   */
  private readRequestBody(): void {
    if (this.requestBodyRead) return;
    this.requestBodyRead = true;
    const body: unknown = (this.req as { body?: unknown }).body;
    if (!isRecord(body)) return;
    if (typeof body.model === 'string' && body.model !== '') this.request.setRequestModel(body.model);
    if (typeof body.stream === 'boolean') {
      this.streamKnown = true;
      this.request.setStream(body.stream);
    }
  }

  /** After an SSE write: the model as soon as known, then the output events it completed. */
  private streamed(outputs: number): void {
    const sse = this.sse!;
    if (!this.responseModelSet && sse.model !== undefined) {
      this.responseModelSet = true;
      this.request.setResponseModel(sse.model);
    }
    if (outputs === 0) return;
    if (!this.firstTokenSeen) {
      this.firstTokenSeen = true;
      this.request.firstToken();
    }
    // Counted live as tokens: one per output event, until the usage (if any) says otherwise.
    this.request.tokens(outputs);
  }

  /** The app ended the response (`res.end()` returned and the response is ended). */
  ended(): void {
    if (this.done || !this.res.writableEnded) return;
    this.done = true;
    unlink(this);
    try {
      this.record();
    } catch (error) {
      reportInternalError('server request end', error);
    }
  }

  private record(): void {
    const request = this.request;
    let facts: { model?: string | undefined; usage?: TokenUsage | undefined } = {};
    let streamError: string | undefined;
    if (this.sse !== undefined) {
      this.streamed(this.sse.end());
      facts = this.sse;
      streamError = this.sse.errorType;
    } else if (this.json !== undefined) {
      facts = this.json.facts();
    }
    this.readRequestBody();
    if (facts.model !== undefined && !this.responseModelSet) request.setResponseModel(facts.model);
    if (facts.usage !== undefined) request.setUsage(facts.usage);
    const status = this.res.statusCode;
    if (status >= 400) request.failWith(status);
    else if (streamError !== undefined) request.failWith(streamError);
    else request.end();
  }

  /** The response closed: before it ended, the caller went away. */
  closed(): void {
    if (this.done) return;
    if (this.res.writableEnded) {
      // Ended through a path that passed our res.end (a reference taken before the patch).
      this.ended();
      return;
    }
    this.settle(() => this.request.cancel());
  }

  /** The `request` listener threw. */
  threw(error: unknown): void {
    if (!this.done) this.settle(() => this.request.fail(error));
  }

  /** The app destroys the response before ending it. */
  destroyed(error: unknown): void {
    if (this.done || this.res.writableEnded) return;
    const code = isRecord(error) ? error.code : undefined;
    // A pipeline tearing the response down because the caller left is still the caller's doing.
    const callerGone = this.req.socket?.destroyed === true || (typeof code === 'string' && CANCELLED_CODES.has(code));
    this.settle(() => {
      if (callerGone) this.request.cancel();
      else if (error === undefined || error === null) this.request.failWith(ERROR_TYPE.other);
      else this.request.fail(error);
    });
  }

  private settle(end: () => void): void {
    this.done = true;
    unlink(this);
    try {
      this.readRequestBody();
      end();
    } catch (error) {
      reportInternalError('server request end', error);
    }
  }
}
