/**
 * Artifacts: immutable builds, stored by the sha256 digest of their content.
 */
export { ArtifactStore, type AddedArtifact, type ArtifactStoreOptions } from "./store.js";
export { digestFolder, skippedTopLevel, type EntryType, type TreeEntry } from "./digest.js";
export { StoreArtifactBlobs, chunkBytes, packArtifact, type ArchiveInfo, type ArtifactBlobStore } from "./remote.js";
