// The report page's script (embedded by page.cc; plotly.js draws every chart). Reads the data from
// the page (gzip + base64) or, live, from HONE_CONFIG.url every refresh seconds.
(function () {
  "use strict";
  const CFG = window.HONE_CONFIG;
  const TITLES = {
    history: "Optimization history", intermediate: "Intermediate values (learning curves)",
    timeline: "Timeline", edf: "Empirical distribution of the objective", slice: "Slice",
    parallel: "Parallel coordinates", rank: "Rank", importance: "Hyperparameter importance",
    contour: "Contour (predicted by the fANOVA forest)", ablation: "Ablation path: baseline to best",
    pareto: "Pareto front", hypervolume: "Hypervolume history", curves: "Learning curves",
    lr: "Learning rate", metrics: "Final metrics", profile: "Profile", doctor: "Doctor's findings"
  };
  const MAX_POINTS = 3000, MAX_CURVES = 300, MAX_LINES = 1500, MAX_PARAMS = 8;
  const COLORS = ["#fde725", "#5dc963", "#21908d", "#3b528b", "#440154"];  // worst .. best fifth

  async function inflate(id) {
    const el = document.getElementById(id);
    const bin = atob(el.textContent.trim());
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; ++i) bytes[i] = bin.charCodeAt(i);
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    return await new Response(stream).text();
  }
  function esc(s) {
    return String(s).replace(/[&<>"]/g, c => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;"}[c]));
  }
  function fmt(v) {
    if (v === null || v === undefined) return "–";
    if (typeof v === "number") return Number.isInteger(v) ? String(v) : v.toPrecision(6).replace(/\.?0+(e|$)/, "$1");
    return typeof v === "string" ? v : JSON.stringify(v);
  }
  function secs(x) {
    if (typeof x !== "number") return "–";
    return x < 0.01 ? (x * 1000).toFixed(2) + " ms" : x.toFixed(3) + " s";
  }
  function section(id) {
    let el = document.getElementById("view-" + id);
    if (el) return el;
    const s = document.createElement("section");
    s.id = "section-" + id;
    s.innerHTML = `<h2>${esc(TITLES[id] || id)}</h2><p class="note" id="note-${id}"></p>` +
      `<div class="plot" id="view-${id}"></div><div class="table" id="table-${id}"></div>`;
    document.getElementById("views").appendChild(s);
    return document.getElementById("view-" + id);
  }
  function note(id, text) { section(id); document.getElementById("note-" + id).textContent = text || ""; }
  function table(id, rows, head) {
    section(id);
    const h = head ? "<tr>" + head.map(c => `<th>${esc(c)}</th>`).join("") + "</tr>" : "";
    document.getElementById("table-" + id).innerHTML = "<table>" + h +
      rows.map(r => "<tr>" + r.map(c => `<td>${esc(fmt(c))}</td>`).join("") + "</tr>").join("") + "</table>";
  }
  function done(id) { section(id).setAttribute("data-rendered", "1"); }
  async function plot(id, traces, layout) {
    const el = section(id);
    const base = {margin: {l: 70, r: 30, t: 20, b: 55}, height: 400, hovermode: "closest",
                  showlegend: true, legend: {orientation: "h", y: -0.18}};
    await Plotly.react(el, traces, Object.assign(base, layout || {}), {displaylogo: false, responsive: true});
    done(id);
  }
  // Every `step`-th element, always keeping those `keep` says to keep.
  function thin(arr, max, keep) {
    if (arr.length <= max) return arr;
    const step = arr.length / max;
    const out = [];
    let next = 0;
    arr.forEach((a, i) => { if (i >= next) { out.push(a); next += step; } else if (keep && keep(a)) out.push(a); });
    return out;
  }

  let D, P, minimize, complete, best;
  function prepare(data) {
    D = window.honeData = data;
    P = {};
    (D.params || []).forEach(p => P[p.name] = p);
    minimize = !D.directions || D.directions[0] !== "MAXIMIZE";
    complete = (D.trials || []).filter(t => t.state === "COMPLETE" && t.value !== null);
    best = D.best ? D.best.number : -1;
  }
  function shown(name, v) {  // a parameter's internal value as the user sees it
    const p = P[name];
    return p && p.kind === "categorical" ? p.choices[Math.round(v)] : v;
  }
  function axisFor(name, title) {
    const p = P[name] || {};
    const a = {title: {text: title || name}};
    if (p.kind === "categorical") { a.type = "category"; a.categoryorder = "array"; a.categoryarray = p.choices; }
    else if (p.log) a.type = "log";
    return a;
  }
  function ranked() {  // params, most important first
    const names = (D.params || []).map(p => p.name);
    const f = D.importance && D.importance.fanova;
    if (f) names.sort((a, b) => (f[b] || 0) - (f[a] || 0));
    return names;
  }
  const vname = () => "objective (" + (minimize ? "minimize" : "maximize") + ")";

  const VIEWS = {
    async history() {
      const pts = thin(complete, MAX_POINTS, t => t.number === best);
      let run = null;
      const bx = [], by = [];
      complete.forEach(t => {
        if (run === null || (minimize ? t.value < run : t.value > run)) run = t.value;
        bx.push(t.number); by.push(run);
      });
      const base = complete.filter(t => t.baseline);
      note("history", complete.length ? `${complete.length} complete of ${D.n_trials} trials` +
        (pts.length < complete.length ? ` (${pts.length} points drawn)` : "") : "no complete trial yet");
      await plot("history", [
        {type: "scatter", mode: "markers", name: "trial value", x: pts.map(t => t.number), y: pts.map(t => t.value),
         marker: {size: 5, color: "#1f77b4", opacity: 0.6}},
        {type: "scatter", mode: "lines", name: "best so far", x: bx, y: by, line: {color: "#d62728", shape: "hv"}},
        {type: "scatter", mode: "markers", name: "baseline", x: base.map(t => t.number), y: base.map(t => t.value),
         marker: {size: 11, symbol: "star", color: "#ff7f0e"}}
      ], {xaxis: {title: {text: "trial"}}, yaxis: {title: {text: vname()}}});
    },
    async intermediate() {
      let ts = D.trials.filter(t => t.intermediate.length > 0);
      const total = D.intermediate_total || ts.length;
      ts = thin(ts, MAX_CURVES, t => t.number === best);
      const groups = {COMPLETE: [[], []], PRUNED: [[], []], OTHER: [[], []]};
      const cut = [[], [], []];
      ts.forEach(t => {
        const g = groups[t.state] || groups.OTHER;
        t.intermediate.forEach(([s, v]) => { g[0].push(s); g[1].push(v); });
        g[0].push(null); g[1].push(null);
        if (t.state === "PRUNED") {
          const last = t.intermediate[t.intermediate.length - 1];
          cut[0].push(last[0]); cut[1].push(last[1]); cut[2].push("trial " + t.number + " pruned");
        }
      });
      note("intermediate", total ? `${total} trials reported values` + (ts.length < total ? ` (${ts.length} drawn)` : "") +
        "; × marks where the pruner stopped a trial" : "no trial reported intermediate values");
      const line = (g, name, color) => ({type: "scatter", mode: "lines", name, x: groups[g][0], y: groups[g][1],
        line: {width: 1, color}, opacity: 0.6, connectgaps: false});
      await plot("intermediate", [line("COMPLETE", "complete", "#1f77b4"), line("PRUNED", "pruned", "#aaaaaa"),
        line("OTHER", "running / failed", "#2ca02c"),
        {type: "scatter", mode: "markers", name: "pruned here", x: cut[0], y: cut[1], text: cut[2],
         marker: {symbol: "x", size: 8, color: "#d62728"}}],
        {xaxis: {title: {text: "step"}}, yaxis: {title: {text: "intermediate value"}}});
    },
    async timeline() {
      const withStart = D.trials.filter(t => t.start !== null);
      const workers = withStart.some(t => t.worker);
      const now = Date.now() / 1000;
      const by = {};
      withStart.forEach(t => {
        const s = by[t.state] || (by[t.state] = {x: [], y: [], text: []});
        const y = workers ? (t.worker || "?") : t.number;
        s.x.push(new Date(t.start * 1000), new Date((t.complete || now) * 1000), null);
        s.y.push(y, y, null);
        s.text.push("trial " + t.number, "trial " + t.number, null);
      });
      const color = {COMPLETE: "#1f77b4", PRUNED: "#ff7f0e", FAIL: "#d62728", RUNNING: "#2ca02c", WAITING: "#999"};
      note("timeline", withStart.length ? `start to end of each trial` + (workers ? ", one row per worker" : ", one row per trial")
        : "no trial has started");
      await plot("timeline", Object.keys(by).map(k => ({type: "scatter", mode: "lines", name: k,
        x: by[k].x, y: by[k].y, text: by[k].text, line: {width: 6, color: color[k]}})),
        {xaxis: {type: "date", title: {text: "time"}},
         yaxis: workers ? {type: "category", title: {text: "worker"}} : {title: {text: "trial"}}});
    },
    async edf() {
      const v = complete.map(t => t.value).sort((a, b) => a - b);
      const pts = thin(v.map((x, i) => [x, (i + 1) / v.length]), MAX_POINTS * 2);
      note("edf", v.length ? "share of complete trials with a value at or below x" : "no complete trial yet");
      await plot("edf", [{type: "scatter", mode: "lines", name: D.study_name, x: pts.map(p => p[0]),
        y: pts.map(p => p[1]), line: {shape: "hv"}}],
        {xaxis: {title: {text: vname()}}, yaxis: {title: {text: "cumulative share"}, range: [0, 1.02]}});
    },
    async slice() {
      const names = ranked().slice(0, MAX_PARAMS);
      const pts = thin(complete, MAX_POINTS / 4, t => t.number === best);  // per subplot
      const cols = Math.min(4, names.length), rows = Math.ceil(names.length / cols);
      const traces = [], layout = {grid: {rows, columns: cols, pattern: "independent"}, height: 300 * rows, showlegend: false};
      names.forEach((n, i) => {
        const ts = pts.filter(t => n in t.params);
        const k = i === 0 ? "" : String(i + 1);
        traces.push({type: "scatter", mode: "markers", x: ts.map(t => shown(n, t.params[n])), y: ts.map(t => t.value),
          xaxis: "x" + k, yaxis: "y" + k, name: n, text: ts.map(t => "trial " + t.number),
          marker: {size: 5, color: ts.map(t => t.number), colorscale: "Blues", reversescale: true, opacity: 0.7,
                   showscale: i === 0, colorbar: {title: {text: "trial"}}}});
        layout["xaxis" + k] = axisFor(n);
        layout["yaxis" + k] = {title: {text: i % cols === 0 ? "objective" : ""}};
      });
      note("slice", (D.params.length > names.length ? `the ${names.length} most important of ${D.params.length} parameters; ` : "") +
        "each dot is a complete trial, darker = later");
      await plot("slice", traces, layout);
    },
    async parallel() {
      // Parallel coordinates as plain SVG lines (no WebGL): every axis scaled to [0, 1].
      const names = ranked().slice(0, MAX_PARAMS);
      const axes = ["objective"].concat(names);
      const vals = complete.map(t => t.value);
      const lo = Math.min(...vals), hi = Math.max(...vals);
      const scale = (n, v) => {
        if (n === "objective") return hi > lo ? (v - lo) / (hi - lo) : 0.5;
        const p = P[n];
        if (p.high <= p.low) return 0.5;
        if (p.log) return (Math.log(v) - Math.log(p.low)) / (Math.log(p.high) - Math.log(p.low));
        return (v - p.low) / (p.high - p.low);
      };
      const pts = thin(complete, MAX_LINES, t => t.number === best);
      const bins = COLORS.map(() => ({x: [], y: []}));
      const sorted = vals.slice().sort((a, b) => a - b);
      const below = v => {  // share of trials with a smaller value
        let lo = 0, hi = sorted.length;
        while (lo < hi) { const m = (lo + hi) >> 1; if (sorted[m] < v) lo = m + 1; else hi = m; }
        return lo / sorted.length;
      };
      pts.forEach(t => {
        const q = below(t.value);  // quantile: each colour holds a fifth of the trials
        const b = bins[Math.min(COLORS.length - 1, Math.floor((minimize ? 1 - q : q) * COLORS.length))];
        axes.forEach((n, i) => {
          const v = n === "objective" ? t.value : t.params[n];
          b.x.push(i); b.y.push(v === undefined ? null : scale(n, v));
        });
        b.x.push(null); b.y.push(null);
      });
      const traces = bins.map((b, i) => ({type: "scatter", mode: "lines", x: b.x, y: b.y, hoverinfo: "skip",
        name: i === 0 ? "worst 20%" : i === COLORS.length - 1 ? "best 20%" : `${20 * i}–${20 * (i + 1)}% from worst`,
        line: {width: 1, color: COLORS[i]}, opacity: 0.45}));
      const bt = complete.find(t => t.number === best);
      if (bt) traces.push({type: "scatter", mode: "lines+markers", name: "best trial #" + best, x: axes.map((_, i) => i),
        y: axes.map(n => n === "objective" ? scale(n, bt.value) : (n in bt.params ? scale(n, bt.params[n]) : null)),
        line: {width: 3, color: "#d62728"}});
      const ends = n => {
        if (n === "objective") return [lo, hi];
        const p = P[n];
        return p.kind === "categorical" ? [p.choices[0], p.choices[p.choices.length - 1]] : [p.low, p.high];
      };
      const ann = [];
      axes.forEach((n, i) => {
        const [a, b] = ends(n);
        ann.push({x: i, y: -0.06, text: fmt(a), showarrow: false, font: {size: 10}},
                 {x: i, y: 1.06, text: fmt(b), showarrow: false, font: {size: 10}});
      });
      note("parallel", `${pts.length} of ${complete.length} complete trials; each axis runs from its low (bottom) to its high (top)` +
        (D.params.length > names.length ? `; the ${names.length} most important parameters` : ""));
      await plot("parallel", traces, {height: 460, annotations: ann,
        shapes: axes.map((_, i) => ({type: "line", x0: i, x1: i, y0: 0, y1: 1, line: {color: "#444", width: 1}})),
        xaxis: {tickvals: axes.map((_, i) => i), ticktext: axes, range: [-0.3, axes.length - 0.7], showgrid: false},
        yaxis: {range: [-0.12, 1.12], showticklabels: false, showgrid: false, zeroline: false}});
    },
    async rank() {
      const names = ranked();
      const pts = thin(complete, MAX_POINTS / 2, t => t.number === best);
      const order = complete.map(t => t.value).sort((a, b) => a - b);
      const pct = v => {  // share of trials at or better than v
        let lo = 0, hi = order.length;
        while (lo < hi) { const m = (lo + hi) >> 1; if (order[m] <= v) lo = m + 1; else hi = m; }
        return minimize ? lo / order.length : 1 - (lo - 1) / order.length;
      };
      const two = names.length >= 2;
      const ts = pts.filter(t => names[0] in t.params && (!two || names[1] in t.params));
      note("rank", two ? `the two most important parameters; colour = rank of the trial's value (0 = best)`
        : `colour = rank of the trial's value (0 = best)`);
      await plot("rank", [{type: "scatter", mode: "markers", name: "trial",
        x: ts.map(t => shown(names[0], t.params[names[0]])),
        y: two ? ts.map(t => shown(names[1], t.params[names[1]])) : ts.map(t => t.value),
        text: ts.map(t => `trial ${t.number}: ${fmt(t.value)}`),
        marker: {size: 7, color: ts.map(t => pct(t.value)), colorscale: "RdYlBu", reversescale: false,
                 cmin: 0, cmax: 1, showscale: true, colorbar: {title: {text: "rank"}}}}],
        {xaxis: axisFor(names[0]), yaxis: two ? axisFor(names[1]) : {title: {text: "objective"}}, showlegend: false});
    },
    async importance() {
      const I = D.importance;
      const all = ranked().filter(n => n in I.fanova);
      const names = all.slice(0, 20).reverse();
      const bar = (src, name, color) => ({type: "bar", orientation: "h", name, y: names,
        x: names.map(n => src[n] === null || src[n] === undefined ? 0 : src[n]), marker: {color}});
      const traces = [bar(I.fanova, "fANOVA", "#1f77b4"), bar(I.ped_anova || {}, "PED-ANOVA", "#ff7f0e"),
        Object.assign(bar(I.correlation || {}, "Spearman correlation", "#2ca02c"), {xaxis: "x2", yaxis: "y2"})];
      const s = I.seconds || {};
      note("importance", `share of the objective's variance per parameter (fANOVA: ${I.fanova_rows || I.n_trials} trials, ` +
        `${secs(s.fanova)}; PED-ANOVA: top 10% against all, ${secs(s.ped_anova)}); right: rank correlation with the objective` +
        (I.conditional && I.conditional.length ? `; not in every trial, so left out: ${I.conditional.join(", ")}` : "") +
        (all.length > names.length ? `; the ${names.length} most important of ${all.length} shown` : ""));
      await plot("importance", traces, {barmode: "group", height: Math.max(300, 90 + 45 * names.length),
        legend: {orientation: "h", y: 1.02, yanchor: "bottom", x: 0}, margin: {l: 140, r: 30, t: 40, b: 55},
        grid: {rows: 1, columns: 2, pattern: "independent"},
        xaxis: {title: {text: "importance (share)"}, domain: [0, 0.62]},
        xaxis2: {title: {text: "Spearman ρ"}, range: [-1, 1], domain: [0.7, 1]},
        yaxis: {automargin: true}, yaxis2: {showticklabels: false, matches: "y"}});
    },
    async contour() {
      const c = D.contour;
      const axis = (n, vs) => {
        const a = axisFor(n);
        if (P[n].kind === "categorical") { delete a.categoryarray; a.type = "linear"; a.tickvals = vs; a.ticktext = P[n].choices; }
        return a;
      };
      const pts = thin(complete, MAX_POINTS / 2, t => t.number === best).filter(t => c.x in t.params && c.y in t.params);
      note("contour", `the forest's prediction over ${c.x} and ${c.y}, the other parameters at the best trial's values; dots: trials`);
      await plot("contour", [
        {type: "contour", x: c.xs, y: c.ys, z: c.z, colorscale: "Viridis", reversescale: !minimize,
         colorbar: {title: {text: "predicted"}}, contours: {coloring: "heatmap"}, name: "predicted"},
        {type: "scatter", mode: "markers", x: pts.map(t => t.params[c.x]), y: pts.map(t => t.params[c.y]),
         name: "trials", marker: {size: 4, color: "white", line: {width: 1, color: "#333"}}}],
        {xaxis: axis(c.x, c.xs), yaxis: axis(c.y, c.ys), height: 480, showlegend: false});
    },
    async ablation() {
      const A = D.ablation;
      const labels = ["baseline #" + A.baseline].concat(A.steps.map(s => `${s.param}: ${fmt(s.from)} → ${fmt(s.to)}`));
      const vals = [A.baseline_predicted].concat(A.steps.map(s => s.value));
      note("ablation", `from ${A.baseline_marked ? "the baseline" : "the first complete trial (no trial is marked baseline)"} ` +
        `#${A.baseline} (value ${fmt(A.baseline_value)}) to the best #${A.best} (value ${fmt(A.best_value)}), ` +
        `one parameter at a time, the change that helps most first; the line is PREDICTED by the fANOVA forest, ` +
        `red diamonds are actual values where a trial had exactly that configuration`);
      table("ablation", A.table.map(r => [r.param, r.before, r.after]), ["parameter", "before (baseline)", "after (best)"]);
      await plot("ablation", [
        {type: "scatter", mode: "lines+markers", name: "predicted value", x: labels, y: vals, line: {shape: "hv"}},
        {type: "scatter", mode: "markers", name: "actual (a trial had this configuration)",
         x: [labels[0]].concat(A.steps.map((st, i) => st.actual !== null && st.actual !== undefined ? labels[i + 1] : null)),
         y: [A.baseline_value].concat(A.steps.map(st => st.actual !== null && st.actual !== undefined ? st.actual : null)),
         marker: {size: 11, symbol: "diamond", color: "#d62728"}}],
        {xaxis: {type: "category", automargin: true}, yaxis: {title: {text: "objective"}}, height: 480,
         legend: {orientation: "h", y: 1.02, yanchor: "bottom", x: 0}, margin: {l: 70, r: 30, t: 40, b: 40}});
    },
    async pareto() {
      const F = new Set(D.pareto.front);
      const pts = complete.filter(t => t.values && t.values.length >= 2);
      const front = pts.filter(t => F.has(t.number)).sort((a, b) => a.values[0] - b.values[0]);
      const rest = thin(pts.filter(t => !F.has(t.number)), MAX_POINTS);
      note("pareto", `${front.length} trials on the front of ${pts.length}` +
        (D.directions.length > 2 ? "; first two objectives shown" : ""));
      await plot("pareto", [
        {type: "scatter", mode: "markers", name: "dominated", x: rest.map(t => t.values[0]), y: rest.map(t => t.values[1]),
         marker: {size: 5, color: "#aaaaaa"}},
        {type: "scatter", mode: "lines+markers", name: "Pareto front", x: front.map(t => t.values[0]),
         y: front.map(t => t.values[1]), text: front.map(t => "trial " + t.number),
         line: {shape: "hv", color: "#d62728"}, marker: {size: 8}}],
        {xaxis: {title: {text: "objective 1 (" + D.directions[0].toLowerCase() + ")"}},
         yaxis: {title: {text: "objective 2 (" + D.directions[1].toLowerCase() + ")"}}});
    },
    async hypervolume() {
      const h = D.pareto.hypervolume;
      note("hypervolume", "reference point " + JSON.stringify(D.pareto.reference));
      await plot("hypervolume", [{type: "scatter", mode: "lines", name: "hypervolume", x: h.map(p => p[0]),
        y: h.map(p => p[1]), line: {shape: "hv"}}],
        {xaxis: {title: {text: "trial"}}, yaxis: {title: {text: "hypervolume"}}});
    },
    async curves() {
      const H = D.run.history;
      const keys = [...new Set(H.flatMap(r => Object.keys(r)))].filter(k => !["epoch", "lr", "time_s", "samples_per_s", "mem_peak_bytes", "mem_rss_bytes"].includes(k));
      const ep = H.map((r, i) => r.epoch !== undefined ? r.epoch : i + 1);
      const loss = keys.filter(k => k.includes("loss"));
      const traces = keys.map(k => ({type: "scatter", mode: "lines+markers", name: k, x: ep, y: H.map(r => r[k] === undefined ? null : r[k]),
        yaxis: loss.includes(k) ? "y" : "y2"}));
      note("curves", `${H.length} epochs from ${D.run.dir}; losses left axis, other metrics right axis`);
      await plot("curves", traces, {margin: {l: 70, r: 80, t: 20, b: 55}, xaxis: {title: {text: "epoch"}}, yaxis: {title: {text: "loss"}},
        yaxis2: {title: {text: "metric"}, overlaying: "y", side: "right"}});
    },
    async lr() {
      const H = D.run.history;
      await plot("lr", [{type: "scatter", mode: "lines+markers", name: "learning rate",
        x: H.map((r, i) => r.epoch !== undefined ? r.epoch : i + 1), y: H.map(r => r.lr)}],
        {xaxis: {title: {text: "epoch"}}, yaxis: {title: {text: "learning rate"}, type: "log"}});
    },
    async metrics() { kv("metrics", D.run.metrics); },
    async profile() { kv("profile", D.run.profile); },
    async doctor() { kv("doctor", D.run.doctor); }
  };
  function kv(id, obj) {  // any JSON as a key / value table (nested keys joined by dots)
    const rows = [];
    const walk = (o, pre) => {
      if (o !== null && typeof o === "object" && !Array.isArray(o)) Object.keys(o).forEach(k => walk(o[k], pre ? pre + "." + k : k));
      else if (Array.isArray(o) && o.some(x => x !== null && typeof x === "object"))
        o.forEach((x, i) => walk(x, pre + "[" + i + "]"));
      else rows.push([pre, o]);
    };
    walk(obj, "");
    note(id, "");
    table(id, rows, ["key", "value"]);
    done(id);
  }

  function summary() {
    const el = document.getElementById("summary");
    const rows = [["study", D.study_name], ["generated", D.generated_at]];
    if (D.kind !== "run") {
      rows.push(["direction", (D.directions || []).join(", ")], ["trials", D.n_trials],
        ["states", Object.entries(D.states || {}).map(([k, v]) => `${k} ${v}`).join(", ") || "–"]);
      if (D.best) rows.push(["best", `#${D.best.number}: ${fmt(D.best.value)}  ${JSON.stringify(D.best.params)}`]);
    }
    el.innerHTML = "<table>" + rows.map(r => `<tr><th>${esc(r[0])}</th><td>${esc(fmt(r[1]))}</td></tr>`).join("") + "</table>";
  }

  let drawing = false;
  async function draw(data) {
    if (drawing) return;
    drawing = true;
    window.honeReady = false;
    try {
      prepare(data);
      summary();
      const times = window.honeTimes = {};
      for (const id of D.views || []) {
        const t0 = performance.now();
        try { await VIEWS[id](); times[id] = Math.round(performance.now() - t0); }
        catch (e) { console.error("hone report: view " + id + " failed: " + (e && e.stack || e)); }
      }
      document.body.setAttribute("data-ready", "1");
      window.honeReady = true;
    } finally { drawing = false; }
  }
  async function refresh() {
    try {
      const r = await fetch(CFG.url, {cache: "no-store"});
      if (!r.ok) throw new Error("HTTP " + r.status);
      document.getElementById("status").textContent = "live, updated " + new Date().toLocaleTimeString();
      await draw(await r.json());
    } catch (e) {
      document.getElementById("status").textContent = "live: cannot fetch " + CFG.url + " (" + e.message + "); retrying";
    }
  }
  async function start() {
    const t0 = performance.now();
    (0, eval)(await inflate("hone-plotly"));
    const t1 = performance.now();
    const data = JSON.parse(await inflate("hone-data"));
    const t2 = performance.now();
    await draw(data);
    Object.assign(window.honeTimes, {plotly: Math.round(t1 - t0), data: Math.round(t2 - t1)});
    if (CFG.live) setInterval(refresh, Math.max(0.5, CFG.refresh) * 1000);
  }
  start().catch(e => console.error("hone report: " + (e && e.stack || e)));
})();
