// What the edge refused, counted as plain numbers (read by the manager's JSON API and metrics).
export class EdgeCounters {
  /** Connections refused for the total limit and for the per-client limit. */
  connectionsRefusedTotal = 0;
  connectionsRefusedPerClient = 0;
  /** Connections closed for a missing, malformed or late PROXY header. */
  proxyProtocolRefused = 0;
  /** Requests answered 429. */
  rateLimited = 0;
  /** Requests refused by access rules (403) and by authentication (401). */
  accessDenied = 0;
  authFailed = 0;
  /** Requests refused for LimitRequestBody (413). */
  bodyTooLarge = 0;
  /** Requests refused for LimitRequestFields, LimitRequestFieldSize, LimitRequestLine. */
  headLimits = 0;
  /** Connections cut by RequestReadTimeout while a head or a body was arriving. */
  headerTimeouts = 0;
  bodyTimeouts = 0;

  snapshot(): Record<string, number> {
    return {
      connectionsRefusedTotal: this.connectionsRefusedTotal,
      connectionsRefusedPerClient: this.connectionsRefusedPerClient,
      proxyProtocolRefused: this.proxyProtocolRefused,
      rateLimited: this.rateLimited,
      accessDenied: this.accessDenied,
      authFailed: this.authFailed,
      bodyTooLarge: this.bodyTooLarge,
      headLimits: this.headLimits,
      headerTimeouts: this.headerTimeouts,
      bodyTimeouts: this.bodyTimeouts,
    };
  }
}
