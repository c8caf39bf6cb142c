// Durations for people, in logs and probe details.

/** `500ms`, `30s`, `1.5s`, `2m`, `2m30s`, `1h`. */
export function formatMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = Math.round(ms / 100) / 10;
  if (s < 120) return `${s}s`;
  const whole = Math.round(s);
  if (whole >= 3600 && whole % 3600 === 0) return `${whole / 3600}h`;
  const m = Math.floor(whole / 60);
  return whole % 60 ? `${m}m${whole % 60}s` : `${m}m`;
}
