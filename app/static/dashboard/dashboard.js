/* 报表: asks the server for each query's figures at once (one request each, answered in parallel), draws each
   chart as its figures arrive (titles and labels already in the reader's language) with the vendored ECharts,
   fills in the headline figures read from them, and opens the ticket list behind a bar or point when it is
   clicked. The charts drawn so far are in window.dashboardCharts, by key. */
(function () {
  "use strict";
  var source = document.getElementById("dashboard-data");
  if (!source || !window.echarts) { return; }
  var payload = JSON.parse(source.textContent);
  var locale = payload.locale === "en" ? "EN" : "ZH";
  var instances = [];

  var escape = window.echarts.format.encodeHTML;

  function valueText(value, unit) {
    if (value === null || value === undefined) { return "—"; }
    return unit === "%" ? value + "%" : unit === "h" ? value + " h" : String(value);
  }

  function tooltip(chart) {
    return {
      trigger: "axis",
      axisPointer: { type: chart.type === "line" ? "line" : "shadow" },
      // ECharts shows the tooltip as HTML: the names in it (teams, products, engineers) are people's text.
      formatter: function (items) {
        if (!items.length) { return ""; }
        var lines = [escape(items[0].axisValueLabel)];
        items.forEach(function (item) {
          var series = chart.series[item.seriesIndex];
          var text = item.marker + escape(series.name) + ": " + escape(valueText(item.value, series.unit));
          if (chart.breached) {  // SLA: the share, and how many tickets broke the deadline
            var key = ["response", "resolution"][item.seriesIndex];
            text += " (" + chart.breached[key][item.dataIndex] + " " + payload.labels.breached + ")";
          }
          lines.push(text);
        });
        lines.push("<span style='color:#999'>" + payload.labels.open + "</span>");
        return lines.join("<br>");
      }
    };
  }

  function option(chart) {
    var horizontal = chart.horizontal;
    var category = { type: "category", data: chart.categories, axisLabel: { interval: horizontal ? 0 : "auto",
      rotate: !horizontal && chart.key === "engineers" ? 35 : 0 }, inverse: horizontal };
    var values = chart.axes.length > 1
      ? chart.axes.map(function (name, i) {
          return { type: "value", name: name, position: i ? "right" : "left", splitLine: { show: i === 0 },
                   max: i && chart.series[i].unit === "%" ? function (v) { return Math.max(100, Math.ceil(v.max)); } : null };
        })
      : [{ type: "value", max: chart.percent ? 100 : null,
           axisLabel: { formatter: chart.percent ? "{value}%" : "{value}" } }];
    return {
      animation: false,
      color: ["#3b82c4", "#e6862a", "#4caf50", "#c0504d", "#8064a2", "#4bacc6", "#9bbb59", "#7f7f7f", "#f2c314"],
      tooltip: tooltip(chart),
      legend: { type: "scroll", top: 0, show: chart.series.length > 1 || chart.stacked },
      grid: { left: horizontal ? 110 : 48, right: chart.axes.length > 1 ? 56 : 20, top: chart.series.length > 1 || chart.stacked ? 34 : 16,
              bottom: chart.key === "engineers" ? 70 : 28, containLabel: horizontal },
      xAxis: horizontal ? values : category,
      yAxis: horizontal ? category : values,
      series: chart.series.map(function (s, i) {
        return {
          name: s.name, type: chart.type, data: s.data, yAxisIndex: horizontal ? 0 : (s.axis || 0),
          stack: chart.stacked ? "total" : null, areaStyle: chart.type === "line" && chart.stacked ? { opacity: 0.25 } : null,
          symbolSize: 6, cursor: "pointer", barMaxWidth: 36,
          label: { show: chart.type === "bar" && !chart.stacked && chart.categories.length <= 12, position: horizontal ? "right" : "top",
                   formatter: function (p) { return valueText(p.value, s.unit); } }
        };
      })
    };
  }

  var drawn = window.dashboardCharts = {};

  function draw(chart) {
    var element = document.getElementById("chart-" + chart.key);
    if (!element) { return; }
    var note = document.getElementById("note-" + chart.key);
    if (note) { note.textContent = chart.note || ""; }
    element.removeAttribute("aria-busy");
    element.textContent = "";
    drawn[chart.key] = chart;
    if (chart.empty) {
      var empty = document.createElement("div");
      empty.className = "dash-empty";
      empty.textContent = payload.labels.empty;
      element.appendChild(empty);
      element.setAttribute("data-rendered", "1");
      return;
    }
    var instance = window.echarts.init(element, null, { locale: locale, renderer: "canvas" });
    instance.setOption(option(chart));
    instance.on("click", function (params) {
      var series = chart.series[params.seriesIndex];
      var link = series && series.links[params.dataIndex];
      if (link) { window.location.href = link; }
    });
    element.setAttribute("data-rendered", "1");
    instances.push(instance);
  }

  function headline(kpi) {
    var box = document.querySelector(".dash-kpi[data-kpi='" + kpi.key + "'] .dash-kpi-value");
    if (!box) { return; }
    box.removeAttribute("aria-busy");
    box.textContent = "";
    var holder = box;
    if (kpi.link) {
      holder = document.createElement("a");
      holder.href = kpi.link;
      box.appendChild(holder);
    }
    holder.appendChild(document.createTextNode(kpi.value === null || kpi.value === undefined ? "—" : String(kpi.value)));
    if (kpi.value !== null && kpi.value !== undefined && kpi.unit) {
      var unit = document.createElement("span");
      unit.className = "dash-unit";
      unit.textContent = kpi.unit;
      holder.appendChild(unit);
    }
  }

  function failed(group) {
    group.charts.forEach(function (key) {
      var element = document.getElementById("chart-" + key);
      if (!element) { return; }
      element.removeAttribute("aria-busy");
      element.textContent = "";
      var box = document.createElement("div");
      box.className = "dash-failed";
      var text = document.createElement("span");
      text.textContent = payload.labels.failed;
      var again = document.createElement("button");
      again.type = "button";
      again.className = "btn btn-default btn-xs";
      again.textContent = payload.labels.retry;
      again.addEventListener("click", function () { load(group); });
      box.appendChild(text);
      box.appendChild(again);
      element.appendChild(box);
    });
  }

  function load(group) {
    fetch(group.url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error(String(response.status)); }
        return response.json();
      })
      .then(function (answer) {
        answer.charts.forEach(draw);
        answer.kpis.forEach(headline);
      })
      .catch(function () { failed(group); });
  }

  payload.groups.forEach(load);

  var pending = null;
  window.addEventListener("resize", function () {
    clearTimeout(pending);
    pending = setTimeout(function () { instances.forEach(function (i) { i.resize(); }); }, 150);
  });
}());
