// The console's behaviour: live progress (polling), drag-and-drop upload with
// per-file progress, the queue's row cursor and bulk selection, the item page's
// overlays, span selector and timeline, and keyboard shortcuts. No framework,
// no external assets: the machines are offline.
(function () {
  "use strict";
  const $ = (sel, root) => (root || document).querySelector(sel);
  const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));
  const TERMINAL = ["done", "failed"];
  const label = (s) => s ? s.charAt(0).toUpperCase() + s.slice(1) : "";

  async function fetchStatus(url) {
    const r = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
    if (!r.ok) throw new Error("HTTP " + r.status);
    return r.json();
  }

  // Poll a status URL every second until the analysis finishes; onUpdate gets each status.
  function poll(url, onUpdate) {
    const tick = async () => {
      try {
        const s = await fetchStatus(url);
        onUpdate(s);
        if (TERMINAL.includes(s.state)) return;
      } catch (e) { /* transient network error: try again */ }
      setTimeout(tick, 1000);
    };
    setTimeout(tick, 500);
  }

  function verdictBadge(s) {
    const b = document.createElement("span");
    b.className = "badge " + (s.verdict ? "v-" + s.verdict : "muted");
    b.textContent = s.verdict_label || "—";
    return b;
  }

  // --- Item page: live progress, then show the finished page once ---------------
  const box = $("#analysis");
  if (box && !TERMINAL.includes(box.dataset.state)) {
    poll(box.dataset.statusUrl, (s) => {
      $("#progress").value = s.progress;
      $("#stage").textContent = s.stage;
      $("#state").textContent = label(s.state);
      // The evidence (pictures, detector table) only exists once the job is done.
      if (TERMINAL.includes(s.state)) window.location.reload();
    });
  }

  // --- Queue: update pending rows in place (no reload: a reviewer may be typing) ---
  $$("tr[data-status-url]").forEach((row) => {
    poll(row.dataset.statusUrl, (s) => {
      const state = $("[data-cell=state] .state", row);
      state.className = "state s-" + s.state;
      state.textContent = label(s.state);
      if (TERMINAL.includes(s.state)) {
        $("[data-cell=verdict]", row).replaceChildren(verdictBadge(s));
        $("[data-cell=score]", row).textContent = s.score === null ? "—" : s.score.toFixed(2);
      }
    });
  });

  // Other pages with pending work (reports, webhook deliveries, private jobs) mark a table with
  // data-refresh: fetch the page again and swap in the fresh tables (and any new card, such as a
  // job's result), without a reload, so a form being filled in keeps its text and focus.
  const refreshTables = () => {
    const pending = $("table[data-refresh]");
    if (!pending) return;
    setTimeout(async () => {
      let fresh;
      try {
        const response = await fetch(window.location.href, { credentials: "same-origin" });
        if (!response.ok) throw new Error(response.status);
        fresh = new DOMParser().parseFromString(await response.text(), "text/html");
      } catch (error) {
        refreshTables();  // a hiccup: try again at the same pace
        return;
      }
      const newTables = $$("main table", fresh);
      $$("main table").forEach((table, i) => { if (newTables[i]) table.replaceWith(newTables[i]); });
      const newCards = $$("main section.card", fresh);  // e.g. the result card once a job is done
      newCards.slice($$("main section.card").length).forEach((card) => $("main").append(card));
      refreshTables();
    }, Number(pending.dataset.refresh) * 1000);
  };
  refreshTables();

  // --- Upload: drop zone, one request per file with upload progress, then analysis progress ---
  const form = $("#upload-form");
  if (form && form.dataset.oneUrl && window.XMLHttpRequest && window.FormData) {
    const zone = $("[data-dropzone]", form);
    const input = $("#id_files");
    const list = $("#uploads");
    const csrf = $("input[name=csrfmiddlewaretoken]", form).value;

    const addRow = (name) => {
      $("#uploads-card").hidden = false;
      const row = $("#upload-row").content.firstElementChild.cloneNode(true);
      $(".name", row).textContent = name;
      $(".status", row).textContent = "Uploading…";
      $(".up", row).setAttribute("aria-label", "Upload of " + name);
      $(".an", row).setAttribute("aria-label", "Analysis of " + name);
      list.appendChild(row);
      return row;
    };
    const fail = (row, message) => {
      row.classList.add("failed");
      $(".status", row).textContent = "Refused";
      const err = $(".error", row);
      err.textContent = message;
      err.hidden = false;
    };
    const follow = (row, created) => {
      const status = $(".status", row);
      status.textContent = "Queued for analysis";
      poll(created.status_url, (s) => {
        $(".an", row).value = s.progress;
        if (s.state === "done") {
          const link = document.createElement("a");
          link.href = created.url;
          link.textContent = "Open item";
          status.replaceChildren(verdictBadge(s), document.createTextNode(" "), link);
          row.classList.add("finished");
        } else if (s.state === "failed") {
          fail(row, "Analysis failed: " + (s.error || "see the item page"));
        } else {
          status.textContent = label(s.state) + (s.stage ? " · " + s.stage : "");
        }
      });
    };
    const send = (name, body) => {
      const row = addRow(name);
      body.append("csrfmiddlewaretoken", csrf);
      const xhr = new XMLHttpRequest();
      xhr.open("POST", form.dataset.oneUrl);
      xhr.setRequestHeader("X-CSRFToken", csrf);
      xhr.responseType = "json";
      xhr.upload.addEventListener("progress", (ev) => {
        if (ev.lengthComputable) $(".up", row).value = ev.loaded / ev.total;
      });
      xhr.addEventListener("load", () => {
        const reply = xhr.response || {};
        if (xhr.status === 201) { $(".up", row).value = 1; follow(row, reply); }
        else fail(row, reply.error || ("The server answered " + xhr.status + "; try again or ask an admin."));
      });
      xhr.addEventListener("error", () => fail(row, "The upload did not reach the server; check the connection and try again."));
      xhr.send(body);
    };
    const sendFiles = (files) => {
      Array.from(files).forEach((file) => {
        const body = new FormData();
        body.append("file", file, file.name);
        send(file.name, body);
      });
    };

    input.addEventListener("change", () => { sendFiles(input.files); input.value = ""; });
    ["dragenter", "dragover"].forEach((type) => zone.addEventListener(type, (ev) => {
      ev.preventDefault();
      zone.classList.add("over");
    }));
    ["dragleave", "drop"].forEach((type) => zone.addEventListener(type, () => zone.classList.remove("over")));
    zone.addEventListener("drop", (ev) => {
      ev.preventDefault();
      if (ev.dataTransfer && ev.dataTransfer.files.length) sendFiles(ev.dataTransfer.files);
    });
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const text = $("#id_text");
      if (text.value.trim()) {
        const body = new FormData();
        body.append("text", text.value);
        send("Pasted text (" + text.value.length + " characters)", body);
        text.value = "";
      } else if (!list.children.length) {
        fail(addRow("Nothing to analyse"), "Drop or choose at least one file, or paste some text.");
      }
    });
  }

  // --- Item page: heatmap toggle and opacity, face boxes, spans, timeline ---
  const heatToggle = $("[data-toggle-heatmap]");
  const heatmaps = $$("[data-heatmap]");
  const setHeat = () => heatmaps.forEach((img) => { img.hidden = !heatToggle.checked; });
  if (heatToggle) heatToggle.addEventListener("change", setHeat);
  const opacity = $("[data-heatmap-opacity]");
  const setOpacity = () => heatmaps.forEach((img) => { img.style.opacity = opacity.value; });
  if (opacity) { opacity.addEventListener("input", setOpacity); setOpacity(); }
  const boxToggle = $("[data-toggle-boxes]");
  if (boxToggle) boxToggle.addEventListener("change", () => $$("[data-facebox]").forEach((b) => { b.hidden = !boxToggle.checked; }));
  const spanSelect = $("[data-span-select]");
  if (spanSelect) spanSelect.addEventListener("change", () => $$("[data-span-view]").forEach((v) => {
    v.hidden = v.dataset.spanView !== spanSelect.value;
  }));
  const video = $("#video");
  $$("[data-timeline] .tl-point").forEach((p) => p.addEventListener("click", () => {
    if (video) { video.currentTime = Number(p.dataset.seconds); video.focus(); }
  }));

  // --- Keyboard shortcuts --------------------------------------------------
  const help = $("#shortcuts");
  $$("[data-open-shortcuts]").forEach((b) => b.addEventListener("click", () => help && help.showModal()));
  const rows = $$("table[data-queue] tr[data-row]");
  let cursor = -1;
  const moveCursor = (delta) => {
    if (!rows.length) return;
    if (cursor >= 0) rows[cursor].classList.remove("cursor");
    cursor = Math.max(0, Math.min(rows.length - 1, cursor + delta));
    rows[cursor].classList.add("cursor");
    const link = $("[data-open]", rows[cursor]);
    if (link) link.focus();
  };
  const countSelected = () => {
    const n = $$("input[name=ids]:checked").length;
    const out = $("#selected-count");
    if (out) out.textContent = n ? n + " selected" : "";
  };
  $$("input[name=ids]").forEach((c) => c.addEventListener("change", countSelected));
  const all = $("#select-all");
  if (all) all.addEventListener("change", () => { $$("input[name=ids]").forEach((c) => { c.checked = all.checked; }); countSelected(); });

  const decide = (value) => {
    const itemRadio = $("#review-form input[data-decision=" + value + "]");
    if (itemRadio) { itemRadio.checked = true; $("#id_reason").focus(); return; }
    const bulk = $("#bulk");
    if (!bulk) return;
    const checked = $$("input[name=ids]:checked");
    if (!checked.length && cursor >= 0) {
      const box = $("input[name=ids]", rows[cursor]);
      if (box) { box.checked = true; countSelected(); }
    }
    const radio = $("input[name=decision][value=" + value + "]", bulk);
    if (radio) { radio.checked = true; $("#bulk-reason").focus(); }
  };

  const NOT_TYPING = ["checkbox", "radio", "range", "button", "submit", "file"];
  const typing = (el) => el && (el.isContentEditable || ["TEXTAREA", "SELECT"].includes(el.tagName) ||
    (el.tagName === "INPUT" && !NOT_TYPING.includes(el.type)));
  document.addEventListener("keydown", (ev) => {
    if (ev.ctrlKey || ev.metaKey || ev.altKey || typing(ev.target) || (help && help.open)) return;
    const key = ev.key;
    let handled = true;
    if (key === "?") help && help.showModal();
    else if (key === "j" && rows.length) moveCursor(1);
    else if (key === "k" && rows.length) moveCursor(-1);
    else if (key === "j" && $("[data-nav=older]")) window.location.href = $("[data-nav=older]").href;
    else if (key === "k" && $("[data-nav=newer]")) window.location.href = $("[data-nav=newer]").href;
    else if (key === "x" && cursor >= 0) {
      const c = $("input[name=ids]", rows[cursor]);
      if (c) { c.checked = !c.checked; countSelected(); }
    } else if (key === "o" && cursor >= 0) {
      window.location.href = $("[data-open]", rows[cursor]).href;
    } else if (key === "c") decide("confirm_synthetic");
    else if (key === "a") decide("confirm_authentic");
    else if (key === "e") decide("escalate");
    else if (key === "h" && heatToggle) { heatToggle.checked = !heatToggle.checked; setHeat(); }
    else handled = false;
    if (handled) ev.preventDefault();
  });
})();
