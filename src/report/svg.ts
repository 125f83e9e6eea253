/**
 * Small inline SVG charts for the report page: no script, no external asset, readable without
 * colour (every bar has its value as text and a <title>).
 */

export function escapeHtml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;");
}

export interface Bar {
  label: string;
  value: number;
  /** Shown on the bar (default: the value). */
  text?: string;
  /** `good`, `bad` or `plain` (default). */
  tone?: "good" | "bad" | "plain";
}

const colours = { good: "#1a7f37", bad: "#cf222e", plain: "#0969da" };

/** Vertical bars over time (e.g. deploys per day), labelled every few bars. */
export function columnChart(bars: readonly Bar[], options: { title: string; height?: number }): string {
  const height = options.height ?? 120;
  const width = Math.max(240, bars.length * 18);
  const max = Math.max(1, ...bars.map((b) => b.value));
  const w = width / Math.max(1, bars.length);
  const every = Math.ceil(bars.length / 8);
  const cols = bars
    .map((b, i) => {
      const h = (b.value / max) * (height - 30);
      const x = i * w;
      const label = i % every === 0 ? `<text x="${x + w / 2}" y="${height - 4}" class="axis" text-anchor="middle">${escapeHtml(b.label)}</text>` : "";
      return `<rect x="${x + 1}" y="${height - 18 - h}" width="${Math.max(1, w - 2)}" height="${h}" fill="${colours[b.tone ?? "plain"]}"><title>${escapeHtml(`${b.label}: ${b.text ?? b.value}`)}</title></rect>${label}`;
    })
    .join("");
  return `<figure><figcaption>${escapeHtml(options.title)}</figcaption><svg viewBox="0 0 ${width} ${height}" width="100%" height="${height}" role="img" aria-label="${escapeHtml(options.title)}">${cols}<line x1="0" x2="${width}" y1="${height - 18}" y2="${height - 18}" class="base"/></svg><p class="note">max ${max}</p></figure>`;
}

/** Horizontal bars, one per row (e.g. uptime per service), with a target line when given (same scale as the values). */
export function barChart(bars: readonly Bar[], options: { title: string; min?: number; max?: number; target?: number; targetLabel?: string }): string {
  if (bars.length === 0) return `<figure><figcaption>${escapeHtml(options.title)}</figcaption><p class="note">nothing to show</p></figure>`;
  const rowHeight = 22;
  const labelWidth = 170;
  const width = 520;
  const plot = width - labelWidth - 80;
  const min = options.min ?? 0;
  const max = options.max ?? Math.max(...bars.map((b) => b.value), options.target ?? 0, 1e-9);
  const scale = (v: number) => (Math.max(0, Math.min(1, (v - min) / (max - min || 1))) * plot);
  const height = bars.length * rowHeight + 8;
  const rows = bars
    .map((b, i) => {
      const y = i * rowHeight + 4;
      return `<text x="${labelWidth - 6}" y="${y + 14}" text-anchor="end" class="label">${escapeHtml(b.label)}</text><rect x="${labelWidth}" y="${y + 2}" width="${Math.max(1, scale(b.value))}" height="${rowHeight - 6}" fill="${colours[b.tone ?? "plain"]}"><title>${escapeHtml(`${b.label}: ${b.text ?? b.value}`)}</title></rect><text x="${labelWidth + scale(b.value) + 4}" y="${y + 14}" class="value">${escapeHtml(b.text ?? String(b.value))}</text>`;
    })
    .join("");
  const target =
    options.target === undefined
      ? ""
      : `<line x1="${labelWidth + scale(options.target)}" x2="${labelWidth + scale(options.target)}" y1="0" y2="${height}" class="target"><title>${escapeHtml(options.targetLabel ?? "target")}</title></line>`;
  return `<figure><figcaption>${escapeHtml(options.title)}</figcaption><svg viewBox="0 0 ${width} ${height}" width="100%" height="${height}" role="img" aria-label="${escapeHtml(options.title)}">${rows}${target}</svg></figure>`;
}
