// "Where it runs": each service's instances grouped by node, with their Consul health,
// their Nomad allocation and, for workers, their own loops/s; +/- per group when the
// web UI's server has scaling on. It polls /placement every 2 s, so a scale or a lost
// node shows within seconds.
"use strict";

function h(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

async function scale(group, delta, buttons) {
  const msg = document.getElementById("scale-msg");
  buttons.forEach(b => b.disabled = true);
  try {
    const r = await fetch("/scale", { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ group, delta }) });
    const b = await r.json();
    if (!r.ok) throw new Error(b.error || r.statusText);
    msg.hidden = true;
  } catch (e) {
    msg.textContent = `scaling ${group} refused: ${e.message}`;
    msg.hidden = false;
  } finally {
    buttons.forEach(b => b.disabled = false);
    refreshWhere();
  }
}

function chip(group, p) {
  const health = p.health === "not registered" ? "unregistered" : p.health;
  const c = h("span", "chip " + (p.alloc_status === "pending" ? "pending" : health));
  const rate = p.loops_per_s !== undefined ? p.loops_per_s.toFixed(1) + " loops/s" : "";
  c.append(h("b", "", p.alloc || p.addr));
  if (rate) c.append(" · " + rate);
  c.title = [p.addr, "Consul: " + p.health, p.alloc ? `Nomad: allocation ${p.alloc}, ${p.alloc_status}` : "not run by Nomad"].join("\n");
  c.dataset.health = p.health;
  return c;
}

async function refreshWhere() {
  const missing = document.getElementById("where-missing"), box = document.getElementById("groups");
  try {
    const r = await fetch("/placement", { cache: "no-store" });
    const pl = await r.json();
    if (!r.ok) throw new Error(pl.error || r.statusText);
    const notes = [pl.consul_error, pl.nomad_error].filter(Boolean);
    missing.textContent = notes.join("; ");
    missing.hidden = notes.length === 0;
    box.dataset.scaling = String(pl.scaling.enabled);
    box.replaceChildren(...pl.groups.map(g => {
      const row = h("div", "group");
      row.dataset.group = g.name;
      const count = g.nodes.reduce((n, nd) => n + nd.instances.length, 0);
      const passing = g.nodes.reduce((n, nd) => n + nd.instances.filter(i => i.health === "passing").length, 0);
      row.dataset.instances = String(count);
      row.dataset.passing = String(passing);
      const head = h("div");
      head.append(h("div", "name", g.name));
      head.append(h("div", "count", `${passing} healthy` + (count > passing ? ` of ${count}` : "") +
        (g.wanted !== undefined ? `, ${g.wanted} wanted` : "")));
      if (g.name === "worker") {
        const rates = g.nodes.flatMap(n => n.instances).filter(i => i.loops_per_s !== undefined);
        const total = rates.reduce((s, i) => s + i.loops_per_s, 0);
        if (rates.length) head.append(h("div", "count", total.toFixed(1) + " loops/s together"));
      }
      if (pl.scaling.enabled && !pl.nomad_error) {
        const s = h("div", "scale"), minus = h("button", "minus", "−"), plus = h("button", "plus", "+");
        minus.title = `one ${g.name} fewer`; plus.title = `one more ${g.name}`;
        minus.addEventListener("click", () => scale(g.name, -1, [minus, plus]));
        plus.addEventListener("click", () => scale(g.name, 1, [minus, plus]));
        s.append(minus, plus);
        head.append(s);
      }
      const nodes = h("div", "nodes");
      for (const nd of g.nodes) {
        const n = h("div", "node");
        n.dataset.node = nd.node;
        n.append(h("div", "nodename", nd.node || "(unknown node)"));
        nd.instances.forEach(p => n.append(chip(g.name, p)));
        nodes.append(n);
      }
      if (!g.nodes.length) nodes.append(h("span", "count", "no instance"));
      row.append(head, nodes);
      return row;
    }));
  } catch (e) {
    missing.textContent = "cannot read where it runs: " + e.message;
    missing.hidden = false;
  }
}

refreshWhere();
setInterval(refreshWhere, 2000);
