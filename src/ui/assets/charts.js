// Small live charts (uPlot): one per service and measure, updated in place with setData.
import uPlot from "/ui/uPlot.esm.js";

const colours = { rps: "#2457c5", errorRate: "#c62828", p95: "#7b3fb3" };

/** A sparkline of `series[key]` over `series.t`; call `.update(series)` with new data. */
export function sparkline(el, series, key, label) {
  const opts = {
    width: 160,
    height: 44,
    legend: { show: false },
    cursor: { show: false },
    select: { show: false },
    scales: { x: { time: true }, y: { range: (_u, min, max) => [0, Math.max(max ?? 0, key === "errorRate" ? 0.01 : 1)] } },
    axes: [{ show: false }, { show: false }],
    series: [{}, { label, stroke: colours[key], width: 1.5, fill: colours[key] + "22", spanGaps: false }],
  };
  const plot = new uPlot(opts, [series.t, series[key]], el);
  return {
    update(next) {
      plot.setData([next.t, next[key]]);
    },
    destroy() {
      plot.destroy();
    },
  };
}
