/* The dashboard's charts (Apache ECharts, vendored). The numbers come from the page's
   <script id="report-data" type="application/json">, the same ones as the tables under each
   chart; without JavaScript the tables are all there is. */
(function () {
  "use strict";

  var GREEN = "#2e9e44", YELLOW = "#f0b400", RED = "#d62d20", BLUE = "#1a5fb4";
  var FONT = '-apple-system, "Segoe UI", "PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", sans-serif';

  function percentAxis() {
    return { type: "value", min: 0, max: 100, axisLabel: { formatter: "{value}%" } };
  }

  function hex(color, alpha) {
    var n = parseInt(color.slice(1), 16);
    return "rgba(" + (n >> 16) + "," + ((n >> 8) & 255) + "," + (n & 255) + "," + alpha + ")";
  }

  // a chart with nothing to show stays undrawn: its table says so in words
  var hasData = {
    trend: function (d) { return d.labels.length > 0; },
    rates: function (d) { return d.values.some(function (v) { return v !== null; }); },
    categories: function (d) { return d.values.length > 0; },
    lights: function (d) { return d.units.length > 0; },
    ranks: function (d) { return d.best.length + d.worst.length > 0; }
  };

  var builders = {
    trend: function (d) {
      return {
        color: [BLUE, GREEN, RED],
        tooltip: { trigger: "axis" },
        legend: { top: 0 },
        grid: { left: 48, right: 16, top: 36, bottom: 48 },
        xAxis: { type: "category", data: d.labels, axisLabel: { hideOverlap: true } },
        yAxis: { type: "value", minInterval: 1 },
        series: d.series.map(function (s) {
          return { name: s.name, type: "line", showSymbol: d.labels.length <= 31, data: s.data };
        })
      };
    },
    rates: function (d) {
      return {
        tooltip: { trigger: "axis", valueFormatter: function (v) { return v == null ? "—" : v + "%"; } },
        grid: { left: 80, right: 40, top: 10, bottom: 24 },
        xAxis: percentAxis(),
        yAxis: { type: "category", data: d.labels, inverse: true },
        series: [{ type: "bar", barMaxWidth: 24, data: d.values, itemStyle: { color: BLUE },
                   label: { show: true, position: "right", formatter: function (p) { return p.value == null ? "—" : p.value + "%"; } } }]
      };
    },
    categories: function (d) {
      return {
        tooltip: { trigger: "axis" },
        grid: { left: 110, right: 40, top: 10, bottom: 24 },
        xAxis: { type: "value", minInterval: 1 },
        yAxis: { type: "category", data: d.labels, inverse: true, axisLabel: { width: 100, overflow: "truncate" } },
        series: [{ type: "bar", barMaxWidth: 24, data: d.values, itemStyle: { color: "#a93226" }, label: { show: true, position: "right" } }]
      };
    },
    lights: function (d) {
      // a heat grid: each column in its light's colour, darker for more demands
      var colors = [GREEN, YELLOW, RED], max = [1, 1, 1], data = [];
      d.values.forEach(function (row) { row.forEach(function (v, j) { max[j] = Math.max(max[j], v); }); });
      d.values.forEach(function (row, i) {
        row.forEach(function (v, j) {
          data.push({ value: [j, i, v], itemStyle: { color: v ? hex(colors[j], 0.25 + 0.75 * v / max[j]) : "#f5f7fa" } });
        });
      });
      return {
        tooltip: { formatter: function (p) { return d.units[p.value[1]] + " · " + d.columns[p.value[0]] + "：" + p.value[2]; } },
        grid: { left: 140, right: 16, top: 28, bottom: 8 },
        xAxis: { type: "category", data: d.columns, position: "top", splitArea: { show: true } },
        yAxis: { type: "category", data: d.units, inverse: true, axisLabel: { width: 130, overflow: "truncate" } },
        series: [{ type: "heatmap", data: data, label: { show: true, color: "#1f2933" },
                   itemStyle: { borderColor: "#fff", borderWidth: 1 } }]
      };
    },
    ranks: function (d) {
      var names = [], values = [];
      d.best.forEach(function (r) { names.push(r.name); values.push({ value: r.value, itemStyle: { color: GREEN } }); });
      d.worst.forEach(function (r) { names.push(r.name); values.push({ value: r.value, itemStyle: { color: RED } }); });
      return {
        tooltip: { trigger: "axis", valueFormatter: function (v) { return v == null ? "—" : v + "%"; } },
        grid: { left: 140, right: 48, top: 10, bottom: 24 },
        xAxis: percentAxis(),
        yAxis: { type: "category", data: names, inverse: true, axisLabel: { width: 130, overflow: "truncate" } },
        series: [{ name: d.metric, type: "bar", barMaxWidth: 24, data: values,
                   label: { show: true, position: "right", formatter: function (p) { return p.value == null ? "—" : p.value + "%"; } } }]
      };
    }
  };

  function draw() {
    var source = document.getElementById("report-data");
    if (!source || typeof window.echarts === "undefined") { return; }
    var data = JSON.parse(source.textContent), charts = [];
    document.querySelectorAll(".chart[data-chart]").forEach(function (el) {
      var build = builders[el.dataset.chart];
      var d = data[el.dataset.chart];
      if (!build || !d || !hasData[el.dataset.chart](d)) { return; }
      el.classList.add("drawn");  // gives the box its height before ECharts measures it
      var chart = window.echarts.init(el, null, { renderer: "canvas" });
      var option = build(d);
      option.textStyle = { fontFamily: FONT };
      option.animation = false;
      chart.setOption(option);
      charts.push(chart);
      // the chart now carries the figures: fold its table (still one click away)
      var table = el.parentNode.querySelector("details.chart-table");
      if (table) { table.open = false; }
    });
    window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
