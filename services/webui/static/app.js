// Polls /json once a second and draws the speed series the server computes from exact
// per-second counts, so a steady 3.33 hashes/s draws as a flat 3.3, not 4-4-0 spikes.
"use strict";

const canvas = document.getElementById("graph");
const ctx = canvas.getContext("2d");

function niceMax(v) {
  if (v <= 0) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function draw(series) {
  const w = canvas.width, h = canvas.height, left = 56, bottom = 28, top = 14;
  ctx.clearRect(0, 0, w, h);
  const ymax = niceMax(Math.max(...series, 0) * 1.1);
  ctx.font = "16px system-ui, sans-serif";
  ctx.fillStyle = "#57606a";
  ctx.strokeStyle = "#e1e4e8";
  for (let i = 0; i <= 4; i++) {
    const v = (ymax * i) / 4;
    const y = h - bottom - ((h - bottom - top) * i) / 4;
    ctx.beginPath(); ctx.moveTo(left, y); ctx.lineTo(w - 8, y); ctx.stroke();
    ctx.fillText(Number.isInteger(v) ? String(v) : v.toFixed(1), 8, y + 4);
  }
  ctx.fillText("last " + series.length + " s", w - 90, h - 6);
  if (series.length < 2) return;
  const step = (w - left - 8) / (series.length - 1);
  ctx.strokeStyle = "#1565c0";
  ctx.lineWidth = 3;
  ctx.beginPath();
  series.forEach((v, i) => {
    const x = left + i * step;
    const y = h - bottom - ((h - bottom - top) * v) / ymax;
    if (i === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
  });
  ctx.stroke();
  canvas.dataset.points = String(series.length);
}

async function refresh() {
  const err = document.getElementById("error");
  try {
    const r = await fetch("/json", { cache: "no-store" });
    const s = await r.json();
    if (!r.ok) throw new Error(s.error || r.statusText);
    document.getElementById("speed").textContent = s.speed.toFixed(1);
    document.getElementById("hashes").textContent = s.hashes;
    document.getElementById("coins").textContent = s.coins;
    draw(s.series || []);
    err.hidden = true;
  } catch (e) {
    err.textContent = "cannot read the counters: " + e.message;
    err.hidden = false;
  }
}

refresh();
setInterval(refresh, 1000);

// The bottleneck panel: the worker loop broken down by step, from Jaeger. /bottleneck
// answers 404 when the web UI has no Jaeger to read (JAEGER_QUERY_URL), and the panel
// stays hidden.
function ms(v) { return v < 1 ? (v * 1000).toFixed(0) + " µs" : v < 10 ? v.toFixed(2) + " ms" : v.toFixed(0) + " ms"; }

async function refreshBottleneck() {
  const panel = document.getElementById("bottleneck");
  try {
    const r = await fetch("/bottleneck", { cache: "no-store" });
    if (r.status === 404) { panel.hidden = true; return false; }
    const b = await r.json();
    if (!r.ok) throw new Error(b.error || r.statusText);
    const rep = b.report, rows = [rep.loop, ...rep.steps];
    document.getElementById("steps").replaceChildren(...rows.map(s => {
      const tr = document.createElement("tr");
      const note = s.name === "rng" && rep.rng_queue >= 0 ? (100 * rep.rng_queue).toFixed(0) + "% waiting for the entropy slot"
        : s.name === "pause" ? "deliberate" : "";
      const cells = s.name === "other" ? [s.name, "", "", "", (100 * s.share).toFixed(0) + "%", "between steps"]
        : [s.name, s.count, ms(s.p50_ms), ms(s.p95_ms), (100 * s.share).toFixed(0) + "%", note];
      for (const c of cells) { const td = document.createElement("td"); td.textContent = c; tr.append(td); }
      return tr;
    }));
    document.getElementById("verdict").textContent = rep.verdict;
    const slow = document.getElementById("slow");
    slow.hidden = !b.search_url;
    if (b.search_url) slow.href = b.search_url;
    document.getElementById("verdict").classList.remove("missing");
    panel.querySelector("table").hidden = false;
  } catch (e) {
    document.getElementById("verdict").textContent = e.message;
    document.getElementById("verdict").classList.add("missing");
    document.getElementById("steps").replaceChildren();
    panel.querySelector("table").hidden = true;
  }
  panel.hidden = false;
  return true;
}

refreshBottleneck().then(on => { if (on) setInterval(refreshBottleneck, 5000); });
