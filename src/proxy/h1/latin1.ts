// Buffer's latin1 fast paths, which Node has on every Buffer but @types/node does not declare.
// Latin-1 maps each byte to one character and back, so a short body can join a head string and
// go out in the same write.

declare global {
  interface Buffer {
    latin1Slice(start?: number, end?: number): string;
    latin1Write(s: string, offset?: number, length?: number): number;
  }
}

/** Bodies up to this size are joined to the head (a copy) rather than written separately. */
export const SMALL_BODY = 4096;

export {};
