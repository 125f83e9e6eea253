export { MetricsWindow, histogramQuantile, mergeBuckets, type TrafficSummary } from "./window.js";
