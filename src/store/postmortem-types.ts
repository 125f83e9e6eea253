/**
 * What the post-mortem domain keeps: the learning log's entries, each incident's post-mortem draft
 * (its fields, the Markdown written and the hash of the file as the engine wrote it), and the
 * action items, tracked until closed.
 */

/** One dated entry of the learning log: what was learned, from what (an incident, a drill, a person). */
export interface LearningEntry {
  /** e.g. `lrn_lx2k9a1b_8f3c2d1e`. */
  id: string;
  /** When it was learned (the incident's resolve, the drill's end, the person's entry), epoch ms. */
  date: number;
  learning: string;
  /** Where it comes from, as shown: `incident inc_…`, `drill nightly-rollback`, `alice`. */
  source: string;
  /** The services it is about (what `plan` and `deploy` show it for). */
  services: string[];
  environment: string | null;
  /** A unique key for entries appended by the engine (`incident:<id>`, `drill:<run id>`): appending the same key again answers the first entry. */
  key: string | null;
  createdAt: number;
}

export interface LearningQuery {
  /** Only the entries about this service. */
  service?: string;
  /** Only the entries dated at or after this, epoch ms. */
  since?: number;
  /** With `newest`, the latest this many; otherwise the oldest this many. Default 1000. */
  limit?: number;
  /** Newest first (default: oldest first, as a log reads). */
  newest?: boolean;
}

export interface LearningRepo {
  /** Inserts the entry; one whose `key` is taken is not inserted, and the entry of that key is answered. */
  append(entry: LearningEntry): Promise<LearningEntry>;
  list(query?: LearningQuery): Promise<LearningEntry[]>;
}

/** The kinds of action item, after the Google SRE template. */
export const actionTypes = ["prevent", "mitigate", "process"] as const;
export type ActionType = (typeof actionTypes)[number];

export interface ActionItem {
  /** e.g. `act_lx2k9a1b_8f3c2d1e`. */
  id: string;
  incidentId: string;
  type: ActionType;
  text: string;
  owner: string;
  /** Due date, `yyyy-mm-dd`. */
  due: string;
  state: "open" | "closed";
  createdAt: number;
  createdBy: string;
  closedAt: number | null;
  closedBy: string | null;
}

export interface ActionQuery {
  open?: boolean;
  incidentId?: string;
  /** Default 1000. */
  limit?: number;
}

export interface ActionRepo {
  /** Insert or replace by id. */
  put(item: ActionItem): Promise<void>;
  get(id: string): Promise<ActionItem | undefined>;
  /** Oldest first. */
  list(query?: ActionQuery): Promise<ActionItem[]>;
}

/** An incident's post-mortem as stored: the draft's fields, its Markdown, and where it was written. */
export interface PostmortemRecord {
  incidentId: string;
  createdAt: number;
  updatedAt: number;
  /** The file, relative to the project folder. */
  path: string;
  /** sha256 of the Markdown the engine last wrote to `path`: a file that hashes otherwise was edited by a person. */
  fileHash: string;
  markdown: string;
  /** The draft's fields (src/postmortem/draft.ts's PostmortemDraft). */
  draft: Record<string, unknown>;
}

export interface PostmortemRepo {
  put(record: PostmortemRecord): Promise<void>;
  get(incidentId: string): Promise<PostmortemRecord | undefined>;
}
