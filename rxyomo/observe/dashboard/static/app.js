// The live view: renders each snapshot /events pushes (the same JSON as /api/view).
"use strict";

const number = new Intl.NumberFormat("en-US");

function fmt(value, digits) {
  if (value === null || value === undefined) return "—";
  if (digits !== undefined) return value.toFixed(digits);
  return number.format(value);
}

function cell(text, attrs) {
  const td = document.createElement("td");
  td.textContent = text;
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key === "class") td.className = value; else td.setAttribute(key, value);
  }
  return td;
}

function fill(tableId, rows, columns, key) {
  const body = document.querySelector(`#${tableId} tbody`);
  body.replaceChildren();
  if (!rows.length) {
    const tr = document.createElement("tr");
    tr.appendChild(cell("none yet", { class: "empty", colspan: String(columns.length) }));
    body.appendChild(tr);
    return;
  }
  for (const row of rows) {
    const tr = document.createElement("tr");
    if (key) tr.dataset.key = key(row);
    for (const [field, render, numeric] of columns) {
      const td = cell(render(row), { "data-field": field });
      if (numeric) td.classList.add("n");
      tr.appendChild(td);
    }
    body.appendChild(tr);
  }
}

function renderGallery(items) {
  const section = document.getElementById("gallery-section");
  section.hidden = !items.length;
  const gallery = document.getElementById("gallery");
  gallery.replaceChildren();
  for (const item of items) {
    const card = document.createElement("figure");
    card.className = "thumb";
    card.dataset.key = item.key;
    if (item.image) {
      const img = document.createElement("img");
      img.src = `/preview/${encodeURIComponent(item.key)}`;
      img.alt = item.label || "";
      card.appendChild(img);
    }
    const caption = document.createElement("figcaption");
    caption.className = "caption";
    const label = document.createElement("div");
    label.className = "label";
    label.textContent = item.label || "nothing recognised";
    const detail = document.createElement("div");
    detail.className = "detail";
    detail.textContent = [item.detail, item.latency_ms != null ? `${item.latency_ms.toFixed(1)} ms` : null]
      .filter(Boolean).join(" · ");
    caption.append(label, detail);
    card.appendChild(caption);
    gallery.appendChild(card);
  }
}

function render(view) {
  document.getElementById("zipper-name").textContent = view.zipper;
  document.getElementById("zipper-address").textContent = view.address || "";
  document.getElementById("uptime").textContent = fmt(Math.round(view.uptime_s));
  for (const el of document.querySelectorAll("[data-total]")) {
    const name = el.dataset.total;
    el.textContent = fmt(view.totals[name], name.endsWith("_per_s") ? 1 : undefined);
  }
  fill("traffic", view.traffic, [
    ["direction", r => r.direction],
    ["kind", r => r.kind],
    ["client", r => r.client],
    ["tag", r => r.tag],
    ["frames", r => fmt(r.frames), true],
    ["per_s", r => fmt(r.per_s, 1), true],
    ["bytes", r => fmt(r.bytes), true],
    ["latency", r => (r.latency_p50_ms == null ? "—" : `${r.latency_p50_ms.toFixed(1)} ms`), true],
  ], r => `${r.direction}|${r.kind}|${r.client}|${r.tag}`);
  fill("connections", view.connections, [
    ["id", r => String(r.id)],
    ["name", r => r.name],
    ["kind", r => r.kind],
    ["peer", r => r.peer],
    ["state", r => (r.paused ? `${r.state} (paused)` : r.state)],
    ["frames_in", r => fmt(r.frames_in), true],
    ["frames_out", r => fmt(r.frames_out), true],
  ], r => String(r.id));
  fill("drops", view.drops, [["reason", r => r.reason], ["frames", r => fmt(r.frames), true]],
    r => r.reason);
  fill("mesh", view.mesh, [
    ["peer", r => r.peer],
    ["address", r => r.address],
    ["connected", r => (r.connected ? "up" : "down")],
    ["forwarded", r => fmt(r.forwarded), true],
  ], r => r.peer);
  fill("functions", view.functions, [
    ["function", r => r.function],
    ["tag", r => r.tag],
    ["calls", r => fmt(r.calls), true],
    ["errors", r => fmt(r.errors), true],
    ["p50", r => (r.p50_ms == null ? "—" : `${r.p50_ms.toFixed(2)} ms`), true],
  ], r => `${r.function}|${r.tag}`);
  renderGallery(view.previews || []);
  document.body.dataset.updated = String(Date.now());
}

function connect() {
  const status = document.getElementById("status");
  const events = new EventSource("/events");
  events.onopen = () => { status.textContent = "live"; status.className = "status live"; };
  events.onmessage = message => render(JSON.parse(message.data));
  events.onerror = () => { status.textContent = "reconnecting"; status.className = "status lost"; };
}

connect();
