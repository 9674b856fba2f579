/**
 * The dashboard's script, served as `/assets/admin.js` (kept in a module: no build step). It only
 * enhances pages that work without it: the overview's charts (uPlot), the live preview of a
 * subscription's body while its form is edited, and copy buttons for secrets.
 */
export const SCRIPT = `(function () {
  'use strict';

  function text(el, value) { if (el) el.textContent = value; }

  // ---- charts ------------------------------------------------------------------------------
  var charts = [];

  function seriesOf(data) {
    var x = data.buckets.map(function (b) { return Math.round(b.start / 1000); });
    var pick = function (key) { return data.buckets.map(function (b) { return b[key]; }); };
    return {
      outcomes: [x, pick('succeeded'), pick('httpErrors'), pick('noResponse')],
      latency: [x, pick('p50'), pick('p95')]
    };
  }

  function widthOf(el) { return Math.max(280, Math.floor(el.getBoundingClientRect().width)); }

  // Times are UTC everywhere on the dashboard, the charts' axes too (24-hour clock).
  function utc(ts) { return window.uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'); }

  function makeChart(el, label, series, data) {
    var hourMinute = window.uPlot.fmtDate('{HH}:{mm}');
    var opts = {
      width: widthOf(el),
      height: 240,
      tzDate: utc,
      legend: { live: false },
      scales: { x: { time: true } },
      axes: [
        {
          stroke: '#4d5661',
          grid: { stroke: '#e4e7eb' },
          label: 'UTC',
          values: function (u, splits) { return splits.map(function (v) { return hourMinute(utc(v)); }); }
        },
        { stroke: '#4d5661', grid: { stroke: '#e4e7eb' }, label: label, size: 60 }
      ],
      series: [{ label: 'Time (UTC)' }].concat(series)
    };
    var chart = new window.uPlot(opts, data, el);
    charts.push({ chart: chart, el: el });
    return chart;
  }

  function setUpCharts() {
    var block = document.getElementById('overview-data');
    if (!block || typeof window.uPlot !== 'function') return;
    var data = JSON.parse(block.textContent || '{}');
    var outcomesEl = document.getElementById('chart-outcomes');
    var latencyEl = document.getElementById('chart-latency');
    if (!outcomesEl || !latencyEl) return;
    var s = seriesOf(data);
    outcomesEl.textContent = '';
    latencyEl.textContent = '';
    var perBucket = data.bucketLabel || 'per bucket';
    var outcomes = makeChart(outcomesEl, 'attempts ' + perBucket, [
      { label: 'Succeeded (2xx)', stroke: '#146c2e', fill: 'rgba(20,108,46,0.12)', width: 2 },
      { label: 'HTTP error', stroke: '#b3261e', width: 2 },
      { label: 'No response', stroke: '#7a4b00', width: 2, dash: [6, 4] }
    ], s.outcomes);
    var latency = makeChart(latencyEl, 'ms', [
      { label: 'p50', stroke: '#0a58ca', width: 2, spanGaps: false },
      { label: 'p95', stroke: '#6f42c1', width: 2, dash: [6, 4], spanGaps: false }
    ], s.latency);

    window.addEventListener('resize', function () {
      charts.forEach(function (c) { c.chart.setSize({ width: widthOf(c.el), height: 240 }); });
    });

    var url = block.getAttribute('data-refresh-url');
    if (url) {
      setInterval(function () {
        if (document.hidden) return;
        fetch(url, { credentials: 'same-origin', headers: { accept: 'application/json' } })
          .then(function (r) { return r.ok ? r.json() : null; })
          .then(function (next) {
            if (!next || !next.buckets) return;
            var n = seriesOf(next);
            outcomes.setData(n.outcomes);
            latency.setData(n.latency);
          })
          .catch(function () {});
      }, 30000);
    }
  }

  // ---- live preview of a subscription's body -----------------------------------------------
  function setUpPreview() {
    var form = document.querySelector('form[data-preview-url]');
    if (!form) return;
    var url = form.getAttribute('data-preview-url');
    var bodyEl = document.getElementById('preview-body');
    var problemEl = document.getElementById('preview-problem');
    var filterEl = document.getElementById('preview-filter');
    var eventEl = document.getElementById('preview-event');
    var sourceEl = document.getElementById('preview-source');
    var sources = {
      form: 'the sample data below',
      'stored event': 'the latest stored event of this type',
      none: 'empty data: no event of this type is stored yet'
    };
    var statusEl = document.getElementById('preview-status');
    var timer = null;
    var sequence = 0;

    function refresh() {
      var mine = ++sequence;
      var body = new URLSearchParams(new FormData(form));
      text(statusEl, 'Updating…');
      fetch(url, {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: body.toString()
      })
        .then(function (r) { return r.json(); })
        .then(function (result) {
          if (mine !== sequence) return;
          text(statusEl, '');
          text(eventEl, result.event || '');
          text(sourceEl, sources[result.sampleSource] || '');
          text(bodyEl, result.body || '');
          if (bodyEl) bodyEl.hidden = !result.body;
          text(problemEl, result.problem || '');
          if (problemEl) problemEl.hidden = !result.problem;
          text(filterEl, result.filter || '');
          if (filterEl) filterEl.hidden = !result.filter;
        })
        .catch(function () {
          if (mine === sequence) text(statusEl, 'The preview could not be updated.');
        });
    }

    function schedule() {
      if (timer) clearTimeout(timer);
      timer = setTimeout(refresh, 300);
    }
    form.addEventListener('input', schedule);
    form.addEventListener('change', schedule);
    var button = form.querySelector('button[value="preview"]');
    if (button) button.hidden = true;
  }

  // ---- copy buttons --------------------------------------------------------------------------
  function setUpCopy() {
    var buttons = document.querySelectorAll('button[data-copy]');
    Array.prototype.forEach.call(buttons, function (button) {
      if (!navigator.clipboard) return;
      button.hidden = false;
      button.addEventListener('click', function () {
        var source = document.getElementById(button.getAttribute('data-copy'));
        if (!source) return;
        navigator.clipboard.writeText(source.textContent || '').then(function () {
          button.textContent = 'Copied';
        }, function () {
          button.textContent = 'Copy failed: select the text instead';
        });
      });
    });
  }

  // A form that came back with errors: move focus to their summary, which links to each field.
  function focusErrors() {
    var summary = document.getElementById('error-summary');
    if (summary) summary.focus();
  }

  function start() {
    focusErrors();
    setUpCharts();
    setUpPreview();
    setUpCopy();
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
`
