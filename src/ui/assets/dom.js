// Small DOM helpers: every text goes in as text (never as HTML), so nothing the engine answers can run.

/** h("td", { class: "num" }, "12") — children are strings, numbers, nodes, or arrays of them; null/false are skipped. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function pill(text, kind = text) {
  return h("span", { class: `pill ${kind}` }, text);
}

export function table(headings, rows) {
  return h("table", {}, h("thead", {}, h("tr", {}, headings.map((t) => h("th", {}, t)))), h("tbody", {}, rows));
}

export function errorBox(error) {
  return h("div", { class: "error", role: "alert", dataset: { code: error.code ?? "" } }, h("b", {}, error.code ? `${error.code}: ` : ""), error.message, error.hint ? h("span", { class: "hint" }, error.hint) : null);
}

export function when(ms) {
  if (!ms) return "—";
  const d = new Date(ms);
  const ago = Date.now() - ms;
  const rel = ago < 0 ? "" : ago < 60_000 ? `${Math.round(ago / 1000)}s ago` : ago < 3_600_000 ? `${Math.round(ago / 60_000)}m ago` : ago < 86_400_000 ? `${Math.round(ago / 3_600_000)}h ago` : `${Math.round(ago / 86_400_000)}d ago`;
  return h("span", { title: d.toISOString() }, rel || d.toLocaleString());
}

export function short(digest) {
  return digest ? h("code", { title: digest }, digest.replace(/^sha256:/, "").slice(0, 12)) : "—";
}

export function percent(x, digits = 2) {
  return x === null || x === undefined ? "—" : `${(x * 100).toFixed(digits)}%`;
}

export function fixed(x, digits = 1) {
  return x === null || x === undefined ? "—" : Number(x).toFixed(digits);
}

/** Replaces `el`'s content. */
export function render(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

const modal = () => document.getElementById("modal");

/** Asks for a confirmation in the page's own dialog; resolves true for Confirm. */
export function confirmDialog(text, okLabel = "Confirm") {
  return new Promise((resolve) => {
    const box = modal();
    document.getElementById("modal-text").textContent = text;
    const ok = document.getElementById("modal-ok");
    const cancel = document.getElementById("modal-cancel");
    ok.textContent = okLabel;
    const done = (answer) => {
      box.hidden = true;
      ok.onclick = cancel.onclick = null;
      resolve(answer);
    };
    ok.onclick = () => done(true);
    cancel.onclick = () => done(false);
    box.hidden = false;
    ok.focus();
  });
}

/** A short message at the corner of the page. */
export function notify(node, ms = 6000) {
  const el = document.getElementById("notice");
  render(el, node);
  el.hidden = false;
  clearTimeout(notify.timer);
  notify.timer = setTimeout(() => (el.hidden = true), ms);
}

/** Runs `fn` every `ms` (after a first wait) until `signal` aborts (the page was left); an error shows in `errorEl` and the next round tries again. */
export async function poll(signal, ms, fn, errorEl) {
  while (!signal.aborted) {
    await new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      signal.addEventListener("abort", () => (clearTimeout(timer), resolve()), { once: true });
    });
    if (signal.aborted) return;
    try {
      await fn();
      if (errorEl) render(errorEl);
    } catch (e) {
      if (signal.aborted || e.status === 401) return;
      if (errorEl) render(errorEl, errorBox(e));
    }
  }
}

/** Marks the first usable view of the page the tab opened on (once), as bench/dashboard.ts reads it: ms since the navigation began. */
export function markFirstView(page) {
  document.body.dataset.ready = page;
  if (!performance.getEntriesByName("engineroom:first-view").length) performance.mark("engineroom:first-view", { detail: page });
}
