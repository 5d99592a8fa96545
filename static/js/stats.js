// Draws the statistics charts from the JSON block #stats-data (no inline script: CSP).
(function () {
  "use strict";
  var block = document.getElementById("stats-data");
  if (!block || typeof echarts === "undefined") {
    return;
  }
  var data = JSON.parse(block.textContent);
  var FEN_PER_WAN = 1000000;
  var toWan = function (fen) { return fen / FEN_PER_WAN; };
  var names = {
    county: ["输出额（万元）", "吸纳额（万元）"],
    other: ["合同成交额（万元）", "技术交易额（万元）"]
  };
  document.querySelectorAll(".stats-chart").forEach(function (el) {
    var series = data[el.dataset.chart];
    if (!series || !series.labels.length) {
      return;
    }
    // Set through the CSSOM: style attributes are refused by the CSP.
    el.style.height = "320px";
    // A series may name its own two bars (the delivery chart: bounty, released).
    var legend = series.names ||
      names[el.dataset.chart === "county" ? "county" : "other"];
    var chart = echarts.init(el);
    chart.setOption({
      tooltip: { trigger: "axis" },
      legend: { data: legend },
      grid: { left: 60, right: 20, bottom: 60 },
      xAxis: { type: "category", data: series.labels, axisLabel: { rotate: 30 } },
      yAxis: { type: "value", name: "万元" },
      series: [
        { name: legend[0], type: "bar", data: series.amount.map(toWan) },
        { name: legend[1], type: "bar", data: series.tech.map(toWan) }
      ]
    });
    window.addEventListener("resize", function () { chart.resize(); });
  });
})();
