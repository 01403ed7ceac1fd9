/* Draws the dashboard's charts from the figures the page carries (json_script). */
(function () {
  "use strict";
  var source = document.getElementById("figures");
  if (!source || !window.Chart) return;
  var data = JSON.parse(source.textContent);
  var labels = JSON.parse(document.getElementById("chart-labels").textContent);
  var palette = ["#2f6fb3", "#e07b39", "#3a8f3a", "#a04cc2", "#c9a227", "#5d6b7a", "#d1495b"];
  var channels = Object.keys(data.created);

  function stacked(key, series) {
    return {
      type: "bar",
      data: {
        labels: data.days,
        datasets: channels.map(function (c, i) {
          return { label: labels.channels[c] || c, data: series[c], backgroundColor: palette[i % palette.length], stack: key };
        })
      },
      options: { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } } }
    };
  }
  var charts = {
    created: function () { return stacked("in", data.created); },
    solved: function () { return stacked("solved", data.solved); },
    backlog: function () {
      var statuses = Object.keys(data.backlog.counts);
      return {
        type: "bar",
        data: {
          labels: data.backlog.ages.map(function (a) { return labels.ages[a] || a; }),
          datasets: statuses.map(function (s, i) {
            return { label: labels.statuses[s] || s, backgroundColor: palette[i % palette.length],
                     data: data.backlog.ages.map(function (a) { return data.backlog.counts[s][a]; }) };
          })
        },
        options: { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } } }
      };
    },
    sla: function () {
      return {
        data: {
          labels: data.weeks,
          datasets: [
            { type: "line", label: labels.fr_met, data: data.sla.fr_met_pct, borderColor: palette[0], yAxisID: "pct" },
            { type: "line", label: labels.res_met, data: data.sla.res_met_pct, borderColor: palette[2], yAxisID: "pct" },
            { type: "bar", label: labels.fr_breached, data: data.sla.fr_breached, backgroundColor: "#f2b8b5", yAxisID: "n" },
            { type: "bar", label: labels.res_breached, data: data.sla.res_breached, backgroundColor: "#d1495b", yAxisID: "n" }
          ]
        },
        options: { scales: { pct: { position: "left", min: 0, max: 100 }, n: { position: "right", beginAtZero: true, grid: { drawOnChartArea: false } } } }
      };
    },
    frt: function () {
      return {
        type: "line",
        data: { labels: data.weeks, datasets: [
          { label: labels.median, data: data.frt.median_hours, borderColor: palette[0] },
          { label: labels.p90, data: data.frt.p90_hours, borderColor: palette[1] }
        ] },
        options: { scales: { y: { beginAtZero: true } } }
      };
    },
    agents: function () {
      return {
        type: "bar",
        data: { labels: data.agents.names, datasets: [
          { label: labels.load, data: data.agents.load, backgroundColor: palette[1] },
          { label: labels.replies, data: data.agents.replies, backgroundColor: palette[0] },
          { label: labels.solved, data: data.agents.solved, backgroundColor: palette[2] }
        ] },
        options: { indexAxis: "y" }
      };
    },
    duplicates: function () {
      return {
        type: "line",
        data: { labels: data.days, datasets: [
          { label: labels.flagged, data: data.duplicates.flagged, borderColor: palette[4] },
          { label: labels.merged, data: data.duplicates.merged, borderColor: palette[3] }
        ] },
        options: { scales: { y: { beginAtZero: true } } }
      };
    },
    kb: function () {
      return {
        type: "bar",
        data: { labels: data.days, datasets: [
          { label: labels.kb_shown, data: data.kb.shown, backgroundColor: palette[0] },
          { label: labels.kb_yes, data: data.kb.helpful_yes, backgroundColor: palette[2] },
          { label: labels.kb_no, data: data.kb.helpful_no, backgroundColor: palette[6] },
          { type: "line", label: labels.kb_submitted, data: data.kb.submitted, borderColor: palette[1] }
        ] },
        options: { scales: { y: { beginAtZero: true } } }
      };
    },
    csat: function () {
      return {
        type: "bar",
        data: { labels: ["1", "2", "3", "4", "5"], datasets: [
          { label: labels.ratings, data: data.csat.by_score, backgroundColor: ["#d1495b", "#e07b39", "#c9a227", "#7fb069", "#3a8f3a"] }
        ] },
        options: { scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } }
      };
    }
  };
  Chart.defaults.animation = false;
  Chart.defaults.maintainAspectRatio = false;
  document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
    var build = charts[canvas.dataset.chart];
    if (build) new Chart(canvas, build());
  });
  document.documentElement.dataset.chartsReady = "1";
})();
