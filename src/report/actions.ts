import type { ActionRepo } from "../store/index.js";
import type { ActionItemRow, Report } from "./types.js";

const dayMs = 86_400_000;

/** The post-mortems' action items still open at `until`, oldest first, with their age and whether they are overdue. */
export async function openActionItems(actions: Pick<ActionRepo, "list"> | undefined, until: number): Promise<Report["actionItems"]> {
  const open = actions ? await actions.list({ open: true }) : [];
  const today = new Date(until).toISOString().slice(0, 10);
  const items: ActionItemRow[] = open
    .filter((a) => a.createdAt <= until)
    .map((a) => ({ id: a.id, incidentId: a.incidentId, type: a.type, owner: a.owner, due: a.due, text: a.text, createdAt: a.createdAt, ageMs: until - a.createdAt, overdue: a.due < today }));
  const overdue = items.filter((a) => a.overdue).length;
  const oldest = items[0];
  const text = items.length === 0 ? "no open action items" : `${items.length} open${overdue ? `, ${overdue} overdue` : ""}; the oldest ${Math.floor(oldest!.ageMs / dayMs)} day(s) old`;
  return { open: items.length, overdue, text, items };
}
