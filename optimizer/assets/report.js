// Sort the plan table by a clicked column heading, filter it by text and tier. No library, no network.
"use strict";
(() => {
  const table = document.getElementById("plan-table");
  const body = table.tBodies[0];
  const rows = Array.from(body.rows);
  const filter = document.getElementById("plan-filter");
  const tier = document.getElementById("plan-tier");
  const count = document.getElementById("plan-count");
  const collator = new Intl.Collator("zh-Hans-CN", { numeric: true, sensitivity: "base" });

  function applyFilter() {
    const words = filter.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
    let shown = 0;
    for (const row of rows) {
      const text = row.textContent.toLowerCase();
      const visible = (!tier.value || row.dataset.tier === tier.value) && words.every((w) => text.includes(w));
      row.hidden = !visible;
      shown += visible ? 1 : 0;
    }
    count.textContent = String(shown);
  }

  function sortBy(th) {
    const column = th.cellIndex;
    const ascending = th.getAttribute("aria-sort") !== "ascending";
    for (const cell of table.tHead.rows[0].cells) cell.removeAttribute("aria-sort");
    th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    const sign = ascending ? 1 : -1;
    const sorted = rows.slice().sort(
      (a, b) => sign * collator.compare(a.cells[column].textContent, b.cells[column].textContent));
    body.append(...sorted);
  }

  table.tHead.addEventListener("click", (event) => {
    const th = event.target.closest("th");
    if (th) sortBy(th);
  });
  filter.addEventListener("input", applyFilter);
  tier.addEventListener("change", applyFilter);
})();
