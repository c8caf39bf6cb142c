// Apache argument values to config values: On/Off, numbers, and durations with httpd's units.

/** `On`/`Off` in any case; undefined for anything else (httpd refuses anything else too). */
export function onOff(s: string): boolean | undefined {
  const v = s.toLowerCase();
  if (v === 'on') return true;
  if (v === 'off') return false;
  return undefined;
}

export function integer(s: string): number | undefined {
  return /^[+-]?\d+$/.test(s) ? Number(s) : undefined;
}

export function decimal(s: string): number | undefined {
  return /^[+-]?(\d+(\.\d*)?|\.\d+)$/.test(s) ? Number(s) : undefined;
}

/**
 * A duration with httpd's units (`ms`, `s`, `mi`/`min`, `h`/`hr`; plain numbers are seconds)
 * in the schema's form: plain seconds stay numbers, others become "500ms", "5m", "1h".
 */
export function duration(s: string): number | string | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|mi|min|m|h|hr)?$/i.exec(s.trim());
  if (!m) return undefined;
  const n = m[1];
  const unit = (m[2] ?? 's').toLowerCase();
  if (unit === 's') return Number(n);
  if (unit === 'ms') return `${n}ms`;
  if (unit === 'h' || unit === 'hr') return `${n}h`;
  return `${n}m`;
}
