import { test } from 'node:test';
import assert from 'node:assert/strict';
import { directiveLine, logicalLines, sectionTag, splitWords } from '../../src/config/apache/lexer.js';

test('apache lexer: comments and blank lines are dropped, lines keep their numbers', () => {
  const text = '# a comment\n\n  Listen 80\n\t# indented comment\nServerName x\n';
  assert.deepEqual(logicalLines(text), [
    { line: 3, text: 'Listen 80' },
    { line: 5, text: 'ServerName x' },
  ]);
});

test('apache lexer: a backslash at the very end joins the next line, numbered from the first', () => {
  const text = 'BalancerMember http://a:1 \\\n    route=x \\\n    loadfactor=2\nListen 80';
  assert.deepEqual(logicalLines(text), [
    { line: 1, text: 'BalancerMember http://a:1     route=x     loadfactor=2' },
    { line: 4, text: 'Listen 80' },
  ]);
});

test('apache lexer: a backslash followed by spaces, or a doubled one, does not continue the line', () => {
  assert.deepEqual(logicalLines('A x\\ \nB y'), [
    { line: 1, text: 'A x\\' },
    { line: 2, text: 'B y' },
  ]);
  assert.deepEqual(logicalLines('A x\\\\\nB y'), [
    { line: 1, text: 'A x\\\\' },
    { line: 2, text: 'B y' },
  ]);
});

test('apache lexer: a comment ending in a backslash swallows the next line, as in httpd', () => {
  assert.deepEqual(logicalLines('# note \\\nListen 80\nListen 81'), [{ line: 3, text: 'Listen 81' }]);
});

test('apache lexer: CRLF line ends and a byte order mark are accepted', () => {
  assert.deepEqual(logicalLines('\uFEFFListen 80\r\nListen 81\r\n'), [
    { line: 1, text: 'Listen 80' },
    { line: 2, text: 'Listen 81' },
  ]);
});

test('apache lexer: words split on white space; quotes keep spaces; escapes inside quotes', () => {
  assert.deepEqual(splitWords('a  b\tc'), { words: ['a', 'b', 'c'] });
  assert.deepEqual(splitWords('"%h %l \\"%r\\"" combined'), { words: ['%h %l "%r"', 'combined'] });
  assert.deepEqual(splitWords("'single quoted' x"), { words: ['single quoted', 'x'] });
  assert.deepEqual(splitWords('"" x'), { words: ['', 'x'] });
  // A quote inside a bare word stays, as httpd keeps it.
  assert.deepEqual(splitWords('key="a b"'), { words: ['key="a', 'b"'] });
});

test('apache lexer: an unterminated quote takes the rest of the line and is flagged', () => {
  assert.deepEqual(splitWords('"abc def'), { words: ['abc def'], unterminatedQuote: '"' });
});

test('apache lexer: section tags open and close, with or without the final ">"', () => {
  assert.deepEqual(sectionTag('<VirtualHost *:80>'), { close: false, name: 'VirtualHost', rest: '*:80', complete: true });
  assert.deepEqual(sectionTag('</VirtualHost>'), { close: true, name: 'VirtualHost', rest: '', complete: true });
  assert.deepEqual(sectionTag('<Location "/a b">'), { close: false, name: 'Location', rest: '"/a b"', complete: true });
  assert.deepEqual(sectionTag('<Proxy balancer://x'), { close: false, name: 'Proxy', rest: 'balancer://x', complete: false });
  assert.equal(sectionTag('ProxyPass / !'), undefined);
});

test('apache lexer: a directive line splits into name and argument text', () => {
  assert.deepEqual(directiveLine('ProxyHCExpr ok {%{REQUEST_STATUS} =~ /^2/}'), { name: 'ProxyHCExpr', rest: 'ok {%{REQUEST_STATUS} =~ /^2/}' });
  assert.deepEqual(directiveLine('ProxyRequests'), { name: 'ProxyRequests', rest: '' });
});
