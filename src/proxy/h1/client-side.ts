// What an exchange needs from the client connection it serves (implemented by ServerConn), kept
// as an interface so the exchange does not depend on how connections are read.
import type { Socket } from 'node:net';
import type { SiteModel } from '../../config/model.js';
import type { Exchange } from './exchange.js';
import type { ParseError } from './parse-error.js';
import type { Outbox } from './outbox.js';
import type { LeanPools } from './pool.js';

export interface ClientSide {
  readonly socket: Socket;
  /** The connection's other end: its PROXY header's address, else the socket's. */
  readonly peerAddress: string;
  readonly peerPort: number | undefined;
  /** This end of the connection (Apache's %A and %p), read once per connection. */
  localAddress(): string | undefined;
  localPort(): number | undefined;
  /** Gathers what goes to the client into as few writes as possible. */
  readonly out: Outbox;
  readonly pools: LeanPools;
  /** Largest request head (and request trailer section) accepted. */
  maxHeaderSize(): number;
  /** Largest answer head (and answer trailer section) accepted from a member. */
  maxAnswerHead(): number;
  /** Bytes of request body kept for one replay on a fresh connection. */
  replayBuffer(): number;
  serverName(site: SiteModel): string;
  /** False once the server is closing or the client half-closed: answers then close. */
  mayKeepAlive(): boolean;
  /** Connection and Keep-Alive lines of a keep-alive answer. */
  keepAliveLines(): string;
  /** A `Date:` line for now. */
  dateLine(): string;
  pauseReading(): void;
  resumeReading(): void;
  /** The answer went out completely (or an error page did). */
  exchangeFinished(ex: Exchange): void;
  /** The rest of a body that nobody wanted any more was read. */
  bodyFinished(ex: Exchange): void;
  /** The request body was malformed: answer 400 unless the answer began, and close. */
  refuseBody(ex: Exchange, err: ParseError, answered: boolean): void;
  /** The answer broke off after its head went out: cut the connection. */
  abandon(ex: Exchange): void;
  /** A bug of ours surfaced: log it, answer 500 if still possible, close the connection. */
  crashed(e: unknown): void;
}
