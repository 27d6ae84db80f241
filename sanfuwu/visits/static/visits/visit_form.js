// The visit form keeps everything typed: a copy in localStorage on every change, and a
// server-side draft (POST /visits/draft/) every few seconds while something changed.
// Opening the form again restores the newer of the two, unless a visit was recorded since.
(function () {
  "use strict";
  const form = document.getElementById("visit-form");
  if (!form) return;
  const status = document.getElementById("draft-status");
  const key = "sanfuwu-visit-draft-" + form.dataset.user;
  const serverInfo = JSON.parse(document.getElementById("server-draft").textContent || "{}");
  const csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;
  let dirty = false;
  let timer = null;
  let submitting = false; // once posted, nothing may save a draft the visit just replaced

  function say(text) { if (status) status.textContent = text; }

  function serialize() {
    const data = {};
    for (const [name, value] of new FormData(form)) {
      if (name === "csrfmiddlewaretoken" || value instanceof File) continue;
      (data[name] = data[name] || []).push(value);
    }
    const labels = {};
    form.querySelectorAll("input[name=t]:checked").forEach((box) => { labels[box.value] = box.dataset.label || box.value; });
    data.t_labels = [JSON.stringify(labels)];
    return data;
  }

  function ensureTarget(value, label) {
    let box = form.querySelector('input[name=t][value="' + CSS.escape(value) + '"]');
    if (!box) {
      const wrap = document.createElement("label");
      wrap.className = "visit-object";
      box = document.createElement("input");
      box.type = "checkbox"; box.name = "t"; box.value = value; box.dataset.label = label;
      const span = document.createElement("span");
      span.textContent = " " + label;
      wrap.append(box, span);
      document.getElementById("chosen").append(wrap);
    }
    return box;
  }

  function ensureItemRows(n) {
    const items = document.getElementById("items");
    while (items.querySelectorAll(".visit-item").length < n) addItem();
  }

  function addItem() {
    const items = document.getElementById("items");
    const rows = items.querySelectorAll(".visit-item");
    const copy = rows[rows.length - 1].cloneNode(true);
    copy.querySelectorAll("textarea").forEach((t) => { t.value = ""; });
    copy.querySelectorAll("select").forEach((s) => { s.selectedIndex = 0; });
    copy.querySelectorAll("input[type=hidden]").forEach((i) => { i.value = ""; });
    items.append(copy);
    return copy;
  }

  function fill(data) {
    let labels = {};
    try { labels = JSON.parse((data.t_labels || ["{}"])[0]); } catch (e) { labels = {}; }
    form.querySelectorAll("input[name=t]").forEach((box) => { box.checked = false; });
    (data.t || []).forEach((value) => { ensureTarget(value, labels[value] || value).checked = true; });
    ensureItemRows((data.item_text || []).length);
    for (const name of ["item_kind", "item_level", "item_text", "item_target"]) {
      const fields = form.querySelectorAll("[name=" + name + "]");
      (data[name] || []).forEach((value, i) => { if (fields[i]) fields[i].value = value; });
    }
    for (const [name, values] of Object.entries(data)) {
      if (name === "t" || name === "t_labels" || name.startsWith("item_")) continue;
      const fields = form.querySelectorAll('[name="' + CSS.escape(name) + '"]');
      fields.forEach((field) => {
        if (field.type === "radio" || field.type === "checkbox") field.checked = values.includes(field.value);
        else if (field.type !== "file") field.value = values[0] || "";
      });
    }
  }

  function saveLocal() {
    if (submitting) return;
    try {
      localStorage.setItem(key, JSON.stringify({ saved_at: new Date().toISOString(), data: serialize() }));
    } catch (e) { /* private mode or full: the server draft still works */ }
  }

  function saveServer() {
    if (!dirty || submitting) return;
    dirty = false;
    const body = new URLSearchParams();
    for (const [name, values] of Object.entries(serialize())) values.forEach((v) => body.append(name, v));
    fetch(form.dataset.draftUrl, {
      method: "POST", body: body, credentials: "same-origin",
      headers: { "X-CSRFToken": csrf, "Content-Type": "application/x-www-form-urlencoded" },
    }).then((r) => {
      if (!r.ok) throw new Error(String(r.status));
      say("草稿已保存 " + new Date().toLocaleTimeString());
    }).catch(() => {
      dirty = true; // try again with the next tick; the local copy is safe meanwhile
      say("网络不稳，草稿已保存在本机");
    });
  }

  function changed() {
    dirty = true;
    clearTimeout(timer);
    timer = setTimeout(saveLocal, 300);
  }

  function restore() {
    // a page re-rendered with errors already shows what was posted
    if (document.querySelector(".msg.error")) return;
    const last = serverInfo.last_visit_at ? Date.parse(serverInfo.last_visit_at) : 0;
    const candidates = [];
    try {
      const local = JSON.parse(localStorage.getItem(key) || "null");
      if (local && local.data) candidates.push(local);
    } catch (e) { /* ignore a broken copy */ }
    if (serverInfo.data) candidates.push({ saved_at: serverInfo.saved_at, data: serverInfo.data });
    const fresh = candidates.filter((c) => Date.parse(c.saved_at) > last);
    if (!fresh.length) { try { localStorage.removeItem(key); } catch (e) {} return; }
    fresh.sort((a, b) => Date.parse(b.saved_at) - Date.parse(a.saved_at));
    const preset = new URLSearchParams(location.search).get("t");
    fill(fresh[0].data);
    if (preset) ensureTarget(preset, preset).checked = true;
    say("已恢复未提交的草稿（" + new Date(fresh[0].saved_at).toLocaleString() + "）");
  }

  // a search hit that is ticked joins the chosen objects, so a new search keeps it
  document.getElementById("search-results").addEventListener("change", (ev) => {
    const box = ev.target;
    if (box.name === "t" && box.checked) document.getElementById("chosen").append(box.closest("label"));
  });
  const add = document.getElementById("add-item");
  add.hidden = false;
  add.addEventListener("click", () => { addItem(); changed(); });
  form.addEventListener("submit", () => { saveLocal(); submitting = true; clearTimeout(timer); });
  form.addEventListener("input", changed);
  form.addEventListener("change", changed);
  document.getElementById("draft-clear").addEventListener("submit", () => {
    try { localStorage.removeItem(key); } catch (e) {}
  });
  setInterval(saveServer, 4000);
  document.addEventListener("visibilitychange", () => { if (document.visibilityState === "hidden") { saveLocal(); saveServer(); } });
  restore();
})();
