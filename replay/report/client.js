// fnwatch HTML report: draws the charts and tables from the JSON embedded in the page.
// Plain browser JavaScript, inlined by html.ts. Data only ever reaches the page through
// textContent and SVG attributes, never as markup.
(function () {
  'use strict';
  var D = JSON.parse(document.getElementById('fnwatch-data').textContent);
  var SVGNS = 'http://www.w3.org/2000/svg';
  var SEV = ['Unknown', 'Informational', 'Low', 'Medium', 'High', 'Critical', 'Fatal'];
  var SEV_COLOR = ['#8a8f98', '#8a8f98', '#3b82c4', '#d9a400', '#e0622a', '#b3122e', '#6b0a1c'];
  var FUNCTIONS_PAGE = 25;
  var ALERTS_PAGE = 200;
  var FLEET_MARKERS = 600;

  // ---------- small helpers ----------
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function sv(tag, attrs) {
    var e = document.createElementNS(SVGNS, tag);
    for (var k in attrs) e.setAttribute(k, String(attrs[k]));
    return e;
  }
  function pad(n) { return n < 10 ? '0' + n : '' + n; }
  var MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  function fmtTime(ms) {
    var d = new Date(ms);
    return d.getUTCFullYear() + '-' + pad(d.getUTCMonth() + 1) + '-' + pad(d.getUTCDate()) + ' ' +
      pad(d.getUTCHours()) + ':' + pad(d.getUTCMinutes()) + 'Z';
  }
  function fmtNum(x) {
    if (x === null || x === undefined || x !== x) return '—';
    var a = Math.abs(x);
    if (a >= 1e9) return (x / 1e9).toFixed(1) + 'G';
    if (a >= 1e6) return (x / 1e6).toFixed(1) + 'M';
    if (a >= 1e4) return (x / 1e3).toFixed(1) + 'k';
    if (a >= 100 || x === Math.round(x)) return Math.round(x).toLocaleString('en-US');
    if (a >= 10) return x.toFixed(0);
    if (a >= 1) return x.toFixed(1);
    if (a === 0) return '0';
    return x.toPrecision(2);
  }
  function fmtUsd(x) {
    if (x === null || x === undefined || x !== x) return '—';
    if (x >= 100) return '$' + Math.round(x).toLocaleString('en-US');
    if (x >= 1) return '$' + x.toFixed(2);
    if (x === 0) return '$0';
    return '$' + x.toPrecision(2);
  }
  function fmtMs(x) {
    if (x === null || x === undefined || x !== x) return '—';
    if (x >= 60000) return (x / 60000).toFixed(1) + ' min';
    if (x >= 1000) return (x / 1000).toFixed(x >= 10000 ? 0 : 1) + ' s';
    return (x >= 10 ? Math.round(x) : x.toFixed(1)) + ' ms';
  }
  function fmtSpan(ms) {
    if (ms >= 86400000) return (ms / 86400000).toFixed(ms % 86400000 ? 1 : 0) + ' d';
    if (ms >= 3600000) return (ms / 3600000).toFixed(ms % 3600000 ? 1 : 0) + ' h';
    return Math.round(ms / 60000) + ' min';
  }
  function binMs(b) {
    if (b === null || b === undefined) return null;
    return b <= 0 ? D.durationScale.base / 2 : D.durationScale.base * Math.pow(D.durationScale.factor, b - 0.5);
  }
  function sevChip(s) {
    var c = el('span', 'sev sev-' + s, SEV[s] || 'Other');
    return c;
  }
  var bucketLabel = fmtSpan(D.bucketMs);

  // ---------- charts ----------
  var W = 960, H = 170, ML = 64, MR = 14, MT = 10, MB = 24;
  var PW = W - ML - MR, PH = H - MT - MB;
  var T0 = D.start, TSPAN = Math.max(D.buckets, 1) * D.bucketMs;
  function xOf(t) { return ML + ((t - T0) / TSPAN) * PW; }

  function niceStep(range, n) {
    var raw = range / n;
    var p = Math.pow(10, Math.floor(Math.log10(raw)));
    var m = raw / p;
    return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
  }

  function timeTicks() {
    var steps = [3600000, 3 * 3600000, 6 * 3600000, 12 * 3600000, 86400000, 2 * 86400000, 7 * 86400000, 14 * 86400000, 28 * 86400000];
    var step = steps[steps.length - 1];
    for (var i = 0; i < steps.length; i++) if (TSPAN / steps[i] <= 9) { step = steps[i]; break; }
    if (TSPAN <= 2 * 3600000) step = TSPAN <= 3600000 ? 600000 : 1800000;
    var out = [];
    for (var t = Math.ceil(T0 / step) * step; t <= T0 + TSPAN; t += step) {
      var d = new Date(t);
      var label = step >= 86400000 || (d.getUTCHours() === 0 && d.getUTCMinutes() === 0)
        ? MONTHS[d.getUTCMonth()] + ' ' + d.getUTCDate()
        : pad(d.getUTCHours()) + ':' + pad(d.getUTCMinutes());
      out.push({ t: t, label: label });
    }
    return out;
  }
  var TICKS = timeTicks();

  /**
   * o: { title, unit, log, offset, n, fmt, lines: [{name, vals, color, cls}], band: {lo, hi, name},
   *      expected: vals, markers: [alert], shade: [{from, to, label}] }
   */
  function chart(o) {
    var box = el('div', 'chart-box');
    var head = el('div', 'chart-head');
    head.appendChild(el('span', 'chart-title', o.title));
    var legend = el('span', 'legend');
    o.lines.forEach(function (l) {
      var k = el('span', 'key');
      var sw = el('i', 'sw');
      sw.style.background = l.color;
      k.appendChild(sw);
      k.appendChild(document.createTextNode(l.name));
      legend.appendChild(k);
    });
    if (o.markers.length) {
      var km = el('span', 'key');
      km.appendChild(el('i', 'tri', '▼'));
      km.appendChild(document.createTextNode('finding (hover)'));
      legend.appendChild(km);
    }
    if (o.band) {
      var kb = el('span', 'key');
      kb.appendChild(el('i', 'sw band-sw'));
      kb.appendChild(document.createTextNode(o.band.name));
      legend.appendChild(kb);
    }
    head.appendChild(legend);
    box.appendChild(head);

    // A surge can flatten everything else: a log scale shows the baseline and the surge together.
    var current = null;
    function render() {
      var svg = build();
      if (current) box.replaceChild(svg, current); else box.appendChild(svg);
      current = svg;
    }
    if (o.logToggle) {
      var lt = el('label', 'logtoggle');
      var cb = el('input');
      cb.type = 'checkbox';
      cb.checked = !!o.log;
      cb.addEventListener('change', function () { o.log = cb.checked; hideTip(); render(); });
      lt.appendChild(cb);
      lt.appendChild(document.createTextNode('log'));
      legend.appendChild(lt);
    }
    render();
    return box;

    function build() {
      var svg = sv('svg', { viewBox: '0 0 ' + W + ' ' + H, class: 'chart', role: 'img', 'aria-label': o.title });
      svg.dataset.markers = String(o.markers.length);
      var tcenter = function (i) { return T0 + (o.offset + i + 0.5) * D.bucketMs; };

      // y range over everything drawn
      var lo = Infinity, hi = -Infinity;
      function scan(vals, floor) {
        if (!vals) return;
        for (var i = 0; i < vals.length; i++) {
          var v = vals[i];
          if (v === null || v !== v) continue;
          if (o.log && v <= floor) continue;
          if (v < lo) lo = v;
          if (v > hi) hi = v;
        }
      }
      o.lines.forEach(function (l) { scan(l.vals, 0); });
      if (o.band) scan(o.band.hi, 0);
      // On a log scale a band edge near zero would stretch the axis over empty decades: the
      // lower edge counts only within three decades of the top, and is clipped to the axis below.
      if (o.band) scan(o.band.lo, o.log ? hi / 1000 : 0);
      var y0, y1, yOf, ticks = [];
      if (o.log) {
        if (!(hi > 0)) { lo = 1; hi = 10; }
        y0 = Math.log10(lo / 1.4); y1 = Math.log10(hi * 1.4);
        if (y1 - y0 < 1) { y0 -= 0.5; y1 += 0.5; }
        // values at or below zero (a band's lower edge) sit on the axis
        yOf = function (v) { return Math.min(MT + PH, MT + PH - ((Math.log10(Math.max(v, 1e-12)) - y0) / (y1 - y0)) * PH); };
        var mults = y1 - y0 > 3 ? [1] : [1, 2, 5];
        for (var e = Math.floor(y0); e <= Math.ceil(y1); e++) {
          mults.forEach(function (m) {
            var v = m * Math.pow(10, e);
            var lv = Math.log10(v);
            if (lv >= y0 && lv <= y1) ticks.push(v);
          });
        }
      } else {
        if (!(hi > 0)) hi = 1;
        var step = niceStep(hi * 1.08, 4);
        y0 = 0; y1 = Math.ceil((hi * 1.08) / step) * step;
        yOf = function (v) { return MT + PH - (v / y1) * PH; };
        for (var tv = 0; tv <= y1 + step / 2; tv += step) ticks.push(tv);
      }

      // frame, grid, axes
      var grid = sv('g', { class: 'grid' });
      ticks.forEach(function (v) {
        var y = yOf(v);
        grid.appendChild(sv('line', { x1: ML, x2: ML + PW, y1: y, y2: y }));
        var lab = sv('text', { x: ML - 6, y: y + 4, 'text-anchor': 'end', class: 'ylab' });
        lab.textContent = o.fmt(v);
        grid.appendChild(lab);
      });
      TICKS.forEach(function (tk) {
        var x = xOf(tk.t);
        grid.appendChild(sv('line', { x1: x, x2: x, y1: MT, y2: MT + PH, class: 'vgrid' }));
        var lab = sv('text', { x: x, y: H - 6, 'text-anchor': 'middle', class: 'xlab' });
        lab.textContent = tk.label;
        grid.appendChild(lab);
      });
      svg.appendChild(grid);

      // learning period and other shaded spans
      (o.shade || []).forEach(function (s) {
        var a = Math.max(ML, xOf(s.from)), b = Math.min(ML + PW, xOf(s.to));
        if (b <= a) return;
        var r = sv('rect', { x: a, y: MT, width: b - a, height: PH, class: 'shade' });
        var tt = sv('title', {});
        tt.textContent = s.label;
        r.appendChild(tt);
        svg.appendChild(r);
        var lab = sv('text', { x: a + 4, y: MT + 12, class: 'shade-lab' });
        lab.textContent = s.label;
        svg.appendChild(lab);
      });

      // baseline band: one polygon per run of defined buckets
      if (o.band) {
        var d = '', run = [];
        var flush = function () {
          if (run.length === 0) return;
          // A lone bucket is drawn as wide as a bucket so it stays visible.
          var half = run.length === 1 ? (PW / TSPAN) * D.bucketMs / 2 : 0;
          var pts = [];
          run.forEach(function (i) {
            var x = xOf(tcenter(i));
            if (half) { pts.push([x - half, i]); pts.push([x + half, i]); } else pts.push([x, i]);
          });
          pts.forEach(function (p, j) { d += (j === 0 ? 'M' : 'L') + p[0].toFixed(1) + ' ' + yOf(o.band.hi[p[1]]).toFixed(1); });
          for (var j = pts.length - 1; j >= 0; j--) d += 'L' + pts[j][0].toFixed(1) + ' ' + yOf(o.band.lo[pts[j][1]]).toFixed(1);
          d += 'Z';
          run = [];
        };
        for (var bi = 0; bi < o.n; bi++) {
          var bh = o.band.hi[bi], bl = o.band.lo[bi];
          if (bh === null || bl === null || bh !== bh || bl !== bl) flush();
          else run.push(bi);
        }
        flush();
        if (d) svg.appendChild(sv('path', { d: d, class: 'band' }));
      }
      if (o.expected) svg.appendChild(sv('path', { d: linePath(o.expected), class: 'expected' }));

      function linePath(vals) {
        var p = '', pen = false;
        for (var i = 0; i < o.n; i++) {
          var v = vals[i];
          if (v === null || v === undefined || v !== v || (o.log && v <= 0)) { pen = false; continue; }
          p += (pen ? 'L' : 'M') + xOf(tcenter(i)).toFixed(1) + ' ' + yOf(v).toFixed(1);
          if (!pen && (i + 1 >= o.n || vals[i + 1] === null || vals[i + 1] === undefined)) p += 'l0 0';
          pen = true;
        }
        return p;
      }
      o.lines.forEach(function (l) {
        var path = sv('path', { d: linePath(l.vals), class: 'line ' + (l.cls || ''), stroke: l.color });
        svg.appendChild(path);
      });

      // hover read-out (below the markers so their tooltips still work)
      var guide = sv('line', { x1: 0, x2: 0, y1: MT, y2: MT + PH, class: 'guide', visibility: 'hidden' });
      svg.appendChild(guide);
      var hit = sv('rect', { x: ML, y: MT, width: PW, height: PH, class: 'hit' });
      svg.appendChild(hit);
      hit.addEventListener('mousemove', function (ev) {
        var r = svg.getBoundingClientRect();
        var x = ((ev.clientX - r.left) / r.width) * W;
        var t = T0 + ((x - ML) / PW) * TSPAN;
        var i = Math.floor((t - T0) / D.bucketMs) - o.offset;
        if (i < 0 || i >= o.n) { hideTip(); guide.setAttribute('visibility', 'hidden'); return; }
        var gx = xOf(tcenter(i));
        guide.setAttribute('x1', gx); guide.setAttribute('x2', gx); guide.setAttribute('visibility', 'visible');
        var rows = [fmtTime(T0 + (o.offset + i) * D.bucketMs) + ' (' + bucketLabel + ')'];
        o.lines.forEach(function (l) { rows.push(l.name + ': ' + o.fmt(l.vals[i])); });
        if (o.band) rows.push(o.band.name + ': ' + o.fmt(o.band.lo[i]) + ' – ' + o.fmt(o.band.hi[i]));
        showTip(ev.clientX, ev.clientY, rows);
      });
      hit.addEventListener('mouseleave', function () { hideTip(); guide.setAttribute('visibility', 'hidden'); });

      // alert markers, the most severe drawn last so it stays on top
      o.markers.slice().sort(function (a, b) { return a.severity - b.severity; }).forEach(function (a) {
        var x = xOf(a.time);
        if (x < ML - 1 || x > ML + PW + 1) return;
        var g = sv('g', { class: 'marker' });
        g.appendChild(sv('line', { x1: x, x2: x, y1: MT, y2: MT + PH, stroke: SEV_COLOR[a.severity] || '#555', class: 'mline' }));
        g.appendChild(sv('path', { d: 'M' + (x - 5) + ' ' + MT + 'L' + (x + 5) + ' ' + MT + 'L' + x + ' ' + (MT + 8) + 'Z', fill: SEV_COLOR[a.severity] || '#555' }));
        g.appendChild(sv('line', { x1: x, x2: x, y1: MT, y2: MT + PH, class: 'mhit' }));
        var tt = sv('title', {});
        tt.textContent = fmtTime(a.time) + ' · ' + (SEV[a.severity] || '') + ' · ' + a.kind + '\n' + a.desc;
        g.appendChild(tt);
        svg.appendChild(g);
      });
      return svg;
    }
  }

  var tip = el('div', 'tip');
  document.body.appendChild(tip);
  function showTip(x, y, rows) {
    tip.textContent = '';
    rows.forEach(function (r, i) { tip.appendChild(el('div', i === 0 ? 'tip-h' : '', r)); });
    tip.style.display = 'block';
    var w = tip.offsetWidth;
    tip.style.left = Math.min(x + 14, window.innerWidth - w - 8) + 'px';
    tip.style.top = (y + 14) + 'px';
  }
  function hideTip() { tip.style.display = 'none'; }

  // ---------- fleet ----------
  function drawFleet() {
    var host = document.getElementById('fleet');
    if (!host || D.buckets === 0) return;
    var markers = D.alerts.slice().sort(function (a, b) { return b.severity - a.severity || a.time - b.time; }).slice(0, FLEET_MARKERS);
    host.appendChild(chart({
      title: 'All functions: invocations and failures per ' + bucketLabel,
      fmt: fmtNum, logToggle: true, offset: 0, n: D.buckets, markers: markers,
      lines: [
        { name: 'invocations', vals: D.fleet.inv, color: '#2f6fb3' },
        { name: 'failed', vals: D.fleet.err, color: '#c62828', cls: 'thin' },
      ],
    }));
    if (D.alerts.length > FLEET_MARKERS) host.appendChild(el('p', 'note', 'Markers show the ' + FLEET_MARKERS + ' most severe of ' + D.alerts.length + ' findings.'));
  }

  // ---------- per function ----------
  function functionSection(f, idx) {
    var sec = el('section', 'fn');
    sec.id = 'fn-' + idx;
    var head = el('div', 'fn-head');
    head.appendChild(el('h3', '', f.name));
    head.appendChild(sevChip(f.maxSeverity));
    head.appendChild(el('span', 'muted', [f.account || 'account ?', f.region || 'region ?'].join(' · ')));
    sec.appendChild(head);

    var facts = [];
    if (f.charted) {
      facts.push(fmtNum(f.invocations) + ' invocations');
      facts.push((f.invocations ? ((100 * f.errors) / f.invocations).toFixed(f.errors && f.errors * 1000 < f.invocations ? 2 : 1) : '0') + '% failed');
      if (f.timeouts) facts.push(fmtNum(f.timeouts) + ' timeouts');
      facts.push('est. ' + fmtUsd(f.costUsd));
      if (f.memoryMB) facts.push(f.memoryMB + ' MB');
      if (f.version) facts.push('version ' + f.version);
      if (f.lastDeploy) facts.push('last deploy ' + fmtTime(f.lastDeploy.time));
    }
    facts.push(f.alerts.length + (f.alerts.length === 1 ? ' finding' : ' findings'));
    sec.appendChild(el('div', 'facts', facts.join(' · ')));

    if (!f.charted) {
      sec.appendChild(el('p', 'note', f.unchartedReason === 'chart-cap'
        ? 'Not charted: the report charts only the most severe functions; its findings are listed below.'
        : 'No series was kept for this function (the report keeps series for a bounded number of functions); its findings are listed below.'));
    } else if (f.inv.length === 0) {
      sec.appendChild(el('p', 'note', 'No invocations recorded for this function in this run.'));
    } else {
      if (f.trackedSince) sec.appendChild(el('p', 'note', 'Series from ' + fmtTime(f.trackedSince) + ' only: the function was first charted when it alerted.'));
      var n = f.inv.length;
      var markers = f.alerts.map(function (i) { return D.alerts[i]; });
      var shade = f.learningEnd > T0 ? [{ from: f.firstSeen, to: f.learningEnd, label: 'learning' }] : [];
      var disp = Math.max(1, f.dispersion);
      // Durations come as histogram bins: quantiles at the bins' middles, the band to their edges.
      var half = Math.sqrt(D.durationScale.factor);
      var p50 = f.p50.map(binMs), p95 = f.p95.map(binMs), b50 = f.b50.map(binMs), b99 = f.b99.map(binMs);
      var dlo = new Array(n), dhi = new Array(n);
      var lo = new Array(n), hi = new Array(n), clo = new Array(n), chi = new Array(n), ecost = new Array(n), expv = new Array(n);
      var gbs = (f.memoryMB || 128) / 1024 / 1000 * D.pricing.perGbSecondUsd;
      for (var i = 0; i < n; i++) {
        dlo[i] = b50[i] === null ? null : b50[i] / half;
        dhi[i] = b99[i] === null ? null : b99[i] * half;
        // The rate baseline is not trusted (nor used by the detectors) while the function is learning.
        var e = T0 + (f.offset + i + 1) * D.bucketMs <= f.learningEnd ? null : f.exp[i];
        expv[i] = e;
        if (e === null) { lo[i] = hi[i] = clo[i] = chi[i] = ecost[i] = null; continue; }
        var w = 2 * Math.sqrt(e * disp);
        lo[i] = Math.max(0, e - w); hi[i] = e + w;
        // Baseline cost: an invocation at the baseline median duration, so an attack's own
        // slow invocations do not raise the bar they are measured against.
        var usd = D.pricing.perRequestUsd + (b50[i] === null ? 0 : b50[i] * gbs);
        clo[i] = lo[i] * usd; chi[i] = hi[i] * usd; ecost[i] = e * usd;
      }
      var charts = el('div', 'charts');
      charts.appendChild(chart({
        title: 'Invocations per ' + bucketLabel, fmt: fmtNum, logToggle: true, offset: f.offset, n: n, markers: markers, shade: shade,
        lines: [{ name: 'invocations', vals: f.inv, color: '#2f6fb3' }, { name: 'failed', vals: f.err, color: '#c62828', cls: 'thin' }],
        band: { lo: lo, hi: hi, name: 'baseline ±2σ' }, expected: expv,
      }));
      charts.appendChild(chart({
        title: 'Duration (log scale)', fmt: fmtMs, log: true, offset: f.offset, n: n, markers: markers, shade: shade,
        lines: [{ name: 'p50', vals: p50, color: '#2f6fb3' }, { name: 'p95', vals: p95, color: '#7b3fb5', cls: 'thin' }],
        band: { lo: dlo, hi: dhi, name: 'baseline p50–p99' },
      }));
      charts.appendChild(chart({
        title: 'Estimated cost per ' + bucketLabel + ' (USD)', fmt: fmtUsd, logToggle: true, offset: f.offset, n: n, markers: markers, shade: shade,
        lines: [{ name: 'cost', vals: f.cost, color: '#c77700' }],
        band: { lo: clo, hi: chi, name: 'baseline ±2σ' }, expected: ecost,
      }));
      sec.appendChild(charts);
    }

    var t = el('table', 'mini');
    f.alerts.forEach(function (i) {
      var a = D.alerts[i];
      var tr = el('tr');
      tr.appendChild(el('td', 'nowrap', fmtTime(a.time)));
      var s = el('td'); s.appendChild(sevChip(a.severity)); tr.appendChild(s);
      tr.appendChild(el('td', 'nowrap', a.kind));
      tr.appendChild(el('td', 'desc', a.desc));
      t.appendChild(tr);
    });
    sec.appendChild(t);

    if (f.charted) {
      sec.appendChild(learnedList('Egress learned', f.egress, f.egressOverflow));
      sec.appendChild(learnedList('Resource actions learned', f.actions, 0));
      sec.appendChild(learnedList('Action + resource learned', f.resources, f.resourcesOverflow));
    }
    return sec;
  }

  function learnedList(label, items, overflow) {
    var d = el('details', 'learned');
    d.appendChild(el('summary', '', label + ' (' + items.length + (overflow ? ', +' + overflow + ' beyond the cap' : '') + ')'));
    if (items.length === 0) { d.appendChild(el('p', 'muted', 'none')); return d; }
    var t = el('table', 'mini');
    var h = el('tr');
    ['item', 'first seen', 'last seen', 'count'].forEach(function (c, i) { h.appendChild(el('th', i === 3 ? 'num' : '', c)); });
    t.appendChild(h);
    items.forEach(function (it) {
      var tr = el('tr');
      tr.appendChild(el('td', 'mono', it.item));
      tr.appendChild(el('td', 'nowrap', fmtTime(it.first)));
      tr.appendChild(el('td', 'nowrap', fmtTime(it.last)));
      tr.appendChild(el('td', 'num', fmtNum(it.count)));
      t.appendChild(tr);
    });
    d.appendChild(t);
    return d;
  }

  function drawFunctions() {
    var host = document.getElementById('functions');
    if (!host) return;
    if (D.functions.length === 0) { host.appendChild(el('p', 'muted', 'No function alerted.')); return; }
    var shown = 0;
    var more = el('button', 'more');
    function page() {
      var end = Math.min(D.functions.length, shown + FUNCTIONS_PAGE);
      for (; shown < end; shown++) host.insertBefore(functionSection(D.functions[shown], shown), more);
      more.textContent = 'Show ' + Math.min(FUNCTIONS_PAGE, D.functions.length - shown) + ' more of ' + (D.functions.length - shown) + ' remaining functions';
      more.style.display = shown < D.functions.length ? '' : 'none';
    }
    more.addEventListener('click', page);
    host.appendChild(more);
    page();
    return function reveal(idx) { while (shown <= idx && shown < D.functions.length) page(); };
  }

  // ---------- alerts table ----------
  function drawAlerts(revealFn) {
    var host = document.getElementById('alerts');
    if (!host) return;
    var fnIndex = {};
    D.functions.forEach(function (f, i) { f.alerts.forEach(function (a) { fnIndex[a] = i; }); });
    var rows = D.alerts.map(function (a, i) { return { a: a, i: i }; });

    var bar = el('div', 'filters');
    var q = el('input'); q.type = 'search'; q.placeholder = 'Filter: function, kind or text'; q.setAttribute('aria-label', 'filter alerts');
    var kind = el('select'); kind.setAttribute('aria-label', 'kind');
    kind.appendChild(new Option('all kinds', ''));
    Array.from(new Set(D.alerts.map(function (a) { return a.kind; }))).sort().forEach(function (k) { kind.appendChild(new Option(k, k)); });
    var sev = el('select'); sev.setAttribute('aria-label', 'minimum severity');
    sev.appendChild(new Option('any severity', '0'));
    for (var s = 2; s <= 5; s++) sev.appendChild(new Option(SEV[s] + ' and above', String(s)));
    var count = el('span', 'muted');
    bar.appendChild(q); bar.appendChild(kind); bar.appendChild(sev); bar.appendChild(count);
    host.appendChild(bar);

    var table = el('table', 'alerts');
    var thead = el('thead');
    var htr = el('tr');
    var cols = [
      { key: 'time', label: 'Time (UTC)', get: function (r) { return r.a.time; } },
      { key: 'severity', label: 'Severity', get: function (r) { return r.a.severity; } },
      { key: 'kind', label: 'Kind', get: function (r) { return r.a.kind; } },
      { key: 'name', label: 'Function', get: function (r) { return r.a.name; } },
      { key: 'desc', label: 'Explanation', get: function (r) { return r.a.desc; } },
    ];
    var sortKey = 'time', sortDir = 1;
    cols.forEach(function (c) {
      var th = el('th', 'sortable', c.label);
      th.dataset.key = c.key;
      th.addEventListener('click', function () {
        if (sortKey === c.key) sortDir = -sortDir; else { sortKey = c.key; sortDir = c.key === 'severity' ? -1 : 1; }
        render(true);
      });
      htr.appendChild(th);
    });
    thead.appendChild(htr);
    table.appendChild(thead);
    var tbody = el('tbody');
    table.appendChild(tbody);
    host.appendChild(table);
    var more = el('button', 'more');
    host.appendChild(more);

    var filtered = rows, limit = ALERTS_PAGE;
    function render(reset) {
      if (reset) limit = ALERTS_PAGE;
      var needle = q.value.trim().toLowerCase(), k = kind.value, minSev = +sev.value;
      filtered = rows.filter(function (r) {
        var a = r.a;
        if (k && a.kind !== k) return false;
        if (a.severity < minSev) return false;
        if (needle && (a.name + ' ' + a.kind + ' ' + a.desc + ' ' + a.title).toLowerCase().indexOf(needle) < 0) return false;
        return true;
      });
      var col = cols.filter(function (c) { return c.key === sortKey; })[0];
      filtered.sort(function (x, y) {
        var a = col.get(x), b = col.get(y);
        return (a < b ? -1 : a > b ? 1 : x.a.time - y.a.time) * sortDir;
      });
      Array.prototype.forEach.call(htr.children, function (th) {
        th.classList.toggle('asc', th.dataset.key === sortKey && sortDir > 0);
        th.classList.toggle('desc', th.dataset.key === sortKey && sortDir < 0);
      });
      tbody.textContent = '';
      var frag = document.createDocumentFragment();
      filtered.slice(0, limit).forEach(function (r) {
        var a = r.a;
        var tr = el('tr');
        tr.dataset.severity = String(a.severity);
        tr.appendChild(el('td', 'nowrap', fmtTime(a.time)));
        var s = el('td'); s.appendChild(sevChip(a.severity)); tr.appendChild(s);
        tr.appendChild(el('td', 'nowrap', a.kind));
        var fnTd = el('td', 'nowrap');
        var fi = fnIndex[r.i];
        if (fi !== undefined) {
          var link = el('a', '', a.name);
          link.href = '#fn-' + fi;
          link.addEventListener('click', function () { if (revealFn) revealFn(fi); });
          fnTd.appendChild(link);
        } else fnTd.textContent = a.name;
        tr.appendChild(fnTd);
        var d = el('td', 'desc', a.desc);
        if (a.updates) d.appendChild(el('span', 'muted', ' (+' + a.updates + ' update' + (a.updates === 1 ? '' : 's') + ')'));
        tr.appendChild(d);
        frag.appendChild(tr);
      });
      tbody.appendChild(frag);
      count.textContent = 'showing ' + Math.min(limit, filtered.length) + ' of ' + filtered.length + (filtered.length !== rows.length ? ' (of ' + rows.length + ')' : '') + ' findings';
      more.style.display = filtered.length > limit ? '' : 'none';
      more.textContent = 'Show ' + Math.min(ALERTS_PAGE, filtered.length - limit) + ' more';
    }
    more.addEventListener('click', function () { limit += ALERTS_PAGE; render(false); });
    q.addEventListener('input', function () { render(true); });
    kind.addEventListener('change', function () { render(true); });
    sev.addEventListener('change', function () { render(true); });
    render(true);
  }

  // ---------- biggest spenders ----------
  function drawTop() {
    var host = document.getElementById('top');
    if (!host || D.topFunctions.length === 0) return;
    var t = el('table', 'mini');
    var h = el('tr');
    ['function', 'invocations', 'failed', 'est. cost', 'findings'].forEach(function (c, i) { h.appendChild(el('th', i ? 'num' : '', c)); });
    t.appendChild(h);
    D.topFunctions.slice(0, 25).forEach(function (f) {
      var tr = el('tr');
      tr.appendChild(el('td', 'mono', f.name));
      tr.appendChild(el('td', 'num', fmtNum(f.invocations)));
      tr.appendChild(el('td', 'num', fmtNum(f.errors)));
      tr.appendChild(el('td', 'num', fmtUsd(f.costUsd)));
      tr.appendChild(el('td', 'num', f.alerts ? String(f.alerts) : ''));
      t.appendChild(tr);
    });
    host.appendChild(t);
  }

  drawFleet();
  var reveal = drawFunctions();
  drawAlerts(reveal);
  drawTop();
  document.body.dataset.ready = 'true';
})();
