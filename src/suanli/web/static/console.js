// suanli console: the few things the server cannot render. Every call to the API goes
// through api(): the one place that says who is asking (the session cookie today; a bearer
// token from <meta name="suanli-token"> when the server issues one) and in which language.
"use strict";

const LANG = document.body.dataset.lang === "zh" ? "zh-CN" : "en";

function api(path, options = {}) {
  const headers = new Headers(options.headers || {});
  headers.set("Accept-Language", LANG);
  const token = document.querySelector('meta[name="suanli-token"]');
  if (token) headers.set("Authorization", "Bearer " + token.content);
  return fetch("/api/v1" + path, { ...options, headers, credentials: "same-origin" });
}

// Times arrive in UTC; show them in the viewer's zone.
function localTimes(root) {
  const format = new Intl.DateTimeFormat(LANG, {
    year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false,
  });
  root.querySelectorAll("time[data-local]").forEach((el) => {
    el.textContent = format.format(new Date(el.getAttribute("datetime")));
    el.title = el.getAttribute("datetime");
  });
  document.querySelectorAll("[data-zone]").forEach((el) => {
    el.textContent = Intl.DateTimeFormat().resolvedOptions().timeZone;
  });
}

function showErrors(box, error) {
  box.hidden = false;
  box.replaceChildren();
  const title = document.createElement("strong");
  // The source names a file the reader chose; pasted text has none worth saying.
  title.textContent = error.message + (error.source && error.source !== "console" ? " (" + error.source + ")" : "");
  box.append(title);
  if (error.errors && error.errors.length) {
    const list = document.createElement("ul");
    for (const e of error.errors) {
      const item = document.createElement("li");
      const field = document.createElement("code");
      field.textContent = e.field;
      item.append(field, ": " + e.message);
      list.append(item);
    }
    box.append(list);
  }
}

function submitForm(form) {
  const text = form.querySelector("#spec-yaml");
  const errors = form.querySelector("#submit-errors");
  let source = form.dataset.source || "console";
  form.querySelector("#load-example").addEventListener("click", () => {
    text.value = form.querySelector("#example-spec").innerHTML
      .replaceAll("&lt;", "<").replaceAll("&gt;", ">").replaceAll("&#34;", '"')
      .replaceAll("&#39;", "'").replaceAll("&amp;", "&").trim() + "\n";
    source = "example.yaml";
  });
  form.querySelector("#spec-file").addEventListener("change", async (event) => {
    const file = event.target.files[0];
    if (file) { text.value = await file.text(); source = file.name; }
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = form.querySelector("#submit-button");
    button.disabled = true;
    try {
      const response = await api("/jobs", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ spec_yaml: text.value, tenant: form.dataset.tenant, source }),
      });
      const body = await response.json();
      if (!response.ok) { showErrors(errors, body.error); return; }
      window.location.href = "/console/jobs/" + encodeURIComponent(body.id);
    } catch (exc) {
      showErrors(errors, { message: String(exc), errors: [] });
    } finally {
      button.disabled = false;
    }
  });
}

// The head every engine writes on each line of a multi-node job, "[rank N] " (after Ray's
// "(node pid=…)"): what `suanli logs --rank N` reads too (cli/jobs.py RANK_LINE).
const RANK = /^(?:\([^)]*\) )?\[rank (\d+)\] /;

// The job's log: every line kept, shown for one node rank or all, filtered by a search.
class LogView {
  constructor(pre) {
    this.pre = pre;
    this.lines = [];
    this.partial = "";
    this.ranks = new Set();
    this.rank = document.getElementById("log-rank");
    this.search = document.getElementById("log-search");
    this.count = document.getElementById("log-count");
    if (this.rank) this.rank.addEventListener("change", () => this.render());
    if (this.search) this.search.addEventListener("input", () => this.render());
  }
  add(text) {
    const parts = (this.partial + text).split("\n");
    this.partial = parts.pop();
    for (const line of parts) this.keep(line);
    this.render();
  }
  end() {
    if (this.partial) { this.keep(this.partial); this.partial = ""; }
    this.render();
  }
  keep(line) {
    const m = RANK.exec(line);
    const rank = m ? m[1] : null;
    this.lines.push({ rank, text: line });
    if (rank !== null && !this.ranks.has(rank)) {
      this.ranks.add(rank);
      if (this.rank) {
        const option = document.createElement("option");
        option.value = rank;
        option.textContent = this.rank.dataset.rank + " " + rank;
        // in rank order, whichever node spoke first
        const after = [...this.rank.options].find((o) => o.value !== "" && Number(o.value) > Number(rank));
        this.rank.insertBefore(option, after || null);
      }
    }
  }
  render() {
    const rank = this.rank ? this.rank.value : "";
    const needle = this.search ? this.search.value.trim().toLowerCase() : "";
    const shown = this.lines.filter((l) =>
      (!rank || l.rank === rank) && (!needle || l.text.toLowerCase().includes(needle)));
    const tail = !rank && !needle ? this.partial : "";
    const atEnd = this.pre.scrollTop + this.pre.clientHeight >= this.pre.scrollHeight - 4;
    this.pre.replaceChildren();
    for (const l of shown) {
      const row = document.createElement("span");
      row.className = "line" + (l.rank !== null ? " rank-" + (Number(l.rank) % 8) : "");
      row.dataset.rank = l.rank === null ? "" : l.rank;
      row.textContent = l.text + "\n";
      this.pre.append(row);
    }
    if (tail) this.pre.append(document.createTextNode(tail));
    if (this.count) {
      this.count.textContent = rank || needle
        ? this.count.dataset.template.replace("{n}", String(shown.length)) : "";
    }
    if (atEnd) this.pre.scrollTop = this.pre.scrollHeight;
  }
}

// Follow the job's log to its end: the API keeps the stream open until the job finishes;
// reconnect from the last offset when the connection drops before that.
async function followLog(pre) {
  const state = document.getElementById("log-state");
  state.textContent = state.dataset.following;
  const view = new LogView(pre);
  let offset = 0;
  const decoder = new TextDecoder();
  for (let tries = 0; tries < 100; tries++) {
    try {
      const response = await api("/jobs/" + pre.dataset.job + "/logs?follow=true&offset=" + offset);
      if (!response.ok) break;
      const reader = response.body.getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        offset += value.byteLength;
        view.add(decoder.decode(value, { stream: true }));
      }
      const job = await (await api("/jobs/" + pre.dataset.job)).json();
      if (["succeeded", "failed", "cancelled"].includes(job.status)) break;
    } catch (exc) {
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  view.end();
  state.textContent = state.dataset.ended;
  pre.dataset.ended = "true";
}

// Forms that change something through the API: fields become the JSON body; errors are the
// API's own messages (field, value, what is allowed) in the page's language.
function fieldValue(el) {
  const kind = el.dataset.kind;
  if (kind === "int") return el.value === "" ? undefined : Number(el.value);
  if (kind === "list") return el.value.split(",").map((x) => x.trim()).filter(Boolean);
  if (kind === "attributes") {
    const out = {};
    for (const raw of el.value.split("\n")) {
      const line = raw.trim();
      if (!line) continue;
      const at = line.indexOf("=");
      const key = (at < 0 ? line : line.slice(0, at)).trim();
      const value = at < 0 ? "" : line.slice(at + 1).trim();
      out[key] = value === "true" ? true : value === "false" ? false : value;
    }
    return out;
  }
  return el.value;
}

function apiForms(root) {
  root.querySelectorAll("form.api-form").forEach((form) => {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const errors = form.querySelector(".errors");
      const body = {};
      form.querySelectorAll("[name]").forEach((el) => {
        const value = fieldValue(el);
        if (value !== undefined && value !== "") body[el.name] = value;
      });
      const button = form.querySelector("button[type=submit]");
      if (button) button.disabled = true;
      try {
        const response = await api(form.dataset.api, {
          method: form.dataset.method || "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify(body),
        });
        const answer = await response.json();
        if (!response.ok) { showErrors(errors, answer.error); return; }
        if (form.dataset.done === "token") {
          const box = document.getElementById("token-once");
          document.getElementById("token-secret").textContent = answer.token;
          box.hidden = false;
          form.reset();
          return;
        }
        window.location.reload();
      } catch (exc) {
        showErrors(errors, { message: String(exc), errors: [] });
      } finally {
        if (button) button.disabled = false;
      }
    });
  });
  root.querySelectorAll("button[data-revoke]").forEach((button) => {
    button.addEventListener("click", async () => {
      if (!window.confirm(button.dataset.confirm)) return;
      const response = await api("/tokens/" + button.dataset.revoke + "/revoke", { method: "POST" });
      if (!response.ok) { showErrors(document.getElementById("revoke-errors"), (await response.json()).error); return; }
      window.location.reload();
    });
  });
  root.querySelectorAll("button[data-claim]").forEach((button) => {
    button.addEventListener("click", async () => {
      const response = await api("/voucher-claims", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ tenant: button.dataset.tenant, programme: button.dataset.claim }),
      });
      if (!response.ok) { showErrors(document.getElementById("claim-errors"), (await response.json()).error); return; }
      window.location.reload();
    });
  });
}

// How long a running job has run, counted in the viewer's browser.
function elapsed(root) {
  root.querySelectorAll("[data-since]").forEach((el) => {
    const s = Math.max(0, Math.floor((Date.now() - new Date(el.dataset.since)) / 1000));
    const pad = (n) => String(n).padStart(2, "0");
    el.textContent = Math.floor(s / 3600) + ":" + pad(Math.floor(s / 60) % 60) + ":" + pad(s % 60);
  });
}

function cancelButton(root) {
  const button = root.querySelector("#cancel-job");
  if (!button || button.dataset.bound) return;
  button.dataset.bound = "true";
  button.addEventListener("click", async () => {
    if (!window.confirm(button.dataset.confirm)) return;
    button.disabled = true;
    await api("/jobs/" + button.dataset.job + "/cancel", { method: "POST" });
  });
}

function charts(root) {
  if (!window.echarts) return;
  root.querySelectorAll(".chart[data-kind=utilisation]").forEach((el) => {
    const times = JSON.parse(el.dataset.times).map((t) => new Date(t));
    const points = JSON.parse(el.dataset.points);
    const label = new Intl.DateTimeFormat(LANG, { hour: "2-digit", minute: "2-digit", hour12: false });
    const chart = echarts.init(el, null, { renderer: "svg" });
    chart.setOption({
      animation: false,
      grid: { left: 48, right: 16, top: 36, bottom: 28 },
      tooltip: { trigger: "axis" },
      xAxis: { type: "category", data: times.map((t) => label.format(t)), boundaryGap: false },
      yAxis: { type: "value", min: 0, minInterval: 1, name: el.dataset.label },
      series: [{ type: "line", data: points, areaStyle: { opacity: 0.18 }, smooth: true, showSymbol: false, color: "#2457d6" }],
    });
    window.addEventListener("resize", () => chart.resize());
  });
}

document.addEventListener("DOMContentLoaded", () => {
  localTimes(document);
  apiForms(document);
  elapsed(document);
  setInterval(() => elapsed(document), 1000);
  charts(document);
  cancelButton(document);
  const form = document.getElementById("submit-form");
  if (form) submitForm(form);
  const log = document.getElementById("job-log");
  if (log) followLog(log);
});
document.addEventListener("htmx:afterSettle", () => {
  localTimes(document);
  cancelButton(document);
});
