// The read-only public status page: services and their health per environment, open incidents.
import { h, pill, render, table, when } from "/ui/dom.js";

const words = { up: "operational", degraded: "degraded", down: "down", idle: "not deployed" };
const view = document.getElementById("view");

async function refresh() {
  const response = await fetch("/status.json", { credentials: "omit" });
  if (!response.ok) return render(view, h("p", {}, "The status page is not available."));
  const s = await response.json();
  document.title = `${s.project} status`;
  const worst = s.environments.flatMap((e) => e.services.map((x) => x.health)).find((x) => x === "down") ?? (s.environments.some((e) => e.services.some((x) => x.health === "degraded")) ? "degraded" : "up");
  render(
    view,
    h("h1", {}, `${s.project} status`),
    h("p", {}, pill(worst === "up" ? "all systems operational" : worst === "down" ? "outage" : "degraded", worst)),
    s.incidents.length ? [h("h2", {}, "Open incidents"), table(["severity", "state", "services", "since"], s.incidents.map((i) => h("tr", {}, h("td", {}, pill(i.severity)), h("td", {}, i.state), h("td", {}, i.services.join(", ")), h("td", {}, when(i.openedAt)))))] : null,
    s.environments.map((e) => [h("h2", {}, e.name), table(["service", "status"], e.services.map((x) => h("tr", {}, h("td", {}, x.name), h("td", {}, pill(words[x.health] ?? x.health, x.health)))))]),
    h("p", { class: "muted" }, "Updated ", when(s.generatedAt)),
  );
}

await refresh();
setInterval(() => void refresh().catch(() => {}), 15_000);
