// The one directive table: every directive once, every supported one read somewhere, and the
// converter reading each directive through its entry.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { directiveTable } from '../../src/config/apache/directives.js';
import { isAccessDirective } from '../../src/config/apache/access.js';
import { isMdDirective } from '../../src/config/apache/md.js';
import { parseApacheConfig } from '../../src/config/apache/index.js';
import type { ConfigFs } from '../../src/config/apache/include.js';

const noFs: ConfigFs = { readFile: () => '', readdir: () => [], isDirectory: () => false, exists: () => false };

test('every directive has one entry', () => {
  const seen = new Set<string>();
  for (const d of directiveTable()) {
    assert.ok(!seen.has(d.name.toLowerCase()), `${d.name} has two entries`);
    seen.add(d.name.toLowerCase());
  }
});

test('every supported directive is read: by its entry, or it says where', () => {
  for (const d of directiveTable().filter((x) => x.kind === 'supported')) {
    assert.ok(d.usage, `${d.name} has no usage`);
    assert.ok(!!d.read !== !!d.readBy, `${d.name}: a reader or readBy, one of them`);
    if (d.readBy === 'section') assert.ok(isAccessDirective(d.name), `${d.name} is no access directive`);
    if (d.readBy === 'md') assert.ok(isMdDirective(d.name), `${d.name} is no mod_md directive`);
    if (d.readBy === 'parser') assert.ok(['Include', 'IncludeOptional', 'Define', 'UnDefine'].includes(d.name), `${d.name} is not read by the parser`);
  }
});

test('the converter knows every directive of the table (none is reported unknown)', () => {
  for (const d of directiveTable()) {
    const codes = parseApacheConfig(`${d.name} x\n`, 'a.conf', noFs, {}).diagnostics.map((x) => x.code);
    assert.ok(!codes.includes('unknown-directive'), `${d.name}: ${codes.join(', ')}`);
  }
});
