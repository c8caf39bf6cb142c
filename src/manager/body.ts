// Reading a small request body (forms and JSON for the manager), with a size limit.
import type { IncomingMessage } from 'node:http';

export class BodyError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

export function readBody(req: IncomingMessage, limit = 65_536): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new BodyError(`the request body is larger than ${limit} bytes`, 413));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', (e) => reject(new BodyError(`the request body could not be read (${e.message})`, 400)));
  });
}

/** A schema with zod's `safeParse` (the body modules load zod; this file does not). */
interface BodySchema<T> {
  safeParse(v: unknown): { success: true; data: T } | { success: false; error: { issues: readonly { path: readonly PropertyKey[]; message: string }[] } };
}

/**
 * Reads a small body, decodes it (JSON by default; an empty body is `{}`) and checks it against
 * `schema`: the data, or the status and message to answer with (413 too large, 400 not JSON or
 * not what the schema accepts, with every problem named).
 */
export async function checkedBody<T>(
  req: IncomingMessage,
  schema: BodySchema<T>,
  decode: (text: string) => unknown = (text) => (text ? JSON.parse(text) : {}),
): Promise<{ ok: true; data: T } | { ok: false; status: number; error: string }> {
  try {
    const parsed = schema.safeParse(decode(await readBody(req)));
    if (parsed.success) return { ok: true, data: parsed.data };
    return { ok: false, status: 400, error: parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ') };
  } catch (e) {
    return e instanceof BodyError ? { ok: false, status: e.status, error: e.message } : { ok: false, status: 400, error: 'the body must be JSON' };
  }
}
