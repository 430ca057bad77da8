// The chat panel of a served report: plain DOM, text only (answers never become markup).
(function () {
  "use strict";
  var panel = document.getElementById("chat");
  if (!panel) { return; }
  var base = panel.dataset.base;
  var key = "finops-session:" + panel.dataset.report;
  var turns = document.getElementById("turns");
  var form = document.getElementById("ask");
  var box = document.getElementById("question");
  var status = document.getElementById("status");
  var plotly = null;

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  function post(path, body) {
    return fetch(base + path, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body)
    }).then(function (r) {
      return r.json().then(function (data) {
        if (!r.ok) { throw new Error(data.error || ("HTTP " + r.status)); }
        return data;
      });
    });
  }

  function table(turn) {
    var t = el("table");
    var head = el("tr");
    turn.columns.forEach(function (c) { head.appendChild(el("th", null, c)); });
    t.appendChild(el("thead")).appendChild(head);
    var body = t.appendChild(el("tbody"));
    turn.rows.slice(0, 20).forEach(function (row) {
      var tr = el("tr");
      turn.columns.forEach(function (c) {
        var v = row[c];
        tr.appendChild(el("td", typeof v === "number" ? "num" : null, v === null ? "" : v));
      });
      body.appendChild(tr);
    });
    return t;
  }

  function loadPlotly() {
    if (!plotly) {
      plotly = new Promise(function (resolve, reject) {
        var s = document.createElement("script");
        s.src = "/static/plotly.min.js";
        s.onload = function () { resolve(window.Plotly); };
        s.onerror = reject;
        document.head.appendChild(s);
      });
    }
    return plotly;
  }

  function chart(turn, node) {
    var spec = turn.chart;
    var x = turn.rows.map(function (r) { return r[spec.x]; });
    var traces = spec.y.map(function (c) {
      return { type: "scatter", mode: "lines+markers", name: c, x: x,
               y: turn.rows.map(function (r) { return r[c]; }) };
    });
    // the table above stays the answer when the chart library cannot load
    loadPlotly().then(function (P) {
      P.newPlot(node, traces, { margin: { t: 10, r: 10, b: 40, l: 60 }, showlegend: spec.y.length > 1 },
                { displayModeBar: false, responsive: true });
    }, function () { node.remove(); });
  }

  function rating(turn) {
    var div = el("div", "rating");
    var done = el("span", "muted", turn.rating ? (turn.rating > 0 ? "Rated good." : "Rated bad.") : "");
    [["Good", true], ["Bad", false]].forEach(function (pair) {
      var b = el("button", null, pair[0]);
      b.type = "button";
      b.dataset.rate = pair[1] ? "good" : "bad";
      b.addEventListener("click", function () {
        post("rate", { session_id: localStorage.getItem(key), interaction_id: turn.interaction_id, good: pair[1] })
          .then(function (r) { done.textContent = r.rating > 0 ? "Rated good." : "Rated bad."; },
                function (e) { done.textContent = "Rating not saved: " + e.message; });
      });
      div.appendChild(b);
    });
    div.appendChild(done);
    return div;
  }

  function show(turn) {
    var div = el("div", "turn");
    div.dataset.mode = turn.mode || "";
    div.appendChild(el("p", "q", turn.question));
    var refused = ["error", "help", "refusal"].indexOf(turn.mode) >= 0;
    div.appendChild(el("p", "sentence" + (refused ? " refused" : ""), turn.sentence));
    if (!refused && turn.columns.length) {
      div.appendChild(table(turn));
      if (turn.row_count > 20) { div.appendChild(el("p", "muted", "First 20 of " + turn.row_count + " rows.")); }
      if (turn.chart) { chart(turn, div.appendChild(el("div", "chart"))); }
    }
    if (turn.sql) { div.appendChild(el("pre", "sql", turn.sql)); }
    turn.warnings.forEach(function (w) { div.appendChild(el("p", "muted", w)); });
    div.appendChild(rating(turn));
    turns.appendChild(div);
    div.scrollIntoView({ block: "end" });
  }

  function restore() {
    var session = localStorage.getItem(key);
    if (!session) { return; }
    fetch(base + "chat?session=" + encodeURIComponent(session), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : { turns: [] }; })
      .then(function (data) { data.turns.forEach(show); });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var question = box.value.trim();
    if (!question) { return; }
    status.textContent = "Working…";
    post("chat", { question: question, session_id: localStorage.getItem(key) || null })
      .then(function (turn) {
        localStorage.setItem(key, turn.session_id);
        box.value = "";
        status.textContent = "";
        show(turn);
      }, function (e) { status.textContent = "Not answered: " + e.message; });
  });

  // a suggested prompt is asked by its number, exactly as `finops chat` takes it
  Array.prototype.forEach.call(document.querySelectorAll("#prompts button"), function (b) {
    b.addEventListener("click", function () {
      box.value = b.dataset.question;
      form.requestSubmit();
    });
  });

  document.getElementById("new-session").addEventListener("click", function () {
    localStorage.removeItem(key);
    turns.textContent = "";
  });

  restore();
})();
