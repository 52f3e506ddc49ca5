// The traces panel: recent worker loops from Jaeger (through the web UI's server), and
// the chosen one drawn as a waterfall: every span of worker, rng and hasher on one time
// axis, coloured by service; click a bar for its attributes.
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const COLOURS = { worker: "#1565c0", rng: "#d9480f", hasher: "#2b8a3e", redis: "#862e9c" };
let chosenLoop = null;

function colourOf(service) { return COLOURS[service] || "#6e7781"; }
function fmtMs(v) { return v === 0 ? "0" : v < 1 ? (v * 1000).toFixed(0) + " µs" : v < 10 ? v.toFixed(1) + " ms" : v.toFixed(0) + " ms"; }

function el(name, attrs, text) {
  const e = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

function niceStep(total) {
  const raw = total / 8, p = Math.pow(10, Math.floor(Math.log10(raw)));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= raw) return m * p;
  return 10 * p;
}

// drawWaterfall draws a trace's spans into svg: a label column, then one bar per span
// on a shared axis, its duration beside it.
function drawWaterfall(svg, wf) {
  const width = 1200, label = 330, right = 90, row = 30, top = 28;
  const spans = wf.spans || [];
  svg.replaceChildren();
  svg.setAttribute("viewBox", `0 0 ${width} ${top + row * spans.length + 6}`);
  svg.setAttribute("height", top + row * spans.length + 6);
  const total = Math.max(wf.duration_ms, 0.001), scale = (width - label - right) / total;
  const step = niceStep(total);
  for (let t = 0; t <= total + 1e-9; t += step) {
    const x = label + t * scale;
    svg.append(el("line", { x1: x, x2: x, y1: top - 6, y2: top + row * spans.length, class: "grid" }));
    svg.append(el("text", { x: x, y: 16, class: "axis", "text-anchor": "middle" }, fmtMs(t)));
  }
  spans.forEach((s, i) => {
    const y = top + i * row;
    const g = el("g", { "data-name": s.name, "data-service": s.service });
    g.append(el("circle", { cx: 10 + s.depth * 16, cy: y + row / 2, r: 6, fill: colourOf(s.service) }));
    const name = s.name.length > 30 ? s.name.slice(0, 29) + "…" : s.name;
    g.append(el("text", { x: 22 + s.depth * 16, y: y + row / 2 + 5 }, name));
    const x = label + s.start_ms * scale, w = Math.max(2, s.duration_ms * scale);
    const bar = el("rect", { x: x, y: y + 5, width: w, height: row - 10, rx: 3, class: "bar",
      fill: colourOf(s.service), "fill-opacity": s.depth === 0 ? 0.35 : 0.9 });
    if (s.failed) { bar.setAttribute("stroke", "#b42318"); bar.setAttribute("stroke-width", 2); }
    bar.append(el("title", {}, `${s.service}: ${s.name}\n${fmtMs(s.duration_ms)}, from ${fmtMs(s.start_ms)}`));
    bar.addEventListener("click", () => showSpan(svg, bar, s));
    g.append(bar);
    g.append(el("text", { x: Math.min(x + w + 6, width - right + 6), y: y + row / 2 + 5, class: "axis" }, fmtMs(s.duration_ms)));
    svg.append(g);
  });
}

function showSpan(svg, bar, s) {
  document.querySelectorAll(".waterfall rect.chosen").forEach(b => b.classList.remove("chosen"));
  bar.classList.add("chosen");
  const box = document.getElementById("span-info");
  const rows = [["span", `${s.service}: ${s.name}`], ["duration", fmtMs(s.duration_ms)], ["starts at", fmtMs(s.start_ms)],
    ...Object.entries(s.attrs || {}).sort()];
  const table = document.createElement("table");
  for (const [k, v] of rows) {
    const tr = table.insertRow();
    tr.insertCell().textContent = k;
    tr.insertCell().textContent = v;
  }
  box.replaceChildren(table);
  box.hidden = false;
}

async function chooseLoop(id) {
  chosenLoop = id;
  document.querySelectorAll("#loops button").forEach(b => b.setAttribute("aria-pressed", String(b.dataset.id === id)));
  const verdict = document.getElementById("loop-verdict");
  const svg = document.getElementById("waterfall");
  try {
    const r = await fetch("/loops/" + id, { cache: "no-store" });
    const lt = await r.json();
    if (!r.ok) throw new Error(lt.error || r.statusText);
    const wf = lt.loop;
    drawWaterfall(svg, wf);
    document.getElementById("legend").hidden = false;
    document.getElementById("span-info").hidden = true;
    const l = wf.longest;
    if (l) {
      const share = (100 * l.duration_ms / wf.duration_ms).toFixed(0);
      verdict.textContent = `This loop took ${fmtMs(wf.duration_ms)}; its longest span is “${l.name}” in ${l.service}: ` +
        `${fmtMs(l.duration_ms)}, ${share}% of the loop.` + (l.service === "rng" ? " rng is the bottleneck." : "");
      svg.dataset.longest = l.name;
      svg.dataset.longestService = l.service;
    } else {
      verdict.textContent = `This loop took ${fmtMs(wf.duration_ms)}.`;
    }
    svg.dataset.trace = wf.id;
    const link = document.getElementById("jaeger-trace");
    link.hidden = !wf.ui_url;
    if (wf.ui_url) link.href = wf.ui_url;
    const flush = document.getElementById("flush"), note = document.getElementById("flush-note");
    document.getElementById("flush-title").hidden = false;
    if (lt.flush) { drawWaterfall(flush, lt.flush); note.hidden = true; }
    else { flush.replaceChildren(); flush.setAttribute("height", 0); note.textContent = lt.flush_note; note.hidden = false; }
  } catch (e) {
    verdict.textContent = "cannot read this loop: " + e.message;
  }
}

async function refreshLoops() {
  const missing = document.getElementById("traces-missing"), list = document.getElementById("loops");
  try {
    const r = await fetch("/loops", { cache: "no-store" });
    const b = await r.json();
    if (r.status === 503) throw Object.assign(new Error(b.error), { coming: true });
    if (!r.ok) throw new Error(b.error || r.statusText);
    const loops = b.loops || [];
    missing.hidden = loops.length > 0;
    missing.textContent = "no worker loops traced in the last two minutes: is tracing on (OTEL_EXPORTER_OTLP_ENDPOINT) and a worker mining?";
    list.replaceChildren(...loops.map(l => {
      const btn = document.createElement("button");
      btn.dataset.id = l.id;
      btn.textContent = fmtMs(l.duration_ms) + (l.fast ? " · fastest" : "") + (l.failed ? " · failed" : "") + (l.partial ? " · spans arriving" : "");
      btn.title = `loop ${l.id} of worker ${l.worker}, ${new Date(l.start_ms).toLocaleTimeString()}`;
      if (l.fast) btn.classList.add("fast");
      if (l.failed) btn.classList.add("failed");
      btn.setAttribute("aria-pressed", String(l.id === chosenLoop));
      btn.addEventListener("click", () => chooseLoop(l.id));
      return btn;
    }));
    if (!chosenLoop && loops.length) chooseLoop(loops[0].id);
  } catch (e) {
    missing.textContent = e.coming ? e.message + " (the speed graph goes on)"
      : "traces unavailable: " + e.message + " (the speed graph goes on)";
    list.replaceChildren();
    missing.hidden = false;
  }
}

refreshLoops();
setInterval(refreshLoops, 10000);
