// The managed certificates on server-status (mod_md's ?auto lines, an HTML table) and on the
// balancer-manager's card: every state, with the CA's error text escaped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ManagedCertificate } from '../../src/acme/renewer.js';
import { acmeManagerSection } from '../../src/acme/manager.js';
import { renderAuto } from '../../src/manager/status/status-auto.js';
import { renderStatusPage } from '../../src/manager/status/status-page.js';
import type { StatusView } from '../../src/manager/status/status-view.js';

const NOW = Date.UTC(2026, 5, 1, 12);
const DAY = 86_400_000;

const list: ManagedCertificate[] = [
  { name: 'a.example', names: ['a.example', 'www.a.example'], state: 'valid', temporary: false, notBefore: NOW - DAY, notAfter: NOW + 89 * DAY, issuer: 'CN=R11', renewAt: NOW + 59 * DAY, failures: 0, nextAttemptAt: NOW + 59 * DAY },
  { name: 'b.example', names: ['b.example'], state: 'error', temporary: true, notBefore: NOW, notAfter: NOW + 7 * DAY, failures: 2, lastError: 'Invalid response from http://b.example/<script>', nextAttemptAt: NOW + 120_000 },
  { name: 'c.example', names: ['c.example'], state: 'pending', temporary: true, notAfter: NOW + 7 * DAY, failures: 0 },
];

function view(certificates: ManagedCertificate[]): StatusView {
  return { serverName: 'lb', version: '1', now: NOW, startedAt: NOW - 1000, uptimeSeconds: 1, requests: 0, inFlight: 0, connections: 0, bytesIn: 0, bytesOut: 0, requestsPerSec: 0, bytesInPerSec: 0, bytesOutPerSec: 0, bytesPerReq: 0, certificates };
}

test('?auto: mod_md\'s totals, then one block per managed domain', () => {
  const auto = renderAuto(view(list));
  assert.match(auto, /^ManagedCertificatesTotal: 3\nManagedCertificatesOK: 1\nManagedCertificatesRenew: 1\nManagedCertificatesErrored: 1\nManagedCertificatesReady: 0$/m);
  assert.match(auto, /^ManagedCertificate\[1\]State: error$/m);
  assert.match(auto, /^ManagedCertificate\[1\]Temporary: yes$/m);
  assert.match(auto, /^ManagedCertificate\[1\]LastError: Invalid response from http:\/\/b\.example\/<script>$/m);
  assert.match(auto, /^ManagedCertificate\[0\]ValidUntil: 2026-08-29T12:00:00\.000Z$/m);
  assert.doesNotMatch(renderAuto(view([])), /ManagedCertificates/);
});

test('HTML: the table of server-status and the manager card escape what the CA said', () => {
  const page = renderStatusPage(view(list));
  assert.match(page, /<h2>Managed certificates<\/h2>/);
  assert.match(page, /<td>b\.example<\/td><td>b\.example<\/td><td>error<\/td><td>temporary \(self-signed\)<\/td>/);
  assert.ok(page.includes('http://b.example/&lt;script&gt;'));
  assert.ok(!page.includes('/<script>'));
  assert.doesNotMatch(renderStatusPage(view([])), /Managed certificates/);
  const card = acmeManagerSection(list, '/balancer-manager', NOW).value;
  assert.match(card, /<td>a\.example, www\.a\.example<\/td><td>valid<\/td><td>CN=R11<\/td><td>2026-08-29 12:00 \(in 89 days\)<\/td><td>in 59 days<\/td>/);
  assert.match(card, /<td>c\.example<\/td><td>pending<\/td><td>temporary \(self-signed\)<\/td>.*<td>under way<\/td>/);
  assert.ok(card.includes('&lt;script&gt;'));
  assert.equal(acmeManagerSection([], '/m').value, '');
});
