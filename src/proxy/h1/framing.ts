// Message framing decisions (RFC 9112 §6): how a member's answer body is delimited, and how it
// is delimited towards the client, whose HTTP version and keep-alive wish may differ. Pure.

/**
 * How a body is delimited. String literals compare as fast as small integers (V8 interns them and
 * compares the pointers) and read better in a debugger.
 */
export type BodyMode = 'none' | 'length' | 'chunked' | 'close';
/** How a request body is delimited (requests are never close-delimited). */
export type RequestBodyMode = Exclude<BodyMode, 'close'>;

/** No body at all (HEAD, 1xx, 204, 304, or Content-Length: 0). */
export const BODY_NONE = 'none';
/** Content-Length bytes. */
export const BODY_LENGTH = 'length';
/** Chunked transfer coding. */
export const BODY_CHUNKED = 'chunked';
/** Everything until the connection closes. */
export const BODY_CLOSE = 'close';

export interface BodyFraming {
  chunked: boolean;
  /** -1 without Content-Length. */
  contentLength: number;
}

/** How the body of a member's answer is delimited. */
export function answerBody(requestIsHead: boolean, status: number, h: BodyFraming): BodyMode {
  if (requestIsHead || status < 200 || status === 204 || status === 304) return BODY_NONE;
  if (h.chunked) return BODY_CHUNKED;
  if (h.contentLength > 0) return BODY_LENGTH;
  if (h.contentLength === 0) return BODY_NONE;
  return BODY_CLOSE;
}

/** How a request body is delimited (requests are never close-delimited). */
export function requestBody(h: BodyFraming): RequestBodyMode {
  if (h.chunked) return BODY_CHUNKED;
  return h.contentLength > 0 ? BODY_LENGTH : BODY_NONE;
}

export interface ClientFraming {
  /** none, length, chunked (we encode) or close (raw, then close). */
  mode: BodyMode;
  /** Framing and connection header lines to add to the head, each ending in CRLF. */
  lines: string;
  keepAlive: boolean;
}

/**
 * Framing of the answer towards the client: Content-Length passes through; chunked and
 * close-delimited answers are chunked for HTTP/1.1 clients and close-delimited for HTTP/1.0
 * ones. `keepAliveLines` is what a keep-alive answer carries (Connection, Keep-Alive).
 */
export function clientFraming(
  upstreamMode: BodyMode,
  contentLength: number,
  clientMinor: number,
  clientKeepAlive: boolean,
  keepAliveLines: string,
): ClientFraming {
  let mode: BodyMode = upstreamMode;
  let keepAlive = clientKeepAlive;
  let lines = '';
  if (upstreamMode === BODY_NONE) {
    // A HEAD answer or a 304 keeps the Content-Length that describes the representation.
    if (contentLength >= 0) lines = `Content-Length: ${contentLength}\r\n`;
  } else if (upstreamMode === BODY_LENGTH) {
    lines = `Content-Length: ${contentLength}\r\n`;
  } else if (clientMinor === 1) {
    mode = BODY_CHUNKED;
    lines = 'Transfer-Encoding: chunked\r\n';
  } else {
    mode = BODY_CLOSE;
    keepAlive = false;
  }
  lines += keepAlive ? keepAliveLines : 'Connection: close\r\n';
  return { mode, lines, keepAlive };
}
