// HAProxy's PROXY protocol (versions 1 and 2) on a listener, as HAProxy's `accept-proxy` and
// Apache's `RemoteIPProxyProtocol On` read it: the header is read from the raw TCP connection
// before anything else (before HTTP, before TLS), its source address becomes the client's, and a
// connection whose first bytes are not a valid header is closed without a byte of it being read
// as HTTP. A pure parser, and a small pre-reader for a socket.
import { isIP, type Socket } from 'node:net';

/** The 12-byte signature of a version 2 header. */
export const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
const V1_PREFIX = Buffer.from('PROXY ', 'latin1');
/** A version 1 header is at most 107 bytes, CRLF included (the specification's limit). */
export const V1_MAX = 107;
/**
 * The largest version 2 header taken: the address block (216 bytes for UNIX sockets) and TLVs
 * such as the ones cloud load balancers add fit easily; anything longer is refused.
 */
export const V2_MAX = 4096;

export interface ProxyAddresses {
  /** PROXY (addresses given) or LOCAL (the proxy's own connection, e.g. a health check). */
  command: 'proxy' | 'local';
  /** TCP4, TCP6 or UNKNOWN (v1); for v2 also UDP and UNIX, which give no usable address. */
  family: 'tcp4' | 'tcp6' | 'unknown';
  /** The client's address and port, when the header gives them. */
  sourceAddress?: string;
  sourcePort?: number;
  destAddress?: string;
  destPort?: number;
}

export type ParseResult =
  | { kind: 'incomplete' }
  | { kind: 'error'; reason: string }
  | ({ kind: 'header'; version: 1 | 2; length: number } & ProxyAddresses);

const INCOMPLETE: ParseResult = { kind: 'incomplete' };

/** True while `b` could still be the start of `prefix`. */
function startsLike(b: Buffer, prefix: Buffer): boolean {
  const n = Math.min(b.length, prefix.length);
  for (let i = 0; i < n; i++) if (b[i] !== prefix[i]) return false;
  return true;
}

const PORT = /^(0|[1-9]\d{0,4})$/;

function port(text: string): number | undefined {
  if (!PORT.test(text)) return undefined;
  const n = Number(text);
  return n <= 65535 ? n : undefined;
}

function parseV1(b: Buffer): ParseResult {
  const limit = Math.min(b.length, V1_MAX);
  let end = -1;
  for (let i = V1_PREFIX.length; i < limit; i++) {
    if (b[i] === 0x0d) {
      end = i;
      break;
    }
    if (b[i] === 0x0a) return { kind: 'error', reason: 'bare LF in the PROXY v1 line' };
  }
  if (end < 0) return b.length >= V1_MAX ? { kind: 'error', reason: `PROXY v1 line longer than ${V1_MAX} bytes` } : INCOMPLETE;
  if (end + 1 >= b.length) return INCOMPLETE;
  if (b[end + 1] !== 0x0a) return { kind: 'error', reason: 'PROXY v1 line not ended by CRLF' };
  const line = b.latin1Slice(0, end);
  const length = end + 2;
  const words = line.split(' ');
  const family = words[1];
  if (family === 'UNKNOWN') return { kind: 'header', version: 1, length, command: 'proxy', family: 'unknown' };
  if (family !== 'TCP4' && family !== 'TCP6') return { kind: 'error', reason: `PROXY v1: unknown protocol ${JSON.stringify(family ?? '')}` };
  if (words.length !== 6) return { kind: 'error', reason: 'PROXY v1: expected "PROXY TCP4|TCP6 SRC DST SRCPORT DSTPORT"' };
  const [, , src, dst, sp, dp] = words;
  const want = family === 'TCP4' ? 4 : 6;
  if (isIP(src) !== want || isIP(dst) !== want) return { kind: 'error', reason: `PROXY v1: ${family} addresses expected, got ${JSON.stringify(src)} and ${JSON.stringify(dst)}` };
  const sourcePort = port(sp);
  const destPort = port(dp);
  if (sourcePort === undefined || destPort === undefined) return { kind: 'error', reason: `PROXY v1: ports must be 0..65535, got ${JSON.stringify(sp)} and ${JSON.stringify(dp)}` };
  return { kind: 'header', version: 1, length, command: 'proxy', family: family === 'TCP4' ? 'tcp4' : 'tcp6', sourceAddress: src, sourcePort, destAddress: dst, destPort };
}

function ipv6(b: Buffer, at: number): string {
  const parts: string[] = [];
  for (let i = 0; i < 16; i += 2) parts.push(b.readUInt16BE(at + i).toString(16));
  // Node's own formatting (zero runs compressed) through the URL parser, which accepts this form.
  return new URL(`http://[${parts.join(':')}]/`).hostname.slice(1, -1);
}

function parseV2(b: Buffer): ParseResult {
  if (b.length < 16) return INCOMPLETE;
  const verCmd = b[12];
  if (verCmd >> 4 !== 2) return { kind: 'error', reason: `PROXY v2: version ${verCmd >> 4} is not 2` };
  const cmd = verCmd & 0x0f;
  if (cmd > 1) return { kind: 'error', reason: `PROXY v2: unknown command ${cmd}` };
  const fam = b[13];
  const len = b.readUInt16BE(14);
  const length = 16 + len;
  if (length > V2_MAX) return { kind: 'error', reason: `PROXY v2 header of ${length} bytes is larger than ${V2_MAX}` };
  if (b.length < length) return INCOMPLETE;
  if (cmd === 0) return { kind: 'header', version: 2, length, command: 'local', family: 'unknown' };
  const transport = fam & 0x0f;
  const af = fam >> 4;
  if (af > 3 || transport > 2) return { kind: 'error', reason: `PROXY v2: unknown address family byte 0x${fam.toString(16)}` };
  if (af === 1) {
    if (len < 12) return { kind: 'error', reason: 'PROXY v2: IPv4 address block shorter than 12 bytes' };
    if (transport !== 1) return { kind: 'header', version: 2, length, command: 'proxy', family: 'unknown' };
    const a = (o: number) => `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;
    return { kind: 'header', version: 2, length, command: 'proxy', family: 'tcp4', sourceAddress: a(16), destAddress: a(20), sourcePort: b.readUInt16BE(24), destPort: b.readUInt16BE(26) };
  }
  if (af === 2) {
    if (len < 36) return { kind: 'error', reason: 'PROXY v2: IPv6 address block shorter than 36 bytes' };
    if (transport !== 1) return { kind: 'header', version: 2, length, command: 'proxy', family: 'unknown' };
    return { kind: 'header', version: 2, length, command: 'proxy', family: 'tcp6', sourceAddress: ipv6(b, 16), destAddress: ipv6(b, 32), sourcePort: b.readUInt16BE(48), destPort: b.readUInt16BE(50) };
  }
  // AF_UNSPEC and AF_UNIX: the connection's own address stands.
  return { kind: 'header', version: 2, length, command: 'proxy', family: 'unknown' };
}

/** Parses a PROXY header at the start of `b` (the first bytes of a connection). Pure. */
export function parseProxyHeader(b: Buffer): ParseResult {
  if (b.length === 0) return INCOMPLETE;
  if (b[0] === 0x50) {
    if (!startsLike(b, V1_PREFIX)) return { kind: 'error', reason: 'the connection did not start with a PROXY header' };
    if (b.length < V1_PREFIX.length) return INCOMPLETE;
    return parseV1(b);
  }
  if (b[0] === 0x0d) {
    if (!startsLike(b, V2_SIGNATURE)) return { kind: 'error', reason: 'the connection did not start with a PROXY header' };
    if (b.length < V2_SIGNATURE.length) return INCOMPLETE;
    return parseV2(b);
  }
  return { kind: 'error', reason: 'the connection did not start with a PROXY header' };
}

/** The client address the PROXY header of a connection gave (none for LOCAL and UNKNOWN). */
export interface ProxiedAddress {
  address: string;
  port: number;
}

const PROXIED = new WeakMap<Socket, ProxiedAddress>();

/** The client address a PROXY header gave this connection, if one did. */
export function proxiedAddressOf(socket: Socket): ProxiedAddress | undefined {
  // A TLS socket's header was read on the TCP connection under it.
  return PROXIED.get(socket) ?? PROXIED.get((socket as Socket & { _parent?: Socket })._parent as Socket);
}

export interface PreReadOptions {
  timeoutMs: number;
  /** Called once with the outcome; on error the socket has been destroyed. */
  done(err: string | undefined, header?: ProxyAddresses): void;
}

/**
 * Reads the PROXY header off a fresh socket, records the address it gives, puts back whatever
 * followed it, and calls `done`. A missing, malformed, truncated or oversized header, or one that
 * does not arrive within `timeoutMs`, destroys the socket: nothing of it is ever parsed as HTTP.
 */
export function preReadProxyHeader(socket: Socket, opts: PreReadOptions): void {
  let buf: Buffer | undefined;
  let finished = false;
  const finish = (err: string | undefined, header?: ProxyAddresses) => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    socket.off('data', onData);
    socket.off('end', onEnd);
    socket.off('error', onError);
    socket.off('close', onEnd);
    if (err !== undefined) socket.destroy();
    opts.done(err, header);
  };
  const onData = (chunk: Buffer) => {
    buf = buf === undefined ? chunk : Buffer.concat([buf, chunk]);
    const r = parseProxyHeader(buf);
    if (r.kind === 'incomplete') return;
    if (r.kind === 'error') {
      finish(r.reason);
      return;
    }
    socket.pause();
    if (r.command === 'proxy' && r.sourceAddress !== undefined) PROXIED.set(socket, { address: r.sourceAddress, port: r.sourcePort ?? 0 });
    if (r.length < buf.length) socket.unshift(buf.subarray(r.length));
    buf = undefined;
    finish(undefined, r);
  };
  const onEnd = () => finish(buf === undefined ? 'the connection closed before sending a PROXY header' : 'the connection closed within the PROXY header');
  const onError = () => finish('the connection failed before its PROXY header was read');
  const timer = setTimeout(() => finish(buf === undefined ? `no PROXY header within ${opts.timeoutMs} ms` : `the PROXY header did not complete within ${opts.timeoutMs} ms`), opts.timeoutMs);
  timer.unref();
  socket.on('data', onData);
  socket.on('end', onEnd);
  socket.on('close', onEnd);
  socket.on('error', onError);
}
