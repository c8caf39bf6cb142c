// Apache httpd config text to logical lines and words, the way httpd's own reader does it:
// `\` at the very end of a line joins the next one, lines starting with `#` are comments, and
// words are split on white space with "double" or 'single' quotes keeping spaces together.

/** One logical line: continuation lines already joined, surrounding white space trimmed. */
export interface LogicalLine {
  /** 1-based number of the physical line the logical line starts on. */
  line: number;
  text: string;
}

/**
 * Splits config text into logical lines. A line continues when its last character is a
 * backslash (httpd ignores a backslash followed by white space, so do we). Comments and blank
 * lines are dropped; a comment that ends in a backslash swallows the next line, as in httpd.
 */
export function logicalLines(text: string): LogicalLine[] {
  const physical = text.replace(/^\uFEFF/, '').split(/\r?\n|\r/);
  const out: LogicalLine[] = [];
  let start = 0;
  let buf: string | undefined;
  for (let i = 0; i < physical.length; i++) {
    const raw = physical[i];
    if (buf === undefined) start = i + 1;
    const continues = raw.endsWith('\\') && !raw.endsWith('\\\\');
    const piece = continues ? raw.slice(0, -1) : raw;
    buf = buf === undefined ? piece : buf + piece;
    if (continues && i < physical.length - 1) continue;
    const trimmed = buf.trim();
    buf = undefined;
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    out.push({ line: start, text: trimmed });
  }
  return out;
}

export interface Words {
  words: string[];
  /** Set when a quote was opened and never closed (the rest of the line became the word). */
  unterminatedQuote?: string;
}

/**
 * Splits a directive's arguments into words. A word starting with a quote runs to the matching
 * quote; inside it a backslash escapes that quote or a backslash. Quotes inside a bare word are
 * kept, as httpd keeps them (`key="a b"` is two words there too).
 */
export function splitWords(s: string): Words {
  const words: string[] = [];
  let i = 0;
  let unterminatedQuote: string | undefined;
  while (i < s.length) {
    while (i < s.length && /\s/.test(s[i])) i++;
    if (i >= s.length) break;
    const q = s[i];
    if (q === '"' || q === "'") {
      let word = '';
      let j = i + 1;
      let closed = false;
      while (j < s.length) {
        const c = s[j];
        if (c === '\\' && (s[j + 1] === q || s[j + 1] === '\\')) {
          word += s[j + 1];
          j += 2;
          continue;
        }
        if (c === q) {
          closed = true;
          j++;
          break;
        }
        word += c;
        j++;
      }
      if (!closed) unterminatedQuote = q;
      words.push(word);
      i = j;
    } else {
      let j = i;
      while (j < s.length && !/\s/.test(s[j])) j++;
      words.push(s.slice(i, j));
      i = j;
    }
  }
  return unterminatedQuote ? { words, unterminatedQuote } : { words };
}

/** A line that opens (`<Name args>`) or closes (`</Name>`) a section. */
export interface SectionTag {
  close: boolean;
  name: string;
  /** Text between the name and the final `>`. */
  rest: string;
  /** False when the closing `>` is missing. */
  complete: boolean;
}

/** Recognises a section tag, or returns undefined for an ordinary directive line. */
export function sectionTag(text: string): SectionTag | undefined {
  const m = /^<(\/?)([^\s>]+)(.*)$/.exec(text);
  if (!m) return undefined;
  let rest = m[3];
  const complete = rest.trimEnd().endsWith('>');
  if (complete) rest = rest.trimEnd().slice(0, -1);
  return { close: m[1] === '/', name: m[2], rest: rest.trim(), complete };
}

/** Splits a directive line into its name and the raw text of its arguments. */
export function directiveLine(text: string): { name: string; rest: string } {
  const m = /^(\S+)\s*(.*)$/.exec(text)!;
  return { name: m[1], rest: m[2] };
}
