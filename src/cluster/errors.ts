// The one error class of the app-side library. Every refusal carries a stable `code` so that start-up
// scripts and tests can tell the causes apart without parsing the message.

export type ClusterErrorCode =
  /** Neither an explicit route nor STICKYLB_ROUTE was given. */
  | 'ERR_STICKYLB_ROUTE_MISSING'
  /** The route is the empty string. */
  | 'ERR_STICKYLB_ROUTE_EMPTY'
  /** The route contains the session id separator, so the balancer would cut it in two. */
  | 'ERR_STICKYLB_ROUTE_SEPARATOR'
  /** The route has characters outside [A-Za-z0-9_-]. */
  | 'ERR_STICKYLB_ROUTE_CHARS'
  /** The route is 64 characters or longer (the balancer's limit, as Apache's). */
  | 'ERR_STICKYLB_ROUTE_LENGTH'
  /** The separator is not one of the characters that survive URLs and cookies unencoded. */
  | 'ERR_STICKYLB_SEPARATOR'
  /** Some other option is out of range (fewer than 128 random bits, a bad cookie name, …). */
  | 'ERR_STICKYLB_OPTION';

export class ClusterError extends Error {
  readonly code: ClusterErrorCode;

  constructor(code: ClusterErrorCode, message: string) {
    super(message);
    this.name = 'ClusterError';
    this.code = code;
  }
}
