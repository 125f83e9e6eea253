/**
 * Analysis: the verdict on a watched release, from its request metrics against absolute limits and
 * its baseline, with the evidence. Pure functions; the deploy watch loop feeds them samples from a
 * MetricSource and acts on the verdict.
 */
export {
  analyse,
  defaultAnalysisPolicy,
  withDefaults,
  type AnalysisInput,
  type AnalysisPolicy,
  type Check,
  type CheckName,
  type Outcome,
  type Verdict,
} from "./verdict.js";
export { binomialUpperTail, fisherGreater, histogramPercentile, mannWhitneyGreater, type Proportion, type RankTest } from "./stats.js";
