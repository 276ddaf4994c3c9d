"""The static parts of the gate report's page: its style, its introduction and the script that draws it.

The script reads the data element (`report.DATA_ELEMENT_ID`) and draws, per
layer, the coloured text, the units × tokens heat map, the gate saturation
plot and the top contexts; for a summarizer, the attention matrix and p_gen
of each example. Nothing is loaded from anywhere else.
"""

STYLE = """
:root { --ink: #1d2329; --muted: #5b6670; --line: #d9dee3; --panel: #f6f8fa; --accent: #b2182b; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       color: var(--ink); background: #fff; }
header { padding: 18px 28px 6px; border-bottom: 1px solid var(--line); }
h1 { font-size: 22px; margin: 0 0 2px; }
h2 { font-size: 18px; margin: 0 0 8px; }
h3 { font-size: 14px; margin: 14px 0 6px; color: var(--muted); text-transform: uppercase; letter-spacing: .04em; }
.run { margin: 0; color: var(--muted); font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 13px; }
.note { margin: 4px 0; padding: 4px 8px; background: #fff4d6; border-left: 3px solid #e0a800; font-size: 13px; }
.intro { color: var(--muted); font-size: 13px; max-width: 1100px; margin: 6px 0 8px; }
main { padding: 6px 28px 40px; }
section { border: 1px solid var(--line); border-radius: 8px; padding: 14px 18px; margin: 16px 0; }
.controls { display: flex; flex-wrap: wrap; gap: 14px; align-items: center; padding: 8px 10px; background: var(--panel);
            border-radius: 6px; font-size: 14px; }
.controls select, .controls input { font: inherit; padding: 2px 4px; }
.controls input[type=number] { width: 64px; }
.controls button { font: inherit; padding: 1px 8px; cursor: pointer; }
.meaning { color: var(--muted); font-style: italic; }
.legend { display: inline-flex; align-items: center; gap: 6px; font-size: 12px; color: var(--muted); }
.legend canvas { border: 1px solid var(--line); }
.text { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 14px; line-height: 1.9; margin: 10px 0;
        max-height: 250px; overflow-y: auto; padding: 6px 4px; }
.tok { padding: 2px 3px; margin: 0 1px; border-radius: 3px; white-space: pre; cursor: default; }
.tok.unk { text-decoration: underline dotted; }
.tok.mark { outline: 2px solid var(--ink); }
.row { display: flex; flex-wrap: wrap; gap: 24px; align-items: flex-start; }
.heat { overflow-x: auto; max-width: 100%; border: 1px solid var(--line); }
.heat canvas { display: block; image-rendering: pixelated; cursor: crosshair; }
.readout { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12px; color: var(--muted);
           min-height: 18px; }
.panels { display: flex; flex-wrap: wrap; gap: 10px; }
.panels svg { background: #fff; }
.panels svg circle { cursor: pointer; }
.contexts { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 13px; }
.contexts div { margin: 3px 0; white-space: nowrap; overflow-x: auto; }
.contexts .value { color: var(--muted); display: inline-block; width: 72px; }
table.attention { border-collapse: collapse; font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12px; }
table.attention th { font-weight: normal; padding: 2px 4px; }
table.attention thead th { writing-mode: vertical-rl; transform: rotate(180deg); text-align: left; height: 90px;
                           vertical-align: bottom; }
table.attention td { width: 16px; height: 16px; padding: 0; border: 1px solid #fff; }
table.attention td.pgen { width: 110px; border: 0; padding-left: 8px; color: var(--muted); }
table.attention thead th.pgen { writing-mode: horizontal-tb; transform: none; text-align: left; padding-left: 8px; }
.bar { display: inline-block; height: 10px; background: #4d7ea8; vertical-align: middle; margin-right: 4px; }
.scroll { overflow-x: auto; }
"""

INTRODUCTION = """<p class=intro>Each token is coloured by the value of one unit of one quantity as the layer read it:
gates (i, f, o; z, r) from 0 (white) to 1 (blue), the others from negative (blue) through 0 (white) to positive
(red). Pick the quantity and the unit above each layer, or click a row of the heat map or a dot of the saturation
plot. The saturation plot puts each unit at the fraction of tokens where its gate is below 0.1 (x) and above 0.9
(y), as in Karpathy, Johnson &amp; Fei-Fei, "Visualizing and Understanding Recurrent Networks" (2015). The data is
embedded in the element <code>#trace-data</code> as JSON.</p>"""

SCRIPT = r"""
"use strict";
const DATA = JSON.parse(document.getElementById("trace-data").textContent);
const GATES = new Set(["i", "f", "o", "z", "r"]);
const ORDER = ["i", "f", "g", "o", "c", "tanh(c)", "h", "z", "r", "n"];
const MEANING = {
  i: "input gate: how much of the candidate g is written into c",
  f: "forget gate: how much of c_prev is kept",
  g: "candidate memory",
  o: "output gate: how much of tanh(c) is shown as h",
  c: "cell state: the long-term memory",
  "tanh(c)": "the memory squashed into (-1, 1), before the output gate",
  h: "output: the short-term memory the next layer reads",
  z: "update gate: how much of h_prev is kept",
  r: "reset gate: how much of h_prev the candidate sees",
  n: "candidate state",
};

function el(tag, attributes, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes || {})) {
    if (key === "class") node.className = value; else if (key === "text") node.textContent = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
}
function svg(tag, attributes) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [key, value] of Object.entries(attributes || {})) node.setAttribute(key, value);
  return node;
}
const clamp = (x, low, high) => Math.min(high, Math.max(low, x));
const mix = (a, b, t) => a.map((x, k) => Math.round(x + (b[k] - x) * t));
const css = (rgb) => `rgb(${rgb[0]},${rgb[1]},${rgb[2]})`;
const ink = (rgb) => (0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2] < 135 ? "#fff" : "#111");
const WHITE = [255, 255, 255], PALE = [247, 251, 255], BLUE = [33, 102, 172], DEEP = [8, 69, 148], RED = [178, 24, 43];
function colour(value, scale) {
  if (scale.gate) return mix(PALE, DEEP, clamp(value, 0, 1));
  const t = clamp(value / scale.limit, -1, 1);
  return t < 0 ? mix(WHITE, BLUE, -t) : mix(WHITE, RED, t);
}
const fmt = (x) => (Math.abs(x) >= 100 ? x.toFixed(1) : x.toFixed(3));
const shown = (token) => (token === "<eos>" ? "⏎" : token);

function quantities(layer) {
  const names = Object.keys(layer.values);
  return ORDER.filter((q) => (q === "tanh(c)" ? names.includes("c") : names.includes(q)));
}
function value(layer, q, t, u) {
  return q === "tanh(c)" ? Math.tanh(layer.values.c[t][u]) : layer.values[q][t][u];
}
function column(layer, q, u) {
  return layer.tokens.map((_, t) => value(layer, q, t, u));
}
function maxAbs(values) {
  let m = 1e-6;
  for (const x of values) m = Math.max(m, Math.abs(x));
  return m;
}
function unitScale(layer, q, u) {
  if (GATES.has(q)) return { gate: true };
  return { gate: false, limit: q === "c" ? maxAbs(column(layer, q, u)) : 1 };
}
function layerScale(layer, q) {
  if (GATES.has(q)) return { gate: true };
  if (q !== "c") return { gate: false, limit: 1 };
  let m = 1e-6;
  for (const row of layer.values.c) for (const x of row) m = Math.max(m, Math.abs(x));
  return { gate: false, limit: m };
}
function mostVaried(layer, q) {
  const units = layer.values.h[0].length;
  let best = 0, bestSpread = -1;
  for (let u = 0; u < units; u++) {
    const values = column(layer, q, u);
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    const spread = values.reduce((a, b) => a + (b - mean) * (b - mean), 0);
    if (spread > bestSpread) { best = u; bestSpread = spread; }
  }
  return best;
}

function legend(scale) {
  const canvas = el("canvas", { width: 120, height: 10 });
  const context = canvas.getContext("2d");
  for (let x = 0; x < 120; x++) {
    const v = scale.gate ? x / 119 : (x / 119 * 2 - 1) * scale.limit;
    context.fillStyle = css(colour(v, scale));
    context.fillRect(x, 0, 1, 10);
  }
  const low = scale.gate ? "0" : fmt(-scale.limit), high = scale.gate ? "1" : fmt(scale.limit);
  return el("span", { class: "legend" }, low, canvas, high);
}

function textView(layer, q, u, unknown) {
  const values = column(layer, q, u), scale = unitScale(layer, q, u);
  const box = el("div", { class: "text" });
  layer.tokens.forEach((token, t) => {
    const rgb = colour(values[t], scale);
    const span = el("span", { class: "tok" + (unknown.has(t) ? " unk" : ""), text: shown(token),
                              title: `#${t} ${token}: ${fmt(values[t])}` +
                                     (unknown.has(t) ? " (read as <unk>)" : "") });
    span.style.background = css(rgb);
    span.style.color = ink(rgb);
    if (token === "<bos>" && t > 0) box.append(el("br"));  // a decoder's next summary
    box.append(span);
    if (token === "<eos>") box.append(el("br"));
  });
  return [box, legend(scale)];
}

function heatMap(layer, q, state, onPick) {
  const tokens = layer.tokens.length, units = layer.values.h[0].length;
  const cellWidth = clamp(Math.floor(1000 / tokens), 2, 14), cellHeight = units <= 48 ? 8 : units <= 160 ? 4 : 2;
  const image = new ImageData(tokens, units), scale = layerScale(layer, q);
  for (let u = 0; u < units; u++) for (let t = 0; t < tokens; t++) {
    const rgb = colour(value(layer, q, t, u), scale), k = 4 * (u * tokens + t);
    image.data[k] = rgb[0]; image.data[k + 1] = rgb[1]; image.data[k + 2] = rgb[2]; image.data[k + 3] = 255;
  }
  const source = el("canvas", { width: tokens, height: units });
  source.getContext("2d").putImageData(image, 0, 0);
  const canvas = el("canvas", { width: tokens * cellWidth, height: units * cellHeight });
  const context = canvas.getContext("2d");
  context.imageSmoothingEnabled = false;
  context.drawImage(source, 0, 0, canvas.width, canvas.height);
  context.strokeStyle = "#111";
  context.lineWidth = 1.5;
  context.strokeRect(0.75, state.unit * cellHeight - 0.75, canvas.width - 1.5, cellHeight + 1.5);
  const wrapper = el("div", { class: "heat" }, canvas);
  if (cellWidth >= 9) {  // room for the tokens under their columns
    const labels = el("canvas", { width: canvas.width, height: 64 }), pen = labels.getContext("2d");
    pen.font = "11px ui-monospace, Menlo, Consolas, monospace";
    pen.fillStyle = "#5b6670";
    layer.tokens.forEach((token, t) => {
      pen.save();
      pen.translate(t * cellWidth + cellWidth / 2 + 4, 4);
      pen.rotate(Math.PI / 2);
      pen.fillText(shown(token).slice(0, 9), 0, 0);
      pen.restore();
    });
    wrapper.append(labels);
  }
  const readout = el("div", { class: "readout",
                              text: `unit ${state.unit} outlined; hover for values, click to pick a unit` });
  canvas.addEventListener("mousemove", (event) => {
    const box = canvas.getBoundingClientRect();
    const t = Math.floor((event.clientX - box.left) / cellWidth);
    const u = Math.floor((event.clientY - box.top) / cellHeight);
    if (t >= 0 && t < tokens && u >= 0 && u < units)
      readout.textContent = `unit ${u} · token #${t} "${layer.tokens[t]}" · ${q} = ${fmt(value(layer, q, t, u))}`;
  });
  canvas.addEventListener("click", (event) => {
    const u = Math.floor((event.clientY - canvas.getBoundingClientRect().top) / cellHeight);
    if (u >= 0 && u < units) onPick(u);
  });
  return [wrapper, readout, legend(scale)];
}

function saturationPlots(layer, state, onPick) {
  const gates = Object.keys(layer.saturation);
  const box = el("div", { class: "panels" });
  if (!gates.length) return el("p", { class: "meaning", text: "this cell has no gates" });
  const size = 190, pad = 30;
  for (const gate of gates) {
    const plot = svg("svg", { width: size + pad + 8, height: size + pad + 22 });
    const x = (v) => pad + v * size, y = (v) => 18 + (1 - v) * size;
    plot.append(svg("rect", { x: pad, y: 18, width: size, height: size, fill: "#f6f8fa", stroke: "#d9dee3" }));
    plot.append(svg("line", { x1: x(0), y1: y(1), x2: x(1), y2: y(0), stroke: "#c3c9cf", "stroke-dasharray": "4 3" }));
    const title = svg("text", { x: pad + size / 2, y: 12, "text-anchor": "middle", "font-size": 13,
                                "font-weight": 600 });
    title.textContent = `${gate} gate`;
    const xLabel = svg("text", { x: pad + size / 2, y: size + 48, "text-anchor": "middle", "font-size": 11,
                                 fill: "#5b6670" });
    xLabel.textContent = "fraction < 0.1 →";
    const yLabel = svg("text", { x: 12, y: 18 + size / 2, "text-anchor": "middle", "font-size": 11, fill: "#5b6670",
                                 transform: `rotate(-90 12 ${18 + size / 2})` });
    yLabel.textContent = "fraction > 0.9 →";
    for (const [v, label] of [[0, "0"], [1, "1"]]) {
      const tick = svg("text", { x: x(v), y: size + 32, "text-anchor": "middle", "font-size": 10, fill: "#5b6670" });
      tick.textContent = label;
      plot.append(tick);
    }
    plot.append(title, xLabel, yLabel);
    const { left, right } = layer.saturation[gate];
    left.forEach((l, u) => {
      if (u === state.unit) return;
      const dot = svg("circle", { cx: x(l), cy: y(right[u]), r: 3, fill: "#2166ac", "fill-opacity": 0.55 });
      const tip = svg("title", {});
      tip.textContent = `unit ${u}: < 0.1 in ${(100 * l).toFixed(0)}%, ` +
                        `> 0.9 in ${(100 * right[u]).toFixed(0)}% of tokens`;
      dot.append(tip);
      dot.addEventListener("click", () => onPick(u));
      plot.append(dot);
    });
    if (state.unit < left.length)
      plot.append(svg("circle", { cx: x(left[state.unit]), cy: y(right[state.unit]), r: 5.5, fill: "#b2182b",
                                  stroke: "#fff", "stroke-width": 1.5 }));
    box.append(plot);
  }
  return box;
}

function contextsView(layer, q, u) {
  const key = q === "tanh(c)" ? "c" : q;  // tanh is increasing: the same tokens
  const positions = layer.top_contexts && layer.top_contexts[key] && layer.top_contexts[key][u];
  if (!positions) return null;
  const scale = unitScale(layer, q, u), values = column(layer, q, u), box = el("div", { class: "contexts" });
  for (const p of positions) {
    const line = el("div", {}, el("span", { class: "value", text: fmt(values[p]) }));
    for (let t = Math.max(0, p - 12); t <= Math.min(layer.tokens.length - 1, p + 4); t++) {
      const rgb = colour(values[t], scale);
      const span = el("span", { class: "tok" + (t === p ? " mark" : ""), text: shown(layer.tokens[t]) });
      span.style.background = css(rgb);
      span.style.color = ink(rgb);
      line.append(span);
    }
    box.append(line);
  }
  return box;
}

function layerSection(layer, unknown) {
  const names = quantities(layer);
  const state = { q: names.includes("tanh(c)") ? "tanh(c)" : "h", unit: 0 };
  state.unit = mostVaried(layer, state.q);
  const units = layer.values.h[0].length;
  const section = el("section", { class: "layer" });
  const body = el("div");
  const select = el("select");
  for (const q of names) select.append(el("option", { value: q, text: q }));
  const unitInput = el("input", { type: "number", min: 0, max: units - 1, value: state.unit });
  const meaning = el("span", { class: "meaning" });
  const pick = (u) => { state.unit = clamp(u, 0, units - 1); unitInput.value = state.unit; draw(); };
  select.addEventListener("change", () => { state.q = select.value; draw(); });
  unitInput.addEventListener("change", () => pick(parseInt(unitInput.value, 10) || 0));
  const previous = el("button", { text: "◀", title: "previous unit" });
  const next = el("button", { text: "▶", title: "next unit" });
  previous.addEventListener("click", () => pick(state.unit - 1));
  next.addEventListener("click", () => pick(state.unit + 1));
  const total = layer.units_total ? ` (first ${units} of ${layer.units_total} shown)` : "";
  section.append(
    el("h2", { text: `${layer.name} · ${layer.cell} · ${units} units${total} · ${layer.tokens.length} tokens` }),
    el("div", { class: "controls" }, el("label", {}, "quantity ", select),
       el("label", {}, "unit ", previous, " ", unitInput, " ", next), meaning),
    body);
  function draw() {
    select.value = state.q;
    meaning.textContent = MEANING[state.q] || "";
    body.replaceChildren();
    body.append(el("h3", { text: `text coloured by unit ${state.unit}'s ${state.q}` }),
                ...textView(layer, state.q, state.unit, unknown));
    body.append(el("h3", { text: `${state.q}: units × tokens` }), ...heatMap(layer, state.q, state, pick));
    body.append(el("h3", { text: "gate saturation, one dot per unit (red: the unit shown)" }),
                saturationPlots(layer, state, pick));
    const contexts = contextsView(layer, state.q, state.unit);
    const heading = `where unit ${state.unit}'s ${state.q} is highest (the marked token)`;
    if (contexts) body.append(el("h3", { text: heading }), contexts);
  }
  draw();
  return section;
}

function attentionSection(example, number) {
  const section = el("section");
  section.append(el("h2", { text: `example ${number}: attention` + (example.p_gen ? " and copying" : "") }));
  section.append(el("p", { class: "meaning", text: "rows: the summary's tokens as the decoder produced them; " +
    "columns: the document's tokens; darker = more attention." +
    (example.p_gen ? " p_gen is the probability of generating the token " +
    "from the vocabulary rather than copying it from the document." : "") }));
  const table = el("table", { class: "attention" });
  const head = el("tr", {}, el("th"));
  for (const token of example.source) head.append(el("th", { text: token }));
  if (example.p_gen) head.append(el("th", { class: "pgen", text: "p_gen" }));
  table.append(el("thead", {}, head));
  const rows = el("tbody");
  example.summary.forEach((token, t) => {
    const row = el("tr", {}, el("th", { text: token, style: "text-align:right" }));
    example.attention[t].forEach((weight, s) => {
      const rgb = mix(WHITE, [166, 54, 3], clamp(Math.sqrt(weight), 0, 1));
      const cell = el("td", { title: `${token} ← ${example.source[s]}: ${weight.toFixed(3)}` });
      cell.style.background = css(rgb);
      row.append(cell);
    });
    if (example.p_gen) {
      const p = example.p_gen[t], bar = el("span", { class: "bar" });
      bar.style.width = `${Math.round(60 * p)}px`;
      row.append(el("td", { class: "pgen" }, bar, p.toFixed(2)));
    }
    rows.append(row);
  });
  table.append(rows);
  section.append(el("div", { class: "scroll" }, table));
  return section;
}

const app = document.getElementById("app");
const unknown = new Set(DATA.unknown || []);
(DATA.examples || []).forEach((example, index) => app.append(attentionSection(example, index + 1)));
for (const layer of DATA.layers) app.append(layerSection(layer, DATA.kind === "language_model" ? unknown : new Set()));
"""
