// Apache config text to a tree of directives and sections, each with file:line. Include and
// IncludeOptional are expanded in place. A section whose closing tag is missing is found where
// its contents stop fitting (a `ProxyRequests` inside `<Directory>`, a `<Location>` inside a
// `<Location>`, the end of the file) and reported with the line the closing tag belongs after.
import type { Diagnostic } from '../diagnostics.js';
import { directiveLine, logicalLines, sectionTag, splitWords } from './lexer.js';
import { describeContexts, directiveSpec, sectionSpec, type Context, type SectionSpec } from './directives.js';
import { resolveInclude, type ConfigFs } from './include.js';
import type { Directive } from './syntax.js';

export type { Directive } from './syntax.js';

export interface ParseOptions {
  fs: ConfigFs;
  /** Variables for ${NAME} besides those of Define (httpd uses its environment). */
  env?: Record<string, string | undefined>;
  /** Include nesting limit, against include loops. */
  maxDepth?: number;
}

export interface ParseResult {
  directives: Directive[];
  diagnostics: Diagnostic[];
  /** Every file read, the main one first. */
  files: string[];
}

interface Frame {
  node: Directive;
  spec: SectionSpec;
  ctx: Context;
  /** Last line that belongs to the section so far. */
  lastLine: number;
}

/** A section closed because its closing tag was missing, kept to refine the message later. */
interface AutoClosed {
  frame: Frame;
  depth: number;
  diagnostic: Diagnostic;
  trigger: { line: number; what: string };
}

const RECOVERABLE: readonly Context[] = ['directory', 'location', 'proxy', 'files'];

function tagOf(node: Directive): string {
  return `<${node.name}${node.args.length ? ` ${node.args.join(' ')}` : ''}>`;
}

class FileParser {
  private readonly stack: Frame[] = [];
  private readonly autoClosed: AutoClosed[] = [];
  private lastLine = 0;

  constructor(
    private readonly file: string,
    private readonly baseCtx: Context,
    private readonly base: Directive[],
    private readonly state: ParserState,
    private readonly chain: string[],
  ) {}

  private get ctx(): Context {
    return this.stack.length ? this.stack[this.stack.length - 1].ctx : this.baseCtx;
  }

  private get container(): Directive[] {
    return this.stack.length ? this.stack[this.stack.length - 1].node.children! : this.base;
  }

  private error(line: number, directive: string | undefined, message: string, code?: string): Diagnostic {
    const d: Diagnostic = { severity: 'error', file: this.file, line, directive, message, code };
    this.state.diagnostics.push(d);
    return d;
  }

  private touch(line: number): void {
    this.lastLine = Math.max(this.lastLine, line);
    for (const f of this.stack) f.lastLine = Math.max(f.lastLine, line);
  }

  private pop(): Frame {
    const f = this.stack.pop()!;
    f.node.endLine ??= f.lastLine;
    return f;
  }

  /** Closes sections whose closing tag is missing, reporting where it belongs. */
  private closeMissing(count: number, trigger: { line: number; what: string } | undefined, byCloseTag = false): void {
    for (let i = 0; i < count; i++) {
      const depth = this.stack.length - 1;
      const f = this.pop();
      f.node.unclosed = true;
      const where = trigger
        ? `add </${f.node.name}> after line ${f.lastLine} (line ${trigger.line}: ${trigger.what})`
        : `add </${f.node.name}> after line ${f.lastLine}, at the end of the file`;
      const d = this.error(f.node.line, f.node.name, `${tagOf(f.node)} is not closed: ${where}`, 'unclosed-section');
      if (trigger && !byCloseTag) this.autoClosed.push({ frame: f, depth, diagnostic: d, trigger });
    }
  }

  /**
   * Makes sure something allowed in `contexts` can go here: closes sections that cannot hold
   * it and whose closing tag must therefore be missing. Returns false when it does not fit.
   */
  private makeRoom(contexts: readonly Context[] | undefined, trigger: { line: number; what: string }, vhostClosable = false): boolean {
    if (!contexts || contexts.includes(this.ctx)) return true;
    for (let i = this.stack.length - 1; i >= 0; i--) {
      const f = this.stack[i];
      const closable = RECOVERABLE.includes(f.spec.opens as Context) || (vhostClosable && f.spec.opens === 'vhost');
      if (!closable) return false;
      const below = i > 0 ? this.stack[i - 1].ctx : this.baseCtx;
      if (contexts.includes(below)) {
        this.closeMissing(this.stack.length - i, trigger);
        return true;
      }
    }
    return false;
  }

  private contextError(line: number, name: string, contexts: readonly Context[]): void {
    const here = this.stack.length ? `<${this.stack[this.stack.length - 1].node.name}>` : describeContexts([this.ctx]);
    this.error(line, name, `${name} cannot be used inside ${here} (allowed in ${describeContexts(contexts)})`, 'wrong-context');
  }

  parse(text: string): void {
    for (const { line, text: t } of logicalLines(text)) {
      const tag = sectionTag(t);
      if (tag?.close) this.closeTag(tag.name, line);
      else if (tag) this.openTag(tag.name, tag.rest, tag.complete, line);
      else this.directive(t, line);
    }
    this.closeMissing(this.stack.length, undefined);
  }

  private openTag(written: string, unexpanded: string, complete: boolean, line: number): void {
    const known = sectionSpec(written);
    const spec: SectionSpec = known ?? { name: written, opens: 'transparent', contexts: [], closable: false, usage: `<${written} …> … </${written}>` };
    const rest = this.expand(unexpanded, line, spec.name);
    const words = splitWords(rest);
    const node: Directive = { name: spec.name, args: words.words, rest, file: this.file, line, children: [] };
    if (!complete) this.error(line, spec.name, `<${spec.name}${rest ? ` ${rest}` : ''}: missing ">" at the end of the line (expected ${spec.usage})`, 'syntax');
    if (known) {
      const fits = this.makeRoom(spec.contexts, { line, what: `<${spec.name}> cannot be used inside <${this.stack[this.stack.length - 1]?.node.name}>` }, spec.opens === 'vhost');
      if (!fits) this.contextError(line, `<${spec.name}>`, spec.contexts);
    }
    this.touch(line);
    this.container.push(node);
    const ctx = spec.opens === 'transparent' ? this.ctx : spec.opens;
    this.stack.push({ node, spec, ctx, lastLine: line });
  }

  private closeTag(written: string, line: number): void {
    const key = written.toLowerCase();
    let at = -1;
    for (let i = this.stack.length - 1; i >= 0; i--) {
      if (this.stack[i].node.name.toLowerCase() === key) {
        at = i;
        break;
      }
    }
    if (at < 0) {
      // A close tag for a section closed earlier because something in it did not fit: the
      // tag was there after all, so the real problem is the line that did not fit.
      const depth = this.stack.length;
      const prior = [...this.autoClosed].reverse().find((a) => a.frame.node.name.toLowerCase() === key && a.depth === depth);
      if (prior) {
        const f = prior.frame;
        prior.diagnostic.line = prior.trigger.line;
        prior.diagnostic.code = 'wrong-context';
        prior.diagnostic.message = `${prior.trigger.what} (${tagOf(f.node)} runs from line ${f.node.line} to line ${line}); move it out of the section`;
        f.node.unclosed = false;
        this.autoClosed.splice(this.autoClosed.indexOf(prior), 1);
        return;
      }
      const open = this.stack.length ? ` (open here: ${tagOf(this.stack[this.stack.length - 1].node)} from line ${this.stack[this.stack.length - 1].node.line})` : '';
      this.error(line, `</${written}>`, `</${written}> has no matching <${written}>${open}`, 'unmatched-close');
      return;
    }
    if (at < this.stack.length - 1) this.closeMissing(this.stack.length - 1 - at, { line, what: `</${written}> comes first` }, true);
    this.touch(line);
    const f = this.pop();
    f.node.endLine = line;
  }

  /**
   * Replaces ${NAME} with a Define'd value or an environment variable, as httpd does while
   * reading; an unknown name is left as it is, with a warning.
   */
  private expand(text: string, line: number, name: string): string {
    if (!text.includes('${')) return text;
    return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (whole, v: string) => {
      const value = this.state.defines.get(v) ?? this.state.env[v];
      if (value !== undefined) return value;
      this.state.diagnostics.push({
        severity: 'warning',
        file: this.file,
        line,
        directive: name,
        message: `${name}: \${${v}} is not defined (no Define ${v} before it and no such environment variable); left as it is`,
        code: 'undefined-variable',
      });
      return whole;
    });
  }

  private define(node: Directive): void {
    if (node.name === 'Define') {
      if (node.args.length < 1 || node.args.length > 2) this.error(node.line, node.name, 'Define: expected Define NAME [VALUE]', 'syntax');
      else this.state.defines.set(node.args[0], node.args[1] ?? '');
    } else if (node.args.length !== 1) {
      this.error(node.line, node.name, 'UnDefine: expected UnDefine NAME', 'syntax');
    } else {
      this.state.defines.delete(node.args[0]);
    }
  }

  private directive(text: string, line: number): void {
    const { name: written, rest: unexpanded } = directiveLine(text);
    const spec = directiveSpec(written);
    const name = spec?.name ?? written;
    const rest = this.expand(unexpanded, line, name);
    const words = splitWords(rest);
    if (words.unterminatedQuote) {
      this.error(line, name, `${name}: a ${words.unterminatedQuote} quote is not closed (expected ${spec?.usage ?? `${name} ARGUMENTS`})`, 'syntax');
    }
    if (spec?.contexts) {
      const fits = this.makeRoom(spec.contexts, { line, what: `${name} cannot be used inside <${this.stack[this.stack.length - 1]?.node.name}>` });
      if (!fits) this.contextError(line, name, spec.contexts);
    }
    this.touch(line);
    const node: Directive = { name, args: words.words, rest, file: this.file, line };
    if (name === 'Include' || name === 'IncludeOptional') {
      this.include(node);
      return;
    }
    if (name === 'Define' || name === 'UnDefine') {
      this.define(node);
      return;
    }
    this.container.push(node);
  }

  private include(node: Directive): void {
    const optional = node.name === 'IncludeOptional';
    if (node.args.length !== 1) {
      this.error(node.line, node.name, `${node.name}: expected one path (${node.name} FILE|DIRECTORY|WILDCARD)`, 'syntax');
      return;
    }
    const { files, problem } = resolveInclude(this.state.fs, node.args[0], this.file);
    if (problem && !optional) this.error(node.line, node.name, `${node.name} ${node.args[0]}: ${problem} (use IncludeOptional for files that may be missing)`, 'include');
    for (const f of files) {
      if (this.chain.includes(f)) {
        this.error(node.line, node.name, `${node.name} ${node.args[0]}: ${f} includes itself (through ${[...this.chain, f].join(' → ')})`, 'include');
        continue;
      }
      if (this.chain.length >= this.state.maxDepth) {
        this.error(node.line, node.name, `${node.name} ${node.args[0]}: includes nested deeper than ${this.state.maxDepth} files`, 'include');
        continue;
      }
      let text: string;
      try {
        text = this.state.fs.readFile(f);
      } catch (e) {
        this.error(node.line, node.name, `${node.name}: cannot read ${f} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, 'include');
        continue;
      }
      this.state.files.push(f);
      new FileParser(f, this.ctx, this.container, this.state, [...this.chain, f]).parse(text);
    }
  }
}

interface ParserState {
  fs: ConfigFs;
  env: Record<string, string | undefined>;
  defines: Map<string, string>;
  maxDepth: number;
  diagnostics: Diagnostic[];
  files: string[];
}

/** Parses a config file's text (and the files it includes) into directives. */
export function parseApache(text: string, file: string, opts: ParseOptions): ParseResult {
  const state: ParserState = { fs: opts.fs, env: opts.env ?? {}, defines: new Map(), maxDepth: opts.maxDepth ?? 32, diagnostics: [], files: [file] };
  const directives: Directive[] = [];
  new FileParser(file, 'main', directives, state, [file]).parse(text);
  return { directives, diagnostics: state.diagnostics, files: state.files };
}
