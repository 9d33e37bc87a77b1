/**
 * Readers of the bytes a server writes: a bounded look at a JSON body, and an incremental
 * parser of a server-sent event stream. They are handed what the response writes and never
 * touch it (strings are sliced, bytes decoded from a view); every input, however malformed,
 * yields what could be read and nothing else.
 */
import { ERROR_TYPE } from '../../semconv.js';
import { isRecord } from '../../core/guards.js';
import { extractResponseModel, extractUsage, isOutputChunk, type TokenUsage } from '../../core/shapes.js';

/** A written chunk: text, or bytes (a Buffer or any Uint8Array). */
export type Piece = string | Uint8Array;

/** A body up to this size (characters or bytes) is parsed whole. */
export const JSON_FULL_PARSE_LIMIT = 32 * 1024;
/** A larger body: `model` is looked for in its first and last this-many units... */
export const JSON_HEAD_WINDOW = 4 * 1024;
/** ...and `usage` in its last this-many units (where OpenAI-compatible servers put it). */
export const JSON_TAIL_WINDOW = 4 * 1024;
/** An SSE line (or a `data` field across lines) longer than this ends the parsing of the stream. */
export const SSE_MAX_EVENT = 1024 * 1024;

const MAX_MODEL_LENGTH = 256;
const MAX_USAGE_LENGTH = 4096;

function sizeOf(piece: Piece): number {
  return typeof piece === 'string' ? piece.length : piece.byteLength;
}

function decode(piece: Piece, start: number, end: number): string {
  if (typeof piece === 'string') return start === 0 && end >= piece.length ? piece : piece.slice(start, end);
  const bytes = Buffer.isBuffer(piece) ? piece : Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
  return bytes.toString('utf8', start, end);
}

function decodeFirst(pieces: readonly Piece[], limit: number): string {
  let out = '';
  let left = limit;
  for (const piece of pieces) {
    if (left <= 0) break;
    const size = sizeOf(piece);
    out += decode(piece, 0, Math.min(size, left));
    left -= size;
  }
  return out;
}

function decodeLast(pieces: readonly Piece[], limit: number): string {
  let out = '';
  let left = limit;
  for (let i = pieces.length - 1; i >= 0 && left > 0; i--) {
    const piece = pieces[i]!;
    const size = sizeOf(piece);
    out = decode(piece, Math.max(0, size - left), size) + out;
    left -= size;
  }
  return out;
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/**
 * Where the value of key `needle` (a quoted key, e.g. `"model"`) starts in `text`: the first
 * (or last) occurrence in key position, i.e. after `{` or `,` and before `:`. Inside a JSON
 * string a quote is escaped, so a match there is never in key position. -1 when none.
 */
export function findKeyValue(text: string, needle: string, last: boolean): number {
  let i = last ? text.lastIndexOf(needle) : text.indexOf(needle);
  while (i !== -1) {
    let j = i - 1;
    while (j >= 0 && isSpace(text.charCodeAt(j))) j--;
    const before = j >= 0 ? text.charCodeAt(j) : -1;
    if (before === 0x7b /* { */ || before === 0x2c /* , */) {
      let k = i + needle.length;
      while (k < text.length && isSpace(text.charCodeAt(k))) k++;
      if (text.charCodeAt(k) === 0x3a /* : */) {
        k++;
        while (k < text.length && isSpace(text.charCodeAt(k))) k++;
        return k;
      }
    }
    i = last ? (i === 0 ? -1 : text.lastIndexOf(needle, i - 1)) : text.indexOf(needle, i + 1);
  }
  return -1;
}

/** The JSON string starting at `start` (a quote), unescaped; undefined if it does not end in bounds. */
function readString(text: string, start: number, max: number): string | undefined {
  if (text.charCodeAt(start) !== 0x22) return undefined;
  const limit = Math.min(text.length, start + max + 2);
  for (let i = start + 1; i < limit; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5c /* \ */) i++;
    else if (c === 0x22) {
      try {
        const value: unknown = JSON.parse(text.slice(start, i + 1));
        return typeof value === 'string' ? value : undefined;
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

/** The JSON object starting at `start` (a brace), parsed; undefined if it does not close in bounds. */
function readObject(text: string, start: number, max: number): unknown {
  if (text.charCodeAt(start) !== 0x7b) return undefined;
  const limit = Math.min(text.length, start + max);
  let depth = 0;
  let inString = false;
  for (let i = start; i < limit; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b) depth++;
    else if (c === 0x7d && --depth === 0) {
      try {
        return JSON.parse(text.slice(start, i + 1));
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

function modelIn(text: string, last: boolean): string | undefined {
  const at = findKeyValue(text, '"model"', last);
  const model = at === -1 ? undefined : readString(text, at, MAX_MODEL_LENGTH);
  return model === '' ? undefined : model;
}

function usageIn(text: string): TokenUsage | undefined {
  const at = findKeyValue(text, '"usage"', true);
  if (at === -1) return undefined;
  const usage = readObject(text, at, MAX_USAGE_LENGTH);
  return usage === undefined ? undefined : extractUsage({ usage });
}

/** What a response body said about itself. */
export interface BodyFacts {
  model?: string;
  usage?: TokenUsage;
}

/**
 * A JSON body, written in any number of pieces. A body of at most {@link JSON_FULL_PARSE_LIMIT}
 * is parsed whole (`model`, and `usage` as the client side reads them); a larger one, e.g. many
 * embeddings, is not: its first `model` key in the first {@link JSON_HEAD_WINDOW} units (else
 * the last one in the tail), and its last `usage` key in the last {@link JSON_TAIL_WINDOW}
 * units are read. Only references to the pieces are kept, and only as many as those windows
 * need.
 */
export class JsonSniffer {
  private readonly head: Piece[] = [];
  private headSize = 0;
  private readonly tail: Piece[] = [];
  private tailSize = 0;
  private total = 0;

  write(piece: Piece): void {
    const size = sizeOf(piece);
    if (size === 0) return;
    this.total += size;
    if (this.headSize <= JSON_FULL_PARSE_LIMIT) {
      this.head.push(piece);
      this.headSize += size;
    }
    this.tail.push(piece);
    this.tailSize += size;
    while (this.tail.length > 1 && this.tailSize - sizeOf(this.tail[0]!) >= JSON_TAIL_WINDOW) {
      this.tailSize -= sizeOf(this.tail.shift()!);
    }
  }

  facts(): BodyFacts {
    if (this.total === 0) return {};
    if (this.total <= JSON_FULL_PARSE_LIMIT) {
      const text = decodeFirst(this.head, this.total);
      try {
        const body: unknown = JSON.parse(text);
        return factsOf(extractResponseModel(body), extractUsage(body));
      } catch {
        // Not JSON after all (or cut short): what the key scan finds in it.
        return factsOf(modelIn(text, false), usageIn(text));
      }
    }
    const head = decodeFirst(this.head, JSON_HEAD_WINDOW);
    const tail = decodeLast(this.tail, JSON_TAIL_WINDOW);
    return factsOf(modelIn(head, false) ?? modelIn(tail, true), usageIn(tail));
  }
}

function factsOf(model: string | undefined, usage: TokenUsage | undefined): BodyFacts {
  const facts: BodyFacts = {};
  if (model !== undefined) facts.model = model;
  if (usage !== undefined) facts.usage = usage;
  return facts;
}

const IDENTIFIER = /^[A-Za-z_][\w.]{0,63}$/;

/**
 * The `error.type` of an error event in a stream, or undefined when `event` is not one: OpenAI
 * chat/completions (`{"error": {...}}`), the Responses API (`type: error`, `response.failed`),
 * Anthropic (`type: error`), or an SSE `event: error`. The value is the error's HTTP status
 * code when it carries one, else its `type` or `code` when that is an identifier, else `_OTHER`.
 */
export function streamErrorType(event: unknown, eventName: string | undefined): string | undefined {
  if (!isRecord(event)) return eventName === 'error' ? ERROR_TYPE.other : undefined;
  let error: unknown;
  if (isRecord(event.error)) error = event.error;
  else if (event.type === 'response.failed') error = isRecord(event.response) && isRecord(event.response.error) ? event.response.error : {};
  else if (event.type === 'error' || eventName === 'error') error = event;
  if (!isRecord(error)) return undefined;
  for (const key of ['status', 'code'] as const) {
    const value = error[key];
    const n = typeof value === 'string' && /^\d{3}$/.test(value) ? Number(value) : value;
    if (typeof n === 'number' && Number.isInteger(n) && n >= 100 && n <= 599) return String(n);
  }
  for (const key of ['type', 'code'] as const) {
    const value = error[key];
    if (typeof value === 'string' && value !== 'error' && IDENTIFIER.test(value)) return value;
  }
  return ERROR_TYPE.other;
}

/**
 * A server-sent event stream, written in any number of pieces that may split lines (or a UTF-8
 * character: bytes are decoded by a streaming decoder). Each event's `data` is parsed as JSON:
 * the first `model` found, the usage reported (later reports win, field by field), the
 * output-carrying events counted, the first error event kept. `[DONE]`, comments and anything
 * that is not JSON are skipped. A line longer than {@link SSE_MAX_EVENT} stops the parsing:
 * what was read by then is kept.
 */
export class SseSniffer {
  model: string | undefined;
  usage: TokenUsage | undefined;
  errorType: string | undefined;
  outputChunks = 0;
  private carry = '';
  private data: string | undefined;
  private eventName: string | undefined;
  private decoder: InstanceType<typeof TextDecoder> | undefined;
  private stopped = false;

  /** Reads `piece`; returns how many output-carrying events it completed. */
  write(piece: Piece): number {
    if (this.stopped) return 0;
    let text: string;
    if (typeof piece === 'string') {
      text = piece;
    } else {
      this.decoder ??= new TextDecoder('utf-8');
      text = this.decoder.decode(piece, { stream: true });
    }
    if (text.length === 0) return 0;
    if (this.carry !== '') {
      text = this.carry + text;
      this.carry = '';
    }
    const before = this.outputChunks;
    let start = 0;
    for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', start)) {
      this.line(text, start, nl > start && text.charCodeAt(nl - 1) === 0x0d ? nl - 1 : nl);
      start = nl + 1;
    }
    if (start < text.length) {
      if (text.length - start > SSE_MAX_EVENT) this.stop();
      else this.carry = start === 0 ? text : text.slice(start);
    }
    return this.outputChunks - before;
  }

  /** The end of the stream: an event not closed by a blank line is read as if it were. */
  end(): number {
    if (this.stopped) return 0;
    const before = this.outputChunks;
    if (this.carry !== '') {
      const rest = this.carry;
      this.carry = '';
      this.line(rest, 0, rest.length);
    }
    this.dispatch();
    return this.outputChunks - before;
  }

  private stop(): void {
    this.stopped = true;
    this.carry = '';
    this.data = undefined;
  }

  private line(text: string, start: number, end: number): void {
    if (end === start) {
      this.dispatch();
      return;
    }
    const first = text.charCodeAt(start);
    if (first === 0x3a /* : comment */) return;
    let colon = text.indexOf(':', start);
    if (colon === -1 || colon > end) colon = end;
    const field = text.slice(start, colon);
    let valueStart = colon + 1;
    if (valueStart < end && text.charCodeAt(valueStart) === 0x20) valueStart++;
    if (field === 'data') {
      const value = valueStart >= end ? '' : text.slice(valueStart, end);
      this.data = this.data === undefined ? value : `${this.data}\n${value}`;
      if (this.data.length > SSE_MAX_EVENT) this.stop();
    } else if (field === 'event') {
      this.eventName = valueStart >= end ? '' : text.slice(valueStart, end);
    }
  }

  private dispatch(): void {
    const data = this.data;
    const eventName = this.eventName;
    this.data = undefined;
    this.eventName = undefined;
    if (data === undefined || data === '[DONE]') return;
    let event: unknown;
    try {
      event = JSON.parse(data);
    } catch {
      // A server that ends events with one newline instead of two: each data line is an event.
      if (data.includes('\n')) for (const line of data.split('\n')) this.parsed(line, eventName);
      else if (eventName === 'error') this.event(undefined, eventName);
      return;
    }
    this.event(event, eventName);
  }

  private parsed(data: string, eventName: string | undefined): void {
    if (data === '' || data === '[DONE]') return;
    try {
      this.event(JSON.parse(data), eventName);
    } catch {
      /* not JSON: skipped */
    }
  }

  private event(event: unknown, eventName: string | undefined): void {
    if (this.errorType === undefined) this.errorType = streamErrorType(event, eventName);
    if (!isRecord(event)) return;
    if (this.model === undefined) this.model = extractResponseModel(event);
    const usage = extractUsage(event);
    if (usage !== undefined) this.usage = this.usage === undefined ? usage : { ...this.usage, ...usage };
    if (isOutputChunk(event)) this.outputChunks++;
  }
}
