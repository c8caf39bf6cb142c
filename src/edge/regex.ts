// Apache writes <LocationMatch> and <ProxyMatch> in PCRE; stickylb matches with JavaScript
// regular expressions. Most patterns mean the same in both; these PCRE constructs do not (some
// are even valid JavaScript with another meaning, like \A, which is a plain "A" there), so a
// pattern using one is refused rather than matched differently. Pure.

const PCRE_ONLY: [RegExp, string][] = [
  [/\\[AZzGKRhHvV]/, 'PCRE escapes such as \\A, \\Z, \\z, \\G, \\K, \\R, \\h are not JavaScript'],
  [/\(\?[imsxJUX-]+\)/, 'inline flags such as (?i) are not JavaScript'],
  [/\(\?[imsx-]+:/, 'inline flag groups such as (?i:…) are not JavaScript in Node.js 20'],
  [/\(\?>/, 'atomic groups (?>…) are not JavaScript'],
  [/\(\?P[=>]/, 'Python-style named groups (?P…) are not JavaScript'],
  [/\(\?#/, 'comments (?#…) are not JavaScript'],
  [/\(\?\|/, 'branch reset groups (?|…) are not JavaScript'],
  [/\(\?[+-]?\d+\)|\(\?R\)|\(\?&/, 'recursion (?R), (?1), (?&name) is not JavaScript'],
  [/[*+?}]\+/, 'possessive quantifiers (*+, ++, ?+) are not JavaScript'],
  [/\[\[:[a-z]+:\]\]|\[[^\]]*\[:[a-z]+:\]/, 'POSIX classes such as [[:alpha:]] are not JavaScript'],
];

/** Why a PCRE pattern cannot be used as a JavaScript one, or undefined when it can. */
export function pcreProblem(src: string): string | undefined {
  for (const [re, why] of PCRE_ONLY) {
    if (!why) continue;
    if (re.test(src)) return why;
  }
  return undefined;
}
