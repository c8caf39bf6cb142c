// Number and time formatting shared by the manager and status pages. Pure.

/** Bytes in Apache's apr_strfsize style, but readable: `0`, `512`, `1.2K`, `3.4M`, `5.6G`. */
export function formatBytes(n: number): string {
  if (n < 1024) return String(n);
  const units = ['K', 'M', 'G', 'T', 'P'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)}${units[i]}`;
}

/** A duration in words, as mod_status writes uptime: `1 day 2 hours 3 minutes 4 seconds`. */
export function formatUptime(seconds: number): string {
  let s = Math.max(0, Math.floor(seconds));
  const parts: string[] = [];
  const units: [number, string][] = [
    [86400, 'day'],
    [3600, 'hour'],
    [60, 'minute'],
  ];
  for (const [size, name] of units) {
    const n = Math.floor(s / size);
    s -= n * size;
    if (n) parts.push(`${n} ${name}${n === 1 ? '' : 's'}`);
  }
  if (s || parts.length === 0) parts.push(`${s} second${s === 1 ? '' : 's'}`);
  return parts.join(' ');
}

/** Milliseconds for people: `250ms`, `5s`, `1.5s`, `2m`, `1h 30m`. */
export function formatMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) {
    const s = ms / 1000;
    return `${Number.isInteger(s) ? s : s.toFixed(1)}s`;
  }
  if (ms < 3_600_000) {
    const m = Math.floor(ms / 60_000);
    const s = Math.round((ms % 60_000) / 1000);
    return s ? `${m}m ${s}s` : `${m}m`;
  }
  const h = Math.floor(ms / 3_600_000);
  const m = Math.round((ms % 3_600_000) / 60_000);
  return m ? `${h}h ${m}m` : `${h}h`;
}

/** How long ago a time was, for "last check 3s ago". */
export function formatAgo(then: number, now: number): string {
  return `${formatMs(Math.max(0, now - then))} ago`;
}

/** A load factor as Apache's manager shows it: two decimals (`1.00`, `2.50`). */
export function formatFactor(f: number): string {
  return f.toFixed(2);
}

/** Apache's RFC 822 date (`Wed, 25 Nov 2026 19:12:17 GMT`). */
export function rfc822(ms: number): string {
  return new Date(ms).toUTCString();
}

/** mod_status's long date (`Wednesday, 25-Nov-2026 19:12:17 UTC`). */
export function statusDate(ms: number): string {
  const d = new Date(ms);
  const days = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const p = (n: number) => String(n).padStart(2, '0');
  return `${days[d.getUTCDay()]}, ${p(d.getUTCDate())}-${months[d.getUTCMonth()]}-${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} UTC`;
}
