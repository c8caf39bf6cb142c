// The parsed form of an Apache config: a directive or section with its file:line. Types only, so
// the parser, the directive table and the readers share it without importing each other.
export interface Directive {
  /** Canonical name when the directive or section is known, else as written. */
  name: string;
  args: string[];
  /** The argument text as written (for directives such as ProxyHCExpr that take raw text). */
  rest: string;
  file: string;
  line: number;
  /** Present for sections. */
  children?: Directive[];
  /** For sections: the line of the closing tag, or the last line that belonged to it. */
  endLine?: number;
  /** For sections: true when the closing tag was missing. */
  unclosed?: boolean;
}
