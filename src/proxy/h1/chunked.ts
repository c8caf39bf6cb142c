// Incremental decoder and validator of the chunked transfer coding (RFC 9112 §7.1): chunk
// sizes in hex without sign or white space, extensions as `;name[=token|"quoted"]` with no
// white space, CRLF after every line and every chunk's data, then trailer fields and a blank
// line. Reads may split the body anywhere. Pure: bytes in, payload slices out, no I/O.
import { QDTEXT, TCHAR, hexValue } from './chars.js';
import { parseFieldLine, type FieldBounds } from './fields.js';
import { ParseError, type ParseReason } from './parse-error.js';

const SIZE = 0;
const DATA = 1;
const DATA_CR = 2;
const DATA_LF = 3;
const TRAILER = 4;
const DONE = 5;
const FAILED = 6;

/**
 * Significant hex digits a chunk size may have: 13 (52 bits) always fit a safe integer. Leading
 * zeros do not count (`000000000000000000005` is 5, as nginx, HAProxy, Apache and llhttp read
 * it); the size line's length limit bounds them.
 */
const MAX_SIZE_DIGITS = 13;

const bounds: FieldBounds = { nameEnd: 0, valueStart: 0, valueEnd: 0 };

/**
 * Parses a chunk size line `b[s..e)` (without CRLF). Returns the size, or the reason it is bad
 * as a negative: -1 size, -2 extension.
 */
export function parseChunkSizeLine(b: Uint8Array, s: number, e: number): number {
  let i = s;
  let size = 0;
  let digits = 0;
  while (i < e) {
    const h = hexValue(b[i]);
    if (h < 0) break;
    if ((size !== 0 || h !== 0) && ++digits > MAX_SIZE_DIGITS) return -1;
    size = size * 16 + h;
    i++;
  }
  if (i === s) return -1;
  if (i === e) return size;
  if (b[i] !== 0x3b) return -1;
  // Extensions: (";" token ["=" (token / quoted-string)])*, no white space anywhere.
  while (i < e) {
    if (b[i] !== 0x3b) return -2;
    i++;
    const nameStart = i;
    while (i < e && TCHAR[b[i]] === 1) i++;
    if (i === nameStart) return -2;
    if (i === e) break;
    if (b[i] === 0x3b) continue;
    if (b[i] !== 0x3d) return -2;
    i++;
    if (i === e) return -2;
    if (b[i] === 0x22) {
      i++;
      for (;;) {
        if (i >= e) return -2;
        const c = b[i];
        if (c === 0x22) {
          i++;
          break;
        }
        if (c === 0x5c) {
          // quoted-pair: backslash then HTAB, SP, VCHAR or obs-text.
          const n = i + 1 < e ? b[i + 1] : -1;
          if (n < 0 || !(n === 0x09 || (n >= 0x20 && n !== 0x7f))) return -2;
          i += 2;
          continue;
        }
        if (QDTEXT[c] !== 1) return -2;
        i++;
      }
    } else {
      const valueStart = i;
      while (i < e && TCHAR[b[i]] === 1) i++;
      if (i === valueStart) return -2;
    }
  }
  return size;
}

export class ChunkedDecoder {
  private state = SIZE;
  private remaining = 0;
  /** Start of a size or trailer line that a read split. */
  private partial: Buffer | undefined;
  private trailerBytes = 0;
  /** Set when the body was refused. */
  error: ParseError | undefined;
  /** Trailer fields, flat name/value pairs. */
  readonly trailers: string[] = [];
  /** Payload bytes decoded so far. */
  bytes = 0;

  constructor(
    private readonly maxLine = 4096,
    private readonly maxTrailers = 16_384,
  ) {}

  get done(): boolean {
    return this.state === DONE;
  }

  /**
   * Decodes `buf[start..]`, pushing payload slices (views, no copies) onto `out`. Returns the
   * index just past the end of the body once it is complete (bytes after it belong to the next
   * message), `buf.length` when more is needed, or -1 when the body is malformed (`error`).
   */
  decode(buf: Buffer, start: number, out: Buffer[]): number {
    let i = start;
    const len = buf.length;
    while (i < len) {
      switch (this.state) {
        case DATA: {
          const n = Math.min(this.remaining, len - i);
          out.push(buf.subarray(i, i + n));
          this.bytes += n;
          i += n;
          this.remaining -= n;
          if (this.remaining === 0) this.state = DATA_CR;
          break;
        }
        case DATA_CR:
          if (buf[i] !== 0x0d) return this.fail('bad-chunk-crlf');
          i++;
          this.state = DATA_LF;
          break;
        case DATA_LF:
          if (buf[i] !== 0x0a) return this.fail('bad-chunk-crlf');
          i++;
          this.state = SIZE;
          break;
        case SIZE:
        case TRAILER: {
          const lf = buf.indexOf(0x0a, i);
          if (lf < 0) {
            const have = (this.partial?.length ?? 0) + (len - i);
            if (have > (this.state === SIZE ? this.maxLine : this.maxTrailers)) return this.fail(this.state === SIZE ? 'chunk-line-too-long' : 'trailers-too-large');
            const piece = Buffer.from(buf.subarray(i, len));
            this.partial = this.partial ? Buffer.concat([this.partial, piece]) : piece;
            return len;
          }
          let line: Buffer = buf;
          let s = i;
          let e = lf;
          if (this.partial) {
            line = Buffer.concat([this.partial, buf.subarray(i, lf)]);
            this.partial = undefined;
            s = 0;
            e = line.length;
          }
          i = lf + 1;
          if (e === s || line[e - 1] !== 0x0d) return this.fail('bare-lf');
          e--;
          const r = this.state === SIZE ? this.sizeLine(line, s, e) : this.trailerLine(line, s, e);
          if (r !== undefined) return this.fail(r);
          if (this.done) return i;
          break;
        }
        case DONE:
          return i;
        default:
          return -1;
      }
    }
    return i;
  }

  private sizeLine(b: Buffer, s: number, e: number): ParseReason | undefined {
    if (e - s > this.maxLine) return 'chunk-line-too-long';
    for (let k = s; k < e; k++) if (b[k] === 0x0d) return 'bad-chunk-size';
    const size = parseChunkSizeLine(b, s, e);
    if (size === -1) return 'bad-chunk-size';
    if (size === -2) return 'bad-chunk-extension';
    if (size === 0) this.state = TRAILER;
    else {
      this.remaining = size;
      this.state = DATA;
    }
    return undefined;
  }

  private trailerLine(b: Buffer, s: number, e: number): ParseReason | undefined {
    if (e === s) {
      this.state = DONE;
      return undefined;
    }
    this.trailerBytes += e - s + 2;
    if (this.trailerBytes > this.maxTrailers) return 'trailers-too-large';
    const text = b.toString('latin1', s, e);
    const err = parseFieldLine(text, 0, text.length, bounds);
    if (err) return err === 'obs-fold' || err === 'bare-cr' ? err : 'bad-trailer';
    this.trailers.push(text.slice(0, bounds.nameEnd), text.slice(bounds.valueStart, bounds.valueEnd));
    return undefined;
  }

  private fail(reason: ParseReason): number {
    this.state = FAILED;
    this.error = new ParseError(reason);
    return -1;
  }
}
