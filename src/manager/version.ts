// The package version, for page footers and `ServerVersion:`. Read once; works from src/ and dist/.
import { createRequire } from 'node:module';

let cached: string | undefined;

export function version(): string {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  for (const p of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = require(p) as { name?: string; version?: string };
      if (pkg.name === 'stickylb' && pkg.version) return (cached = pkg.version);
    } catch {
      // Try the next location.
    }
  }
  return (cached = '0.0.0');
}
