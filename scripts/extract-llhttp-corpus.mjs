#!/usr/bin/env node
// Turns llhttp's request test corpus (test/request/*.md of https://github.com/nodejs/llhttp)
// into test/fixtures/llhttp/requests.json, the data of test/integration/h1-llhttp-corpus.test.ts.
//
// The fixture in this repository was taken from llhttp commit
// 01e105a30fd06e248bc8ac73c4adb34a63d4114a (v9.4.2).
//
// Usage: node scripts/extract-llhttp-corpus.mjs <llhttp clone or git dir> [revision]
//   The revision defaults to the commit above; the files are read with `git show`.
//
// What is taken from each markdown case (a heading with an ```http and a ```log block):
// - The raw request. The corpus writes it with escapes that llhttp's test runner turns into
//   bytes: one trailing newline dropped, backslash-newline removed, every newline made CRLF,
//   then \r \n \t \f, \xHH (a run of hex digits), \NNN (octal) replaced in that order. The
//   runner hands the string to the parser as a command-line argument, so the bytes the parser
//   saw are the UTF-8 encoding of that string (which is what `raw` holds).
// - What llhttp reported, from the event log: every `off=N len=L span[kind]` line points at
//   bytes of the input, so method, target, header names and values, body and trailers are cut
//   out of the raw bytes (and checked against the quoted text of the log).
// Only the default strict request mode (`"type": "request"`, no harness option that changes the
// outcome) is kept; the other cases are listed under `skipped` with their mode.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const PINNED = '01e105a30fd06e248bc8ac73c4adb34a63d4114a';
const root = new URL('..', import.meta.url).pathname;
const OUT = join(root, 'test/fixtures/llhttp/requests.json');

const [src, rev = PINNED] = process.argv.slice(2);
if (!src) {
  console.error('usage: node scripts/extract-llhttp-corpus.mjs <llhttp clone or git dir> [revision]');
  process.exit(2);
}
const gitDir = existsSync(join(src, '.git')) ? join(src, '.git') : src;
const git = (...args) => execFileSync('git', [`--git-dir=${gitDir}`, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
const commit = git('rev-parse', `${rev}^{commit}`).trim();
const describe = (() => {
  try {
    return git('describe', '--tags', '--always', commit).trim();
  } catch {
    return commit.slice(0, 12);
  }
})();
const show = (path) => git('show', `${commit}:${path}`);

// ---- llhttp's error codes (names for the numbers in the logs) ----

const constants = show('src/llhttp/constants.ts');
const errorBlock = /export const ERROR = \{([\s\S]*?)\}/.exec(constants)?.[1] ?? '';
const ERROR_NAMES = new Map([...errorBlock.matchAll(/^\s*([A-Z0-9_]+):\s*(\d+),/gm)].map((m) => [Number(m[2]), `HPE_${m[1]}`]));
/** Codes with which llhttp stops after an accepted head for a protocol switch: not refusals. */
const PAUSE_CODES = new Set(['HPE_PAUSED', 'HPE_PAUSED_UPGRADE', 'HPE_PAUSED_H2_UPGRADE']);

// ---- Markdown: headings, metadata comments, fenced blocks ----

/** The cases of one markdown file: { name, line, path: [headings], meta, http, log }. */
function casesOf(file, text) {
  const lines = text.split('\n');
  const stack = []; // { depth, name, line, blocks: Map<info, {text, meta}[]> }
  const headings = [];
  let meta;
  const open = (depth, name, line) => {
    while (stack.length && stack[stack.length - 1].depth >= depth) stack.pop();
    const h = { depth, name, line, path: [...stack.map((s) => s.name), name], blocks: new Map() };
    stack.push(h);
    headings.push(h);
    meta = undefined;
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const fence = /^ {0,3}(`{3,}|~{3,})\s*([^`\s]*)/.exec(line);
    if (fence) {
      const marker = fence[1];
      const body = [];
      let j = i + 1;
      for (; j < lines.length; j++) {
        const close = new RegExp(`^ {0,3}${marker[0] === '`' ? '`' : '~'}{${marker.length},}\\s*$`);
        if (close.test(lines[j])) break;
        body.push(lines[j]);
      }
      // A fence's content is its lines, each with its newline.
      const content = body.map((l) => `${l}\n`).join('');
      if (stack.length > 1) {
        const cur = stack[stack.length - 1];
        const info = fence[2];
        if (!cur.blocks.has(info)) cur.blocks.set(info, []);
        cur.blocks.get(info).push({ text: content, meta, line: i + 1 });
        meta = undefined;
      }
      i = j;
      continue;
    }
    const atx = /^ {0,3}(#{1,6})(?:[ \t]+(.*?))?[ \t]*$/.exec(line);
    if (atx) {
      open(atx[1].length, (atx[2] ?? '').replace(/[ \t]+#+$/, ''), i + 1);
      continue;
    }
    const next = lines[i + 1];
    if (line.trim() !== '' && next !== undefined && /^ {0,3}(=+|-+)[ \t]*$/.test(next)) {
      open(next.trim()[0] === '=' ? 1 : 2, line.trim(), i + 1);
      i++;
      continue;
    }
    const m = /<!--\s+meta=(.*)\s+-->/.exec(line);
    if (m && stack.length >= 1) meta = JSON.parse(m[1]);
  }
  const out = [];
  for (const h of headings) {
    if (h.blocks.size === 0) continue;
    const http = h.blocks.get('http');
    const log = h.blocks.get('log');
    if (!http || !log || http.length !== 1 || log.length !== 1) throw new Error(`${file}:${h.line}: expected one http and one log block`);
    out.push({ file, line: h.line, path: h.path.slice(1), meta: http[0].meta ?? {}, http: http[0].text, log: log[0].text });
  }
  return out;
}

// ---- The raw bytes of a case ----

function rawBytes(input) {
  let s = input.replace(/\n$/, '');
  s = s.replace(/\\(\r\n|\r|\n)/g, '');
  s = s.replace(/\r\n|\r|\n/g, '\r\n');
  s = s.replace(/\\r/g, '\r');
  s = s.replace(/\\n/g, '\n');
  s = s.replace(/\\t/g, '\t');
  s = s.replace(/\\f/g, '\f');
  s = s.replace(/\\x([0-9a-fA-F]+)/g, (_, hex) => String.fromCharCode(parseInt(hex, 16)));
  s = s.replace(/\\([0-7]{1,3})/g, (_, oct) => String.fromCharCode(parseInt(oct, 8)));
  if (/\$\{.+?\}/.test(s)) throw new Error('inline JavaScript in a request is not supported');
  const b = Buffer.from(s, 'utf8');
  // The parser got the input as a C string: it ends at the first NUL.
  const nul = b.indexOf(0);
  return nul < 0 ? b : b.subarray(0, nul);
}

// ---- The log: what llhttp reported ----

const latin1 = (b) => b.toString('latin1');

function interpret(where, raw, logText) {
  const messages = [];
  let msg;
  let error = null;
  let header; // the header or trailer field being read
  let lastSpan = '';
  const lines = logText.replace(/\\t/g, '\t').replace(/\\f/g, '\f').split('\n').slice(0, -1);
  for (const line of lines) {
    const span = /^off=(\d+) len=(\d+) span\[([a-z_]+)\]=(?:"(.*)"|(cr|lf))$/s.exec(line);
    if (span) {
      const off = Number(span[1]);
      const len = Number(span[2]);
      const kind = span[3];
      const bytes = raw.subarray(off, off + len);
      if (bytes.length !== len) throw new Error(`${where}: span past the end of the input: ${line}`);
      const expected = span[5] === 'cr' ? '\r' : span[5] === 'lf' ? '\n' : span[4];
      if (bytes.toString('utf8') !== expected) throw new Error(`${where}: span does not match the input bytes: ${line}`);
      if (!msg) throw new Error(`${where}: span outside a message: ${line}`);
      switch (kind) {
        case 'method':
        case 'url':
        case 'protocol':
        case 'version':
          msg.parts[kind].push(bytes);
          if (kind === 'version') msg.requestLineEnd = off + len;
          break;
        case 'header_field':
          if (lastSpan !== 'header_field' || !header) {
            header = { name: [], value: [] };
            (msg.headersComplete ? msg.trailers : msg.headers).push(header);
          }
          header.name.push(bytes);
          break;
        case 'header_value':
          header.value.push(bytes);
          break;
        case 'body':
          msg.body.push(bytes);
          break;
        case 'chunk_extension_name':
        case 'chunk_extension_value':
          break;
        default:
          throw new Error(`${where}: unknown span ${kind}`);
      }
      lastSpan = kind;
      continue;
    }
    const ev = /^off=(\d+) (.*)$/.exec(line);
    if (!ev) throw new Error(`${where}: unexpected log line: ${line}`);
    const off = Number(ev[1]);
    const what = ev[2];
    lastSpan = '';
    if (what === 'message begin') {
      msg = { begin: off, parts: { method: [], url: [], protocol: [], version: [] }, headers: [], trailers: [], body: [], headersComplete: false, complete: false };
      messages.push(msg);
      header = undefined;
    } else if (what === 'header_value complete' || what === 'header_field complete') {
      if (what === 'header_value complete') header = undefined;
    } else if (what.startsWith('headers complete ')) {
      const m = /^headers complete method=(\d+) v=(\d+)\/(\d+) flags=([0-9a-f]+) content_length=(\d+)$/.exec(what);
      if (!m) throw new Error(`${where}: ${line}`);
      msg.headersComplete = true;
      msg.headEnd = off;
      msg.version = `${m[2]}.${m[3]}`;
      msg.flags = parseInt(m[4], 16);
      header = undefined;
    } else if (what === 'message complete') {
      msg.complete = true;
      msg.end = off;
    } else if (what.startsWith('error ')) {
      const m = /^error code=(\d+) reason="(.*)"$/.exec(what);
      if (!m) throw new Error(`${where}: ${line}`);
      const code = Number(m[1]);
      error = { code, name: ERROR_NAMES.get(code) ?? `HPE_${code}`, reason: m[2], offset: off };
    } else if (
      /^(method|url|protocol|version) complete$/.test(what) ||
      /^chunk header len=\d+$/.test(what) ||
      what === 'chunk complete' ||
      /^chunk_extension_(name|value) complete$/.test(what) ||
      what === 'reset'
    ) {
      // Structure only: the spans carry the content.
    } else {
      throw new Error(`${where}: unexpected event: ${line}`);
    }
  }
  const out = messages.map((m) => {
    const headers = m.headers.map((h) => [latin1(Buffer.concat(h.name)), latin1(Buffer.concat(h.value))]);
    const r = {
      method: latin1(Buffer.concat(m.parts.method)),
      url: latin1(Buffer.concat(m.parts.url)),
      protocol: latin1(Buffer.concat(m.parts.protocol)),
      version: m.version ?? null,
      headers,
      trailers: m.trailers.map((h) => [latin1(Buffer.concat(h.name)), latin1(Buffer.concat(h.value))]),
      body: Buffer.concat(m.body).toString('base64'),
      headersComplete: m.headersComplete,
      complete: m.complete,
      begin: m.begin,
    };
    if (m.headersComplete) r.headEnd = m.headEnd;
    if (m.complete) r.end = m.end;
    if (m.flags !== undefined) r.flags = m.flags;
    // Where a `Host: example` line can go when the message has none: just before the blank
    // line that ends its head (only where llhttp read the whole head and it ends in CRLF CRLF).
    if (m.headersComplete && !headers.some(([n]) => n.toLowerCase() === 'host') && latin1(raw.subarray(m.headEnd - 4, m.headEnd)).endsWith('\r\n\r\n')) {
      r.hostInsertAt = m.headEnd - 2;
    }
    return r;
  });
  let result;
  if (error && PAUSE_CODES.has(error.name)) result = 'upgrade';
  else if (error) result = 'refused';
  else if (out.length === 0 || !out[out.length - 1].complete) result = 'incomplete';
  else result = 'accepted';
  return { result, messages: out, error };
}

// ---- Modes ----

/** The mode of a case; 'request' is the default strict request mode, the one kept. */
function modeOf(meta) {
  const type = meta.type ?? 'none';
  if (type !== 'request') return type;
  if (meta.pause) return `request (pause=${meta.pause})`;
  if (meta.skipBody) return 'request (skipBody)';
  if (meta.skip) return 'request (skip)';
  return 'request';
}

// ---- Main ----

const files = git('ls-tree', '--name-only', commit, 'test/request/')
  .split('\n')
  .filter((f) => f.endsWith('.md'))
  .sort();
const cases = [];
const skipped = [];
const names = new Map();
for (const path of files) {
  const file = path.slice('test/request/'.length);
  for (const c of casesOf(file, show(path))) {
    let name = `${file} › ${c.path.join(' › ')}`;
    const seen = names.get(name) ?? 0;
    names.set(name, seen + 1);
    if (seen > 0) name += ` #${seen + 1}`;
    const mode = modeOf(c.meta);
    if (mode !== 'request') {
      skipped.push({ name, line: c.line, mode });
      continue;
    }
    const raw = rawBytes(c.http);
    const where = `${file}:${c.line}`;
    cases.push({ name, file, line: c.line, raw: raw.toString('base64'), ...interpret(where, raw, c.log) });
  }
}

const byMode = {};
for (const s of skipped) byMode[s.mode] = (byMode[s.mode] ?? 0) + 1;
const byResult = {};
for (const c of cases) byResult[c.result] = (byResult[c.result] ?? 0) + 1;

const fixture = {
  source: {
    repository: 'https://github.com/nodejs/llhttp',
    commit,
    describe,
    license: 'MIT (llhttp and its test corpus)',
    files,
    extractedBy: 'scripts/extract-llhttp-corpus.mjs',
  },
  format: {
    raw: 'base64 of the bytes llhttp parsed (the UTF-8 encoding of the unescaped markdown input)',
    strings: 'method, url, protocol, header names and values as latin1 text, one character per byte, exactly as llhttp delimited them (header values keep trailing white space, which llhttp leaves to the embedder)',
    body: 'base64 of the body bytes llhttp delivered (chunked bodies decoded)',
    result:
      'accepted: every message complete; refused: llhttp failed with `error` (messages complete before it were accepted); upgrade: llhttp stopped after an accepted head to switch protocols (CONNECT, Upgrade, the HTTP/2 preface); incomplete: llhttp waits for more bytes',
    offsets: 'begin, headEnd (after the blank line), end and hostInsertAt are byte offsets in raw',
  },
  counts: { total: cases.length + skipped.length, kept: cases.length, skipped: skipped.length, skippedByMode: byMode, keptByResult: byResult },
  skipped,
  cases,
};
mkdirSync(join(root, 'test/fixtures/llhttp'), { recursive: true });
writeFileSync(OUT, `${JSON.stringify(fixture, null, 1)}\n`);
console.log(`${OUT}: ${cases.length} cases kept, ${skipped.length} skipped (${JSON.stringify(byMode)}), results ${JSON.stringify(byResult)}`);
