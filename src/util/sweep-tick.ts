// How often a sweep on a coarse clock runs to close connections idle for `idleMs`: a quarter of
// it, between 50 ms and 1 s (the lean engine's keep-alive sweep, HTTP/2's idle sweep).
export function sweepTickMs(idleMs: number): number {
  return Math.max(50, Math.min(1_000, Math.floor(idleMs / 4)));
}
