// The dashboard's shell: login, the environment picker, and a hash router over the pages.
import { get, login, logout, whenUnauthorized } from "/ui/api.js";
import { errorBox, h, render } from "/ui/dom.js";
import { overviewPage } from "/ui/overview.js";
import { servicePage } from "/ui/service.js";
import { alertsPage, checksPage, slosPage } from "/ui/monitoring.js";
import { incidentPage, incidentsPage } from "/ui/incidents.js";
import { approvalsPage, reportPage } from "/ui/more.js";

const view = document.getElementById("view");
const envSelect = document.getElementById("env");
const state = { project: null, environments: [], environment: localStorage.getItem("engineroom.env") ?? "" };
let stopPage = () => {};

const pages = [
  [/^\/$/, () => overviewPage],
  [/^\/service\/([^/]+)$/, (m) => (ctx) => servicePage(ctx, decodeURIComponent(m[1]))],
  [/^\/checks$/, () => checksPage],
  [/^\/slos$/, () => slosPage],
  [/^\/alerts$/, () => alertsPage],
  [/^\/incidents$/, () => incidentsPage],
  [/^\/incident\/([^/]+)$/, (m) => (ctx) => incidentPage(ctx, decodeURIComponent(m[1]))],
  [/^\/approvals$/, () => approvalsPage],
  [/^\/report$/, () => reportPage],
];

function showLogin(error) {
  stopPage();
  document.getElementById("top").hidden = true;
  const input = h("input", { type: "password", name: "token", autocomplete: "off", placeholder: "ert_… or the state folder's api-token", "aria-label": "API token", required: true });
  const message = h("div");
  const form = h(
    "form",
    {
      class: "login",
      onsubmit: async (event) => {
        event.preventDefault();
        try {
          await login(input.value.trim());
          input.value = "";
          await start();
        } catch (e) {
          render(message, errorBox(e));
        }
      },
    },
    h("h1", {}, "Engineroom"),
    h("p", { class: "muted" }, "Log in with an API token. It is exchanged for a session cookie and not kept by the page."),
    input,
    h("button", { class: "primary", type: "submit" }, "Log in"),
    message,
  );
  if (error && error.code !== "API_UNAUTHORIZED") render(message, errorBox(error));
  render(view, form);
  input.focus();
}

whenUnauthorized(() => showLogin());

async function start() {
  // The first view reads one aggregated page; its answer names the project and the environments too.
  const first = await get(`/v1/overview?size=1${state.environment ? `&env=${encodeURIComponent(state.environment)}` : ""}`).catch(async (e) => {
    if (e.code === "ENVIRONMENT_UNKNOWN" || e.status === 404) return get("/v1/overview?size=1");
    throw e;
  });
  state.project = first.project;
  state.environments = first.environments;
  if (!state.environments.includes(state.environment)) state.environment = first.environment;
  document.getElementById("project").textContent = first.project;
  render(envSelect, state.environments.map((name) => h("option", { value: name, selected: name === state.environment }, name)));
  document.getElementById("top").hidden = false;
  route();
}

envSelect.addEventListener("change", () => {
  state.environment = envSelect.value;
  localStorage.setItem("engineroom.env", state.environment);
  route();
});

document.getElementById("logout").addEventListener("click", async () => {
  await logout();
  showLogin();
});

function route() {
  if (!state.project) return;
  stopPage();
  const path = (location.hash.replace(/^#/, "") || "/").split("?")[0];
  for (const link of document.querySelectorAll("header nav a")) link.classList.toggle("active", link.getAttribute("href") === `#${path}`);
  for (const [pattern, make] of pages) {
    const match = pattern.exec(path);
    if (!match) continue;
    const controller = new AbortController();
    stopPage = () => controller.abort();
    const params = new URLSearchParams(location.hash.split("?")[1] ?? "");
    make(match)({ view, state, params, signal: controller.signal }).catch((e) => {
      if (!controller.signal.aborted && e.status !== 401) render(view, errorBox(e));
    });
    return;
  }
  render(view, h("p", {}, "No such page. ", h("a", { href: "#/" }, "Services")));
}

window.addEventListener("hashchange", route);
start().catch((e) => showLogin(e));
