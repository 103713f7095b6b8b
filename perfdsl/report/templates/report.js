// perfdsl report: sort by a header, filter by text and tier, open a row's explanation.
// Reads no data but the JSON block #report-meta; sort positions come precomputed (data-k).
(function () {
  "use strict";
  var meta = JSON.parse(document.getElementById("report-meta").textContent);
  var table = document.getElementById("subjects");
  var bodies = Array.prototype.slice.call(table.tBodies);
  var filter = document.getElementById("filter");
  var tierSelect = document.getElementById("tier-filter");
  var shown = document.getElementById("shown");

  bodies.forEach(function (body) {
    var row = body.rows[0], detail = body.rows[1], button = row.querySelector("button.open");
    row.addEventListener("click", function () {
      var open = detail.hidden;
      detail.hidden = !open;
      button.setAttribute("aria-expanded", String(open));
      body.classList.toggle("opened", open);
    });
  });

  var heads = table.tHead.rows[0].cells;
  Array.prototype.forEach.call(heads, function (th, i) {
    var button = th.querySelector("button");
    if (!button) { return; }
    button.addEventListener("click", function () {
      var ascending = th.getAttribute("aria-sort") !== "ascending";
      Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
      bodies.sort(function (a, b) {
        var x = Number(a.rows[0].cells[i].getAttribute("data-k"));
        var y = Number(b.rows[0].cells[i].getAttribute("data-k"));
        return ascending ? x - y : y - x;  // a stable sort: ties keep their previous order
      });
      bodies.forEach(function (body) { table.appendChild(body); });
    });
  });

  function applyFilter() {
    var text = filter.value.trim().toLowerCase();
    var tier = tierSelect ? tierSelect.value : "";
    var count = 0;
    bodies.forEach(function (body) {
      var keep = (!tier || body.getAttribute("data-tier") === tier) &&
        (!text || body.rows[0].textContent.toLowerCase().indexOf(text) >= 0);
      body.hidden = !keep;
      if (keep) { count += 1; }
    });
    shown.textContent = meta.shown.replace("{shown}", String(count)).replace("{total}", String(meta.subjects));
  }
  filter.addEventListener("input", applyFilter);
  if (tierSelect) { tierSelect.addEventListener("change", applyFilter); }
}());
