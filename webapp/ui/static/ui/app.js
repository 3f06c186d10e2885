// Live progress without page reloads: poll the item's status until it finishes.
(function () {
  const box = document.getElementById("analysis");
  if (box && ["queued", "running"].includes(box.dataset.state)) {
    const url = box.dataset.statusUrl;
    const tick = async () => {
      try {
        const r = await fetch(url, { headers: { Accept: "application/json" } });
        if (!r.ok) return;
        const s = await r.json();
        document.getElementById("progress").value = s.progress;
        document.getElementById("stage").textContent = s.stage;
        document.getElementById("state").textContent = s.state;
        if (s.state === "done" || s.state === "failed") { window.location.reload(); return; }
      } catch (e) { /* transient network error: try again */ }
      setTimeout(tick, 1000);
    };
    setTimeout(tick, 1000);
  }
  const table = document.querySelector("table[data-refresh]");
  if (table) setTimeout(() => window.location.reload(), Number(table.dataset.refresh) * 1000);
})();
