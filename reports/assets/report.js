// wsharness report: filters, the case detail panel and sortable tables.
// Everything from the results is inserted with textContent, never as markup.
(function () {
  "use strict";

  var data = null;
  function reportData() {
    if (data === null) {
      var el = document.getElementById("report-data");
      try {
        data = JSON.parse(el ? el.textContent : "{}") || {};
      } catch (e) {
        data = {};
      }
      if (!data.runs) data.runs = [];
    }
    return data;
  }

  function $(id) { return document.getElementById(id); }

  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  var verdictClass = {
    "OK": "v-ok", "NON-STRICT": "v-ns", "INFORMATIONAL": "v-info",
    "UNIMPLEMENTED": "v-unimpl", "FAILED": "v-failed"
  };
  function chip(verdict, prefix) {
    return el("span", (prefix || "") + (verdict || "?"), "chip " + (verdictClass[verdict] || "v-other"));
  }
  var closeClass = { "OK": "v-ok", "WRONG CODE": "v-ns", "UNCLEAN": "v-failed", "FAILED": "v-failed" };

  // ---- Filters -------------------------------------------------------

  function cellMatches(cell, v) {
    switch (v) {
      case "": return true;
      case "failing":
        return cell.dataset.verdict === "FAILED" || cell.dataset.close === "FAILED" || cell.dataset.close === "UNCLEAN";
      case "unexpected": return cell.dataset.unexpected === "1";
      case "dev": return cell.dataset.dev === "1";
      case "close": return cell.dataset.close !== "OK";
      case "differs": return true;
    }
    return cell.dataset.verdict === v;
  }

  function idMatches(row, q) {
    if (q === "") return true;
    var id = (row.dataset.id || "").toLowerCase();
    if (/^[0-9.]+$/.test(q)) {
      var p = q.replace(/\.$/, "");
      return id === p || id.indexOf(p + ".") === 0;
    }
    var title = row.querySelector(".ctitle");
    var text = id + " " + (title ? title.textContent.toLowerCase() : "");
    return text.indexOf(q) >= 0;
  }

  function applyFilters() {
    var fam = $("f-family") ? $("f-family").value : "";
    var v = $("f-verdict") ? $("f-verdict").value : "";
    var q = $("f-case") ? $("f-case").value.trim().toLowerCase() : "";
    var shown = 0, total = 0;
    var groups = document.querySelectorAll("table.matrix tbody.family");
    for (var g = 0; g < groups.length; g++) {
      var tb = groups[g];
      var famOK = fam === "" || tb.dataset.family === fam;
      var any = false;
      var rows = tb.querySelectorAll("tr.case");
      for (var r = 0; r < rows.length; r++) {
        var row = rows[r];
        total++;
        var cells = row.querySelectorAll("td.cell[data-case]");
        var hit = false;
        for (var c = 0; c < cells.length; c++) {
          var m = cellMatches(cells[c], v);
          cells[c].classList.toggle("off", !m);
          if (m) hit = true;
        }
        if (v === "differs") hit = row.dataset.differs === "1";
        var visible = famOK && idMatches(row, q) && hit;
        row.classList.toggle("hidden", !visible);
        if (visible) { shown++; any = true; }
      }
      tb.classList.toggle("hidden", !any);
    }
    var count = $("f-count");
    if (count) count.textContent = shown === total ? total + " rows" : shown + " of " + total + " rows shown";
  }

  function setupFilters() {
    var form = $("filters");
    if (!form) return;
    form.addEventListener("submit", function (e) { e.preventDefault(); });
    // The matrix header sticks just below the filter bar.
    var setHeight = function () {
      document.documentElement.style.setProperty("--filters-h", form.offsetHeight + "px");
    };
    setHeight();
    window.addEventListener("resize", setHeight);
    ["f-family", "f-verdict"].forEach(function (id) {
      $(id).addEventListener("change", applyFilters);
    });
    $("f-case").addEventListener("input", applyFilters);
    $("f-reset").addEventListener("click", function () {
      $("f-family").value = "";
      $("f-verdict").value = "";
      $("f-case").value = "";
      applyFilters();
    });
    applyFilters();
  }

  // ---- Detail panel --------------------------------------------------

  var selected = null;

  function text(id, value, empty) {
    var node = $(id);
    node.textContent = value ? String(value) : (empty || "—");
    node.classList.toggle("empty-note", !value);
  }

  function openDetail(cell, push) {
    var d = reportData();
    var run = d.runs[+cell.dataset.run];
    if (!run) return;
    var target = run.targets[+cell.dataset.ti];
    var id = cell.dataset.case;
    var o = target && target.out ? target.out[id] : null;
    if (!o) return;
    var meta = o.meta || run.cases[id] || {};

    if (selected) selected.classList.remove("selected");
    selected = cell;
    cell.classList.add("selected");

    $("d-title").textContent = id + " " + (meta.title || "");
    var sub = [target.name + " (" + target.role + " under test)"];
    if (meta.family) sub.push("family " + meta.family);
    if (target.agent && target.agent !== target.name) sub.push("agent " + target.agent);
    if (target.library) sub.push(target.library);
    if (target.url) sub.push(target.url);
    $("d-sub").textContent = sub.join(" · ");

    var vs = $("d-verdicts");
    clear(vs);
    vs.appendChild(document.createTextNode("behaviour "));
    vs.appendChild(chip(o.v));
    vs.appendChild(document.createTextNode(" close "));
    var cc = el("span", o.c || "?", "chip " + (closeClass[o.c] || "v-other"));
    vs.appendChild(cc);
    vs.appendChild(document.createTextNode(" · " + (o.ms != null ? o.ms + " ms" : "")));

    var others = $("d-others");
    clear(others);
    if (run.targets.length > 1) {
      others.appendChild(document.createTextNode("Same case on: "));
      run.targets.forEach(function (t, ti) {
        var other = t.out ? t.out[id] : null;
        if (!other || ti === +cell.dataset.ti) return;
        var b = el("button", t.name);
        b.type = "button";
        b.appendChild(chip(other.v));
        b.addEventListener("click", function () {
          var c = document.getElementById(other.cell);
          if (c) openDetail(c, true);
        });
        others.appendChild(b);
      });
    }

    text("d-desc", meta.desc);
    text("d-expect", meta.expect);
    text("d-rfc", meta.rfc);
    text("d-dev", o.dev, "not listed as a known deviation");
    text("d-observed", o.obs);

    var ev = $("d-events");
    clear(ev);
    (o.ev || []).forEach(function (e) { ev.appendChild(el("li", e)); });
    if (!o.ev || o.ev.length === 0) ev.appendChild(el("li", "no events", "empty-note"));

    var close = o.code == null ? "no close code (no Close frame, or one without a code)" : "code " + o.code;
    if (o.reason) close += ", reason: " + o.reason;
    $("d-close").textContent = close;

    text("d-req", o.req, "no request recorded");
    text("d-resp", o.resp, "no response recorded");

    var body = $("d-wire");
    clear(body);
    var wire = o.wire || [];
    wire.forEach(function (w) {
      var tr = document.createElement("tr");
      var dir = w[1];
      tr.className = dir === "tx" ? "tx" : dir === "rx" ? "rx" : "ev";
      var cols;
      if (w.length > 3) {
        var op = w[6] ? w[6] + " (" + w[5] + ")" : String(w[5]);
        cols = [w[0], dir, w[3] ? "1" : "0", w[4], op, w[7] ? "yes" : "no", w[8] || "", w[9],
          (w[10] || "") + (w[12] ? "…" : ""), w[11] || "", w[2] || ""];
      } else {
        cols = [w[0], dir, "", "", "", "", "", "", "", "", w[2] || ""];
      }
      cols.forEach(function (v, i) {
        var td = el("td", v);
        if (i === 8) td.className = "hex";
        if (i === 9) td.className = "txt";
        tr.appendChild(td);
      });
      body.appendChild(tr);
    });
    $("d-wire-count").textContent = "(" + wire.length + " entr" + (wire.length === 1 ? "y" : "ies") + ")";

    var panel = $("detail");
    panel.hidden = false;
    panel.scrollTop = 0;
    if (push && cell.id && history.replaceState) history.replaceState(null, "", "#" + cell.id);
  }

  function closeDetail() {
    $("detail").hidden = true;
    if (selected) {
      selected.classList.remove("selected");
      try { selected.focus({ preventScroll: true }); } catch (e) { /* old browsers */ }
      selected = null;
    }
    if (history.replaceState && location.hash) history.replaceState(null, "", location.pathname + location.search);
  }

  function setupDetail() {
    document.addEventListener("click", function (e) {
      var cell = e.target.closest ? e.target.closest("td.cell[data-case]") : null;
      if (cell) openDetail(cell, true);
    });
    document.addEventListener("keydown", function (e) {
      if (e.key === "Escape" && !$("detail").hidden) { closeDetail(); return; }
      if (e.key === "Enter" || e.key === " ") {
        var t = document.activeElement;
        if (t && t.matches && t.matches("td.cell[data-case]")) { e.preventDefault(); openDetail(t, true); }
      }
    });
    $("detail-close").addEventListener("click", closeDetail);
    var h = "";
    try { h = decodeURIComponent(location.hash.slice(1)); } catch (e) { h = ""; }
    if (h) {
      var c = document.getElementById(h);
      if (c && c.matches("td.cell[data-case]")) {
        openDetail(c, false);
        c.scrollIntoView({ block: "center" });
      }
    }
  }

  // ---- Sortable tables ----------------------------------------------

  function setupSort() {
    var tables = document.querySelectorAll("table.sortable");
    Array.prototype.forEach.call(tables, function (table) {
      var heads = table.querySelectorAll("thead th");
      Array.prototype.forEach.call(heads, function (th, col) {
        function sort() {
          var asc = th.getAttribute("aria-sort") !== "ascending";
          Array.prototype.forEach.call(heads, function (h) { h.setAttribute("aria-sort", "none"); });
          th.setAttribute("aria-sort", asc ? "ascending" : "descending");
          var isText = th.dataset.type === "text";
          var tbody = table.tBodies[0];
          var rows = Array.prototype.slice.call(tbody.rows);
          rows.sort(function (a, b) {
            var x = a.cells[col] ? a.cells[col].dataset.v : "";
            var y = b.cells[col] ? b.cells[col].dataset.v : "";
            // Missing figures go last whatever the direction.
            if (x === "" || x === undefined) return (y === "" || y === undefined) ? 0 : 1;
            if (y === "" || y === undefined) return -1;
            var r = isText ? x.localeCompare(y) : (+x) - (+y);
            return asc ? r : -r;
          });
          rows.forEach(function (r) { tbody.appendChild(r); });
        }
        th.addEventListener("click", sort);
        th.addEventListener("keydown", function (e) {
          if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sort(); }
        });
      });
    });
  }

  function init() {
    setupFilters();
    setupDetail();
    setupSort();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
