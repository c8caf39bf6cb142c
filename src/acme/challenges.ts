// The answers to the CA's HTTP-01 challenges while an order is open: the key authorization for a
// token, served at /.well-known/acme-challenge/<token> on every listener (matchRoute asks
// `answer` before any ProxyPass rule). Each change is an event, for processes that serve the
// same listeners (workers) to mirror.
import { EventEmitter } from 'node:events';

/** What the router asks about /.well-known/acme-challenge/<token> requests. */
export interface ChallengeAnswers {
  /** The body to answer for this token, or undefined to route the request as any other. */
  answer(token: string): string | undefined;
}

export interface ChallengesEvents {
  /** A token was added (with its key authorization) or removed (undefined). */
  change: [token: string, keyAuthorization: string | undefined];
}

export class Challenges extends EventEmitter<ChallengesEvents> implements ChallengeAnswers {
  private readonly http = new Map<string, string>();

  answer(token: string): string | undefined {
    return this.http.get(token);
  }

  add(token: string, keyAuthorization: string): void {
    this.http.set(token, keyAuthorization);
    this.emit('change', token, keyAuthorization);
  }

  remove(token: string): void {
    if (this.http.delete(token)) this.emit('change', token, undefined);
  }

  /** Challenges open right now. */
  get open(): number {
    return this.http.size;
  }
}
