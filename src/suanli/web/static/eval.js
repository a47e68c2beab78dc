// The evaluation page's chart: measured GEMM TFLOPS per pool and precision (ECharts).
document.addEventListener("DOMContentLoaded", () => {
  const el = document.getElementById("eval-chart");
  if (!el || !window.echarts) return;
  const pools = JSON.parse(el.dataset.pools || "[]");
  const series = JSON.parse(el.dataset.series || "{}");
  const chart = echarts.init(el, null, { renderer: "svg" });
  chart.setOption({
    tooltip: { trigger: "axis" },
    legend: { top: 0 },
    grid: { left: 60, right: 20, top: 30, bottom: 60 },
    xAxis: { type: "category", data: pools, axisLabel: { rotate: 30 } },
    yAxis: { type: "value", name: el.dataset.unit || "" },
    series: Object.entries(series).map(([name, values]) => ({ name, type: "bar", data: values })),
  });
  window.addEventListener("resize", () => chart.resize());
});
