/**
 * Builds from CI: signed artifact uploads with their provenance (intake), the CI keys, the JUnit
 * reports CI writes, the shard plan made from their timings, and the GitHub Actions workflow.
 */
export { acceptUpload, type AcceptedArtifact, type IntakeOptions, type Upload } from "./intake.js";
export { canonicalBytes, generateCiKey, keyFingerprint, publicKeyOf, readCiKey, signValue, trustedKeys, verifyValue, type TrustedKey } from "./signing.js";
export { decodeStatement, encodeStatement, parseStatement, signatureHeader, statementHeader, uploadStatementSchema, type TestSummary, type UploadStatement } from "./statement.js";
export { fileTimings, findReports, globRegex, matchFiles, parseJunit, readReports, reportNameOf, summarize, unitOfReport, type TestCase, type TestOutcome } from "./junit.js";
export { lpt, shardPlan, type Job, type Shard, type ShardPlan } from "./shards.js";
export { githubWorkflow, type WorkflowOptions } from "./workflow.js";
