// The failure catalogue: every way a request can fail, pinned to one status and one side.
// local = our decision (no member, refused input); upstream = the member's doing.

import { STATUS_CODES } from 'node:http';
import { escapeHtml } from '../util/html.js';

export interface FailureSpec {
  status: number;
  side: 'local' | 'upstream';
  /** Short text for the error page and the log. */
  text: string;
}

export const FAILURES = {
  ERR_NO_MEMBER: { status: 503, side: 'local', text: 'No member of the balancer is available.' },
  ERR_NOFAILOVER: { status: 503, side: 'local', text: 'The server that holds this session is not available.' },
  ERR_CONNECT: { status: 503, side: 'upstream', text: 'The server could not be reached.' },
  ERR_CONNECT_TIMEOUT: { status: 503, side: 'upstream', text: 'The server could not be reached in time.' },
  ERR_UPSTREAM_RESET: { status: 502, side: 'upstream', text: 'The server closed the connection without a complete answer.' },
  ERR_UPSTREAM_BAD_RESPONSE: { status: 502, side: 'upstream', text: 'The server sent an invalid answer.' },
  ERR_UPSTREAM_TIMEOUT: { status: 504, side: 'upstream', text: 'The server did not answer in time.' },
  ERR_NOT_FOUND: { status: 404, side: 'local', text: 'Not found.' },
  ERR_BAD_REQUEST: { status: 400, side: 'local', text: 'Bad request.' },
  ERR_FORWARD_PROXY: { status: 403, side: 'local', text: 'This server is not a forward proxy.' },
  ERR_METHOD: { status: 405, side: 'local', text: 'Method not allowed.' },
  ERR_INTERNAL: { status: 500, side: 'local', text: 'The request could not be handled.' },
} as const satisfies Record<string, FailureSpec>;

export type FailureCode = keyof typeof FAILURES;

export class ProxyError extends Error {
  readonly status: number;
  readonly side: 'local' | 'upstream';
  /** The text shown to the client (the error page); the detail never is. */
  readonly text: string;
  constructor(
    readonly code: FailureCode,
    /** Technical detail for the log (never shown to the client). */
    readonly detail?: string,
  ) {
    super(`${FAILURES[code].text}${detail ? ` (${detail})` : ''}`);
    this.status = FAILURES[code].status;
    this.side = FAILURES[code].side;
    this.text = FAILURES[code].text;
  }
}

export function reason(status: number): string {
  return STATUS_CODES[status] ?? 'Error';
}

/** A short HTML error page (the text is optional); never a stack trace. */
export function errorPage(status: number, text?: string): string {
  const title = `${status} ${reason(status)}`;
  const p = text ? `<p>${escapeHtml(text)}</p>` : '';
  return `<!DOCTYPE html>\n<html><head><title>${title}</title></head><body><h1>${reason(status)}</h1>${p}<hr><address>stickylb</address></body></html>\n`;
}

/** A whole raw HTTP/1.1 error response, for sockets that have no ServerResponse. */
export function rawErrorResponse(status: number, text: string): string {
  const body = errorPage(status, text);
  return (
    `HTTP/1.1 ${status} ${reason(status)}\r\n` +
    `Content-Type: text/html; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`
  );
}

/** Connection errors that happen before a member accepted the connection. */
export function isConnectError(code: string | undefined): boolean {
  return (
    code === 'ECONNREFUSED' ||
    code === 'EHOSTUNREACH' ||
    code === 'ENETUNREACH' ||
    code === 'ENOTFOUND' ||
    code === 'EAI_AGAIN' ||
    code === 'EADDRNOTAVAIL' ||
    code === 'ECONNRESET' ||
    code === 'ERR_CONNECT_TIMEOUT'
  );
}
