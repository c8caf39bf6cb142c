// The manager's `?xml=1` view in Apache's layout (httpd 2.4's balancer_display_page), so tools
// that parse Apache's XML read ours. Every value is escaped, which Apache does only for some. Pure.
import { escapeHtml as esc } from '../../util/html.js';
import { formatFactor, rfc822 } from '../format.js';
import type { ManagerView } from './view.js';

export function renderXml(view: ManagerView): string {
  const out: string[] = [];
  const el = (indent: number, name: string, value: string | number) => out.push(`${' '.repeat(indent)}<httpd:${name}>${esc(String(value))}</httpd:${name}>`);
  out.push(`<?xml version='1.0' encoding='UTF-8' ?>`);
  out.push(`<httpd:manager xmlns:httpd='http://httpd.apache.org'>`);
  out.push('  <httpd:balancers>');
  for (const b of view.balancers) {
    out.push('    <httpd:balancer>');
    el(6, 'name', `balancer://${b.name}`);
    el(6, 'nonce', b.nonce);
    if (b.sticky) {
      el(6, 'stickysession', b.sticky.cookie ?? b.sticky.url ?? '');
      el(6, 'nofailover', b.nofailover ? 'On' : 'Off');
    }
    el(6, 'timeout', Math.floor(b.timeout));
    if (b.maxattemptsSet) el(6, 'maxattempts', b.maxattempts);
    el(6, 'lbmethod', b.lbmethod);
    if (b.sticky) el(6, 'scolonpathdelim', b.scolonpathdelim ? 'On' : 'Off');
    out.push('      <httpd:workers>');
    for (const m of b.members) {
      out.push('        <httpd:worker>');
      el(10, 'name', m.url);
      el(10, 'scheme', m.scheme);
      el(10, 'hostname', m.hostname);
      el(10, 'loadfactor', formatFactor(m.lbfactor));
      el(10, 'port', m.port);
      el(10, 'status', m.statusText);
      if (m.errorTime) el(10, 'error_time', rfc822(m.errorTime));
      el(10, 'retries', m.retries);
      el(10, 'lbstatus', Math.round(m.lbstatus));
      el(10, 'transferred', m.bytesTo);
      el(10, 'read', m.bytesFrom);
      el(10, 'elected', m.elected);
      el(10, 'route', m.route);
      el(10, 'redirect', m.redirect);
      el(10, 'busy', m.busy);
      el(10, 'lbset', m.lbset);
      if (m.health) {
        el(10, 'hcmethod', m.health.method);
        el(10, 'hcinterval', m.health.intervalMs);
        el(10, 'hcpasses', m.health.passes);
        el(10, 'hcfails', m.health.fails);
        el(10, 'hcuri', m.health.uri);
      }
      out.push('        </httpd:worker>');
    }
    out.push('      </httpd:workers>');
    out.push('    </httpd:balancer>');
  }
  out.push('  </httpd:balancers>');
  out.push('</httpd:manager>');
  return `${out.join('\n')}\n`;
}
