// The dashboard's shell: login, the environment picker, and a hash router over the pages.
import { get, login, logout, setActor, whenUnauthorized } from "/ui/api.js";
import { errorBox, h, render } from "/ui/dom.js";

// Pages load on demand (index.html preloads them), so that the first read of the API starts
// before uPlot and the pages' modules have arrived.
const page = (module, name) => async () => (await import(module))[name];

const view = document.getElementById("view");
const envSelect = document.getElementById("env");
const state = { project: null, environments: [], environment: localStorage.getItem("engineroom.env") ?? "" };
let stopPage = () => {};

const pages = [
  [/^\/$/, page("/ui/overview.js", "overviewPage")],
  [/^\/service\/([^/]+)$/, page("/ui/service.js", "servicePage")],
  [/^\/checks$/, page("/ui/monitoring.js", "checksPage")],
  [/^\/slos$/, page("/ui/monitoring.js", "slosPage")],
  [/^\/alerts$/, page("/ui/monitoring.js", "alertsPage")],
  [/^\/incidents$/, page("/ui/incidents.js", "incidentsPage")],
  [/^\/incident\/([^/]+)$/, page("/ui/incidents.js", "incidentPage")],
  [/^\/approvals$/, page("/ui/more.js", "approvalsPage")],
  [/^\/report$/, page("/ui/more.js", "reportPage")],
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
  // The first view reads one aggregated page; its answer names the project and the environments
  // too, and the services page shows it at once instead of asking again.
  const query = (env) => `/v1/overview?${new URLSearchParams({ ...(env && { env }), page: "1", size: "50" })}`;
  const first = await get(query(state.environment)).catch(async (e) => {
    if (state.environment && e.status === 404) return get(query(""));
    throw e;
  });
  state.prefetched = { key: `env=${first.environment}&page=1&size=50`, overview: first };
  state.project = first.project;
  state.environments = first.environments;
  if (!state.environments.includes(state.environment)) state.environment = first.environment;
  document.getElementById("project").textContent = first.project;
  render(envSelect, state.environments.map((name) => h("option", { value: name, selected: name === state.environment }, name)));
  document.getElementById("top").hidden = false;
  // Who is logged in, with which scopes (an engine without sessions has no /v1/session to ask).
  get("/v1/session").then(
    ({ caller }) => {
      setActor(caller.name);
      document.getElementById("who").textContent = `${caller.name} · ${(caller.scopes ?? []).join(", ")}`;
    },
    () => (document.getElementById("who").textContent = ""),
  );
  route();
}

envSelect.addEventListener("change", () => {
  state.environment = envSelect.value;
  localStorage.setItem("engineroom.env", state.environment);
  route();
});

document.getElementById("logout").addEventListener("click", async () => {
  await logout();
  setActor(undefined);
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
    const arg = match[1] === undefined ? undefined : decodeURIComponent(match[1]);
    make()
      .then((show) => (controller.signal.aborted ? undefined : show({ view, state, params, signal: controller.signal }, arg)))
      .catch((e) => {
        if (!controller.signal.aborted && e.status !== 401) render(view, errorBox(e));
      });
    return;
  }
  render(view, h("p", {}, "No such page. ", h("a", { href: "#/" }, "Services")));
}

window.addEventListener("hashchange", route);
start().catch((e) => showLogin(e));
