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
  title.textContent = error.message + (error.source ? " (" + error.source + ")" : "");
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
  let source = "console";
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

// Follow the job's log to its end: the API keeps the stream open until the job finishes;
// reconnect from the last offset when the connection drops before that.
async function followLog(pre) {
  const state = document.getElementById("log-state");
  state.textContent = state.dataset.following;
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
        pre.textContent += decoder.decode(value, { stream: true });
        pre.scrollTop = pre.scrollHeight;
      }
      const job = await (await api("/jobs/" + pre.dataset.job)).json();
      if (["succeeded", "failed", "cancelled"].includes(job.status)) break;
    } catch (exc) {
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  state.textContent = state.dataset.ended;
  pre.dataset.ended = "true";
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
