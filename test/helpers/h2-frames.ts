// Raw HTTP/2 frames for bad-input tests: the connection preface, SETTINGS, HEADERS with a tiny
// HPACK block, CONTINUATION, RST_STREAM, PING, written by hand so tests can send what no
// well-behaved client would (floods, endless header blocks).
export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export const TYPE = { DATA: 0, HEADERS: 1, RST_STREAM: 3, SETTINGS: 4, PING: 6, GOAWAY: 7, WINDOW_UPDATE: 8, CONTINUATION: 9 } as const;
export const FLAG = { END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4 } as const;

export function frame(type: number, flags: number, stream: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(stream & 0x7fffffff, 5);
  return Buffer.concat([h, payload]);
}

export function settings(pairs: [number, number][] = []): Buffer {
  const p = Buffer.alloc(pairs.length * 6);
  pairs.forEach(([id, v], i) => {
    p.writeUInt16BE(id, i * 6);
    p.writeUInt32BE(v, i * 6 + 2);
  });
  return frame(TYPE.SETTINGS, 0, 0, p);
}

/** An HPACK integer with an N-bit prefix (RFC 7541 §5.1); `first` holds the bits above the prefix. */
export function hpackInt(value: number, prefixBits: number, first = 0): Buffer {
  const max = (1 << prefixBits) - 1;
  if (value < max) return Buffer.from([first | value]);
  const out = [first | max];
  let v = value - max;
  while (v >= 128) {
    out.push((v & 0x7f) | 0x80);
    v >>= 7;
  }
  out.push(v);
  return Buffer.from(out);
}

/** A literal header field with a new name: without indexing, or added to the dynamic table. */
export function literal(name: string, value: string, index = false): Buffer {
  const n = Buffer.from(name, 'latin1');
  const v = Buffer.from(value, 'latin1');
  return Buffer.concat([Buffer.from([index ? 0x40 : 0x00]), hpackInt(n.length, 7), n, hpackInt(v.length, 7), v]);
}

/** An HPACK block: GET (or `method`), https or http, the path and authority, plus extra fields. */
export function headerBlock(opts: { path?: string; authority?: string; scheme?: 'http' | 'https'; method?: string; extra?: [string, string][] } = {}): Buffer {
  const parts: Buffer[] = [];
  if (!opts.method || opts.method === 'GET') parts.push(Buffer.from([0x82]));
  else parts.push(literal(':method', opts.method));
  parts.push(Buffer.from([opts.scheme === 'http' ? 0x86 : 0x87]));
  parts.push(opts.path && opts.path !== '/' ? literal(':path', opts.path) : Buffer.from([0x84]));
  parts.push(literal(':authority', opts.authority ?? 'localhost'));
  for (const [n, v] of opts.extra ?? []) parts.push(literal(n, v));
  return Buffer.concat(parts);
}

export function headers(stream: number, block: Buffer, flags: number = FLAG.END_HEADERS | FLAG.END_STREAM): Buffer {
  return frame(TYPE.HEADERS, flags, stream, block);
}

export function rstStream(stream: number, code = 8): Buffer {
  const p = Buffer.alloc(4);
  p.writeUInt32BE(code);
  return frame(TYPE.RST_STREAM, 0, stream, p);
}

export function ping(data = 'pingpong'): Buffer {
  return frame(TYPE.PING, 0, 0, Buffer.from(data.padEnd(8).slice(0, 8), 'latin1'));
}

export function continuation(stream: number, payload: Buffer, last = false): Buffer {
  return frame(TYPE.CONTINUATION, last ? FLAG.END_HEADERS : 0, stream, payload);
}

/** Splits received bytes into frames (type, flags, stream, payload); `rest` is an incomplete tail. */
export function parseFrames(buf: Buffer): { frames: { type: number; flags: number; stream: number; payload: Buffer }[]; rest: Buffer } {
  const frames: { type: number; flags: number; stream: number; payload: Buffer }[] = [];
  let off = 0;
  while (buf.length - off >= 9) {
    const len = buf.readUIntBE(off, 3);
    if (buf.length - off < 9 + len) break;
    frames.push({ type: buf[off + 3], flags: buf[off + 4], stream: buf.readUInt32BE(off + 5) & 0x7fffffff, payload: buf.subarray(off + 9, off + 9 + len) });
    off += 9 + len;
  }
  return { frames, rest: buf.subarray(off) };
}

/** The error code of a GOAWAY frame's payload. */
export function goawayCode(payload: Buffer): number {
  return payload.readUInt32BE(4);
}
