export { latencyBoundsMs, type MetricsBucket } from "./histogram.js";
export { MetricsWindow, histogramQuantile, mergeBuckets, type TrafficSummary } from "./window.js";
export { ProxyMetricSource, type MetricSource, type ReleaseSample, type SampleQuery } from "./source.js";
export { PrometheusMetricSource, type PrometheusOptions } from "./prometheus.js";
