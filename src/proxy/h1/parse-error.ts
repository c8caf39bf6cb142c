// Why a message was refused. The reason codes are stable (tests and logs use them); the status
// is what the client gets for a refused request (a refused answer from a member is always 502).

export type ParseReason =
  | 'bad-request-line'
  | 'bad-method'
  | 'bad-target'
  | 'bad-version'
  | 'bad-status-line'
  | 'bare-cr'
  | 'bare-lf'
  | 'obs-fold'
  | 'space-before-colon'
  | 'bad-header-name'
  | 'bad-header-value'
  | 'missing-host'
  | 'duplicate-host'
  | 'bad-host'
  | 'bad-content-length'
  | 'duplicate-content-length'
  | 'content-length-with-transfer-encoding'
  | 'bad-transfer-encoding'
  | 'transfer-encoding-in-http-1.0'
  | 'head-too-large'
  | 'bad-chunk-size'
  | 'bad-chunk-extension'
  | 'bad-chunk-crlf'
  | 'chunk-line-too-long'
  | 'bad-trailer'
  | 'trailers-too-large'
  | 'too-many-fields'
  | 'field-too-long'
  | 'request-line-too-long'
  | 'body-too-large';

const TEXT: Record<ParseReason, string> = {
  'bad-request-line': 'The request line is malformed.',
  'bad-method': 'The request method is not a valid token.',
  'bad-target': 'The request target is malformed.',
  'bad-version': 'Only HTTP/1.0 and HTTP/1.1 are supported.',
  'bad-status-line': 'The status line is malformed.',
  'bare-cr': 'A CR not followed by LF in the message head.',
  'bare-lf': 'A line ends in LF without CR.',
  'obs-fold': 'Folded header lines (obs-fold) are not accepted.',
  'space-before-colon': 'White space between a header name and the colon.',
  'bad-header-name': 'An invalid header name.',
  'bad-header-value': 'An invalid character in a header value.',
  'missing-host': 'An HTTP/1.1 request needs a Host header.',
  'duplicate-host': 'More than one Host header.',
  'bad-host': 'The Host header is malformed.',
  'bad-content-length': 'An invalid Content-Length.',
  'duplicate-content-length': 'Conflicting Content-Length headers.',
  'content-length-with-transfer-encoding': 'Conflicting message framing: Content-Length with Transfer-Encoding.',
  'bad-transfer-encoding': 'Transfer-Encoding other than chunked.',
  'transfer-encoding-in-http-1.0': 'Transfer-Encoding in an HTTP/1.0 message.',
  'head-too-large': 'The request head is too large.',
  'bad-chunk-size': 'Invalid chunk size in the body.',
  'bad-chunk-extension': 'Invalid chunk extension in the body.',
  'bad-chunk-crlf': 'Chunk data not followed by CRLF.',
  'chunk-line-too-long': 'A chunk size line is too long.',
  'bad-trailer': 'An invalid trailer field.',
  'trailers-too-large': 'The trailer section is too large.',
  'too-many-fields': "The number of request header fields exceeds this server's limit.",
  'field-too-long': 'Size of a request header field exceeds server limit.',
  'request-line-too-long': "The requested URL's length exceeds the capacity limit for this server.",
  'body-too-large': 'The request body is larger than this server accepts.',
};

const STATUS: Partial<Record<ParseReason, number>> = {
  'head-too-large': 431,
  'request-line-too-long': 414,
  'body-too-large': 413,
};

export class ParseError {
  readonly status: number;
  readonly text: string;
  constructor(readonly reason: ParseReason) {
    this.status = STATUS[reason] ?? 400;
    this.text = TEXT[reason];
  }
}
