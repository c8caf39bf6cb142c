// The manager page's only script: polls the JSON API and refreshes the figures in place (no full
// reload, so a half-filled form survives), refreshes the cards other plugins add (the rolling
// restart) unless someone is filling in their form, and draws the live charts as inline SVG from
// the last 15 minutes the API keeps. Values are written with textContent only, cards from the
// server's own escaped HTML. Its hash goes into the Content-Security-Policy, so no other script
// can run on the page.
export const PAGE_SCRIPT = `
(function () {
  'use strict';
  var api = document.body.getAttribute('data-api');
  var stamp = document.getElementById('refreshed');
  if (!api || !window.fetch) return;
  var CLASSES = { 'Ok': 'ok', 'Drain': 'drain', 'Standby': 'standby', 'Spare': 'spare', 'Disabled': 'disabled',
    'Stopped': 'stopped', 'Error': 'error', 'Health check failed': 'hc', 'Ignore errors': 'ignore' };
  function bytes(n) {
    if (n < 1024) return String(n);
    var u = ['K', 'M', 'G', 'T', 'P'], v = n / 1024, i = 0;
    while (v >= 1024 && i < u.length - 1) { v /= 1024; i++; }
    return (v < 10 ? v.toFixed(1) : String(Math.round(v))) + u[i];
  }
  function ms(n) {
    if (n < 1000) return Math.round(n) + 'ms';
    if (n < 60000) { var s = n / 1000; return (s % 1 === 0 ? String(s) : s.toFixed(1)) + 's'; }
    if (n < 3600000) { var m = Math.floor(n / 60000), r = Math.round((n % 60000) / 1000); return r ? m + 'm ' + r + 's' : m + 'm'; }
    var h = Math.floor(n / 3600000), q = Math.round((n % 3600000) / 60000);
    return q ? h + 'h ' + q + 'm' : h + 'h';
  }
  function put(row, field, text) {
    var el = row.querySelector('[data-f="' + field + '"]');
    if (el && el.textContent !== text) el.textContent = text;
    return el;
  }
  function badges(el, words) {
    if (!el || el.getAttribute('data-words') === words.join('|')) return;
    while (el.firstChild) el.removeChild(el.firstChild);
    words.forEach(function (w) {
      var s = document.createElement('span');
      s.className = 'st st-' + (CLASSES[w] || 'ignore');
      s.textContent = w;
      el.appendChild(s);
    });
    el.setAttribute('data-words', words.join('|'));
  }
  function routeBadge(el, m) {
    if (!el) return;
    var l = m.lastRouteMismatch, on = !!(l && l.active);
    var badge = el.querySelector('.st-route');
    if (!on) { if (badge) el.removeChild(badge); return; }
    if (!badge) {
      badge = document.createElement('span');
      badge.className = 'st st-route';
      badge.textContent = 'Route mismatch';
      el.appendChild(badge);
    }
    var where = (l.where === 'cookie' ? 'cookie ' : 'URL parameter ') + l.name;
    badge.title = 'This member ' + (l.issued ? 'issues session ids with route "' + l.issued + '" (' + where + '), not its own "' + l.expected + '"'
      : 'issues session ids without a route (' + where + '); its route is "' + l.expected + '"') + ': ' + m.routeMismatches +
      ' so far. Give the node its route (Seaside WAAdmin makeAllClusteredWith:, Tomcat jvmRoute, STICKYLB_ROUTE) or correct route= in the config.';
  }
  function update(view) {
    var changed = false;
    view.balancers.forEach(function (b) {
      var section = null;
      document.querySelectorAll('section[data-b]').forEach(function (s) { if (s.getAttribute('data-b') === b.name) section = s; });
      if (!section) { changed = true; return; }
      put(section, 'refused', String(b.refused));
      var rows = section.querySelectorAll('tr[data-m]');
      if (rows.length !== b.members.length) changed = true;
      b.members.forEach(function (m) {
        var row = null;
        rows.forEach(function (r) { if (r.getAttribute('data-m') === m.id) row = r; });
        if (!row) { changed = true; return; }
        put(row, 'route', m.route);
        put(row, 'redirect', m.redirect);
        put(row, 'lbfactor', m.lbfactor.toFixed(2));
        put(row, 'lbset', String(m.lbset));
        put(row, 'elected', String(m.elected));
        put(row, 'busy', String(m.busy));
        put(row, 'lbstatus', String(Math.round(m.lbstatus)));
        put(row, 'bytesTo', bytes(m.bytesTo));
        put(row, 'bytesFrom', bytes(m.bytesFrom));
        put(row, 'errors', String(m.errors));
        badges(row.querySelector('[data-f="status"]'), m.status);
        routeBadge(row.querySelector('[data-f="routecheck"]'), m);
        if (m.health && m.health.last) {
          var last = put(row, 'hclast', m.health.last + (m.health.lastDetail ? ' (' + m.health.lastDetail + ')' : ''));
          if (last) last.className = m.health.last;
          put(row, 'hcago', m.health.lastCheckAt ? ms(Math.max(0, view.now - m.health.lastCheckAt)) + ' ago' : '');
        }
      });
    });
    if (stamp) stamp.textContent = changed ? 'Members changed: reload the page to see them.' : 'Figures refreshed ' + new Date(view.now).toLocaleTimeString() + '.';
  }
  var PALETTE = ['#0b5cad', '#d1242f', '#1a7f37', '#8250df', '#bc4c00', '#0598bc', '#bf3989', '#57606a'];
  var SVGNS = 'http://www.w3.org/2000/svg';
  function svgEl(name, attrs) {
    var el = document.createElementNS(SVGNS, name);
    for (var k in attrs) el.setAttribute(k, String(attrs[k]));
    return el;
  }
  function niceMax(v) {
    if (!(v > 0)) return 1;
    var p = Math.pow(10, Math.floor(Math.log(v) / Math.LN10)), m = v / p;
    return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
  }
  function num(v) { return v >= 100 ? String(Math.round(v)) : v >= 10 ? v.toFixed(1) : String(Math.round(v * 100) / 100); }
  function drawCharts(h) {
    h.balancers.forEach(function (b) {
      var box = null;
      document.querySelectorAll('[data-charts]').forEach(function (c) { if (c.getAttribute('data-charts') === b.name) box = c; });
      if (!box) return;
      var points = 0;
      b.members.forEach(function (m) { points += m.points.length; });
      var note = box.querySelector('[data-f="charts-note"]');
      if (note) note.textContent = points ? 'one point every ' + ms(h.intervalMs) : 'collecting figures…';
      ['rps', 'eps', 'busy', 'sessions'].forEach(function (key) {
        var fig = box.querySelector('figure[data-series="' + key + '"]');
        if (!fig) return;
        var svg = fig.querySelector('svg');
        var seen = false, max = 0;
        b.members.forEach(function (m) {
          m.points.forEach(function (p) { if (typeof p[key] === 'number') { seen = true; if (p[key] > max) max = p[key]; } });
        });
        // Live sessions only where the application reports them.
        if (key === 'sessions') {
          if (!seen) { fig.setAttribute('hidden', ''); return; }
          fig.removeAttribute('hidden');
        }
        max = niceMax(max);
        while (svg.firstChild) svg.removeChild(svg.firstChild);
        [1, 45, 89].forEach(function (y) { svg.appendChild(svgEl('line', { x1: 0, x2: 300, y1: y, y2: y, 'class': 'grid' })); });
        b.members.forEach(function (m, i) {
          var pts = [];
          m.points.forEach(function (p) {
            if (typeof p[key] !== 'number') return;
            var x = 300 * (1 - (h.now - p.t) / h.windowMs);
            pts.push(x.toFixed(1) + ',' + (89 - 87 * p[key] / max).toFixed(1));
          });
          if (pts.length) svg.appendChild(svgEl('polyline', { points: pts.join(' '), fill: 'none', stroke: PALETTE[i % 8], 'stroke-width': 1.5, 'vector-effect': 'non-scaling-stroke', 'data-m': m.id }));
        });
        var cap = fig.querySelector('.max');
        if (cap) cap.textContent = 'scale ' + num(max);
      });
    });
  }
  // Cards added by plugins: replaced with their current HTML unless their form is being used.
  var sections = document.querySelectorAll('[data-section]');
  var touched = {}, shown = {};
  sections.forEach(function (box) {
    box.addEventListener('input', function () { touched[box.getAttribute('data-section')] = true; });
  });
  function refreshSections(d) {
    sections.forEach(function (box) {
      var i = box.getAttribute('data-section'), text = d.sections[Number(i)];
      if (typeof text !== 'string' || text === shown[i] || touched[i] || box.contains(document.activeElement)) return;
      var doc = new DOMParser().parseFromString(text, 'text/html');
      while (box.firstChild) box.removeChild(box.firstChild);
      while (doc.body.firstChild) box.appendChild(document.adoptNode(doc.body.firstChild));
      shown[i] = text;
    });
  }
  function get(url) {
    return fetch(url, { headers: { Accept: 'application/json' }, credentials: 'same-origin', cache: 'no-store' })
      .then(function (r) { if (!r.ok) throw new Error('HTTP ' + r.status); return r.json(); });
  }
  var historyAt = 0, historyEvery = 4000;
  function tick() {
    if (document.hidden) return;
    get(api).then(update).catch(function (e) { if (stamp) stamp.textContent = 'Refresh failed: ' + e.message; });
    if (sections.length) get(api + '/sections').then(refreshSections).catch(function () {});
    if (Date.now() - historyAt >= historyEvery) {
      historyAt = Date.now();
      get(api + '/history').then(function (h) {
        historyEvery = Math.max(1000, Math.min(h.intervalMs, 10000));
        drawCharts(h);
      }).catch(function () {});
    }
  }
  tick();
  setInterval(tick, 2000);
})();
`;
