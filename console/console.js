// openvod's web console. Every call is an API request signed here with the operator's key
// (TC3-HMAC-SHA256 through WebCrypto), so the console can do exactly what the key can and the
// server holds no console session. The key lives in this tab's sessionStorage only. Values from
// the API are put on the page as text (textContent), never as HTML.
"use strict";

const VERSION = "2018-07-17";
const enc = new TextEncoder();
const $ = (id) => document.getElementById(id);
const hex = (buf) => [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, "0")).join("");

let creds = null; // { id, key }
let appId = null;
let taskTimer = null;
let hls = null;

async function sha256(text) {
  return hex(await crypto.subtle.digest("SHA-256", enc.encode(text)));
}

async function hmac(key, text) {
  const k = await crypto.subtle.importKey(
    "raw",
    typeof key === "string" ? enc.encode(key) : key,
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  return new Uint8Array(await crypto.subtle.sign("HMAC", k, enc.encode(text)));
}

/** One API call, signed as the official SDKs sign (service "vod", host without port). */
async function api(action, params = {}) {
  if (!crypto.subtle)
    throw new Error("This page needs a secure context (https, or http on localhost) to sign requests.");
  const body = JSON.stringify(
    appId !== null && !("SubAppId" in params) ? { ...params, SubAppId: appId } : params,
  );
  const ts = Math.floor(Date.now() / 1000);
  const date = new Date(ts * 1000).toISOString().slice(0, 10);
  const type = "application/json; charset=utf-8";
  const canonical = `POST\n/\n\ncontent-type:${type}\nhost:${location.hostname}\n\ncontent-type;host\n${await sha256(body)}`;
  const scope = `${date}/vod/tc3_request`;
  const toSign = `TC3-HMAC-SHA256\n${ts}\n${scope}\n${await sha256(canonical)}`;
  const kDate = await hmac("TC3" + creds.key, date);
  const kService = await hmac(kDate, "vod");
  const kSigning = await hmac(kService, "tc3_request");
  const signature = hex(await hmac(kSigning, toSign));
  const res = await fetch("/", {
    method: "POST",
    headers: {
      "content-type": type,
      authorization: `TC3-HMAC-SHA256 Credential=${creds.id}/${scope}, SignedHeaders=content-type;host, Signature=${signature}`,
      "x-tc-action": action,
      "x-tc-version": VERSION,
      "x-tc-timestamp": String(ts),
    },
    body,
    credentials: "omit",
  });
  const answer = (await res.json()).Response;
  if (answer.Error) {
    const err = new Error(`${answer.Error.Code}: ${answer.Error.Message}`);
    err.code = answer.Error.Code;
    throw err;
  }
  return answer;
}

function cell(tr, text, cls) {
  const td = document.createElement("td");
  td.textContent = text ?? "";
  if (cls) td.className = cls;
  tr.appendChild(td);
  return td;
}

function showError(where, err) {
  $(where).textContent = err ? String(err.message || err) : "";
}

// ---- sign in / out ---------------------------------------------------------------------------

async function signIn(id, key) {
  creds = { id, key };
  appId = null;
  const apps = await api("DescribeSubAppIds", { Limit: 200 });
  sessionStorage.setItem("openvod.console", JSON.stringify(creds));
  const select = $("app");
  select.replaceChildren();
  for (const a of apps.SubAppIdInfoSet) {
    const o = document.createElement("option");
    o.value = String(a.SubAppId);
    o.textContent = `${a.Name || a.SubAppId} (${a.SubAppId})`;
    select.appendChild(o);
  }
  appId = apps.SubAppIdInfoSet.length ? Number(apps.SubAppIdInfoSet[0].SubAppId) : null;
  $("who").textContent = id;
  $("login").hidden = true;
  $("workspace").hidden = false;
  $("app-pick").hidden = false;
  $("signout").hidden = false;
  await showTab("media");
}

function signOut() {
  sessionStorage.removeItem("openvod.console");
  creds = null;
  appId = null;
  clearInterval(taskTimer);
  location.reload();
}

// ---- media -------------------------------------------------------------------------------------

async function loadMedia() {
  const text = $("search-text").value.trim();
  const r = await api("SearchMedia", {
    ...(text ? { Text: text } : {}),
    Limit: 50,
    Sort: { Field: "CreateTime", Order: "Desc" },
  });
  const tbody = $("media").tBodies[0];
  tbody.replaceChildren();
  for (const m of r.MediaInfoSet) {
    const tr = document.createElement("tr");
    tr.dataset.fileId = m.FileId;
    cell(tr, m.FileId);
    cell(tr, m.BasicInfo?.Name);
    cell(tr, m.BasicInfo?.Type);
    cell(tr, m.MetaData ? `${Number(m.MetaData.Duration).toFixed(1)} s` : "");
    cell(tr, m.BasicInfo?.CreateTime);
    const play = cell(tr, "");
    const b = document.createElement("button");
    b.textContent = "Play";
    b.addEventListener("click", (e) => {
      e.stopPropagation();
      openPlayer(m.FileId).catch((err) => showError("error", err));
    });
    play.appendChild(b);
    tbody.appendChild(tr);
  }
}

/** The playable URLs of a file: its original, transcodes and adaptive streams. */
async function openPlayer(fileId) {
  const r = await api("DescribeMediaInfos", { FileIds: [fileId] });
  const m = r.MediaInfoSet[0];
  const sources = [];
  if (m.BasicInfo?.MediaUrl) sources.push(["Original", m.BasicInfo.MediaUrl]);
  // Definition 0 is the original file itself.
  for (const t of m.TranscodeInfo?.TranscodeSet ?? [])
    if (t.Url && t.Definition !== 0) sources.push([`Transcode ${t.Definition}`, t.Url]);
  for (const a of m.AdaptiveDynamicStreamingInfo?.AdaptiveDynamicStreamingSet ?? []) {
    if (a.Url) sources.push([`${a.Package} ${a.Definition}`, a.Url]);
  }
  $("player").hidden = false;
  $("player-title").textContent = m.BasicInfo?.Name || fileId;
  const list = $("player-sources");
  list.replaceChildren();
  for (const [label, url] of sources) {
    const li = document.createElement("li");
    const b = document.createElement("button");
    b.textContent = label;
    b.addEventListener("click", () => play(url));
    li.appendChild(b);
    list.appendChild(li);
  }
  const hlsSource = sources.find(([, u]) => /\.m3u8(\?|$)/.test(u));
  if (sources.length) play((hlsSource ?? sources[0])[1]);
}

function play(url) {
  const video = $("video");
  if (hls) {
    hls.destroy();
    hls = null;
  }
  video.dataset.src = url;
  // hls.js wherever MSE is there (one player everywhere), else the browser's own HLS (Safari).
  if (/\.m3u8(\?|$)/.test(url) && window.Hls?.isSupported()) {
    hls = new window.Hls();
    hls.loadSource(url);
    hls.attachMedia(video);
  } else {
    video.src = url;
  }
  video.play().catch(() => {});
}

// ---- tasks -------------------------------------------------------------------------------------

async function loadTasks() {
  const r = await api("DescribeTasks", { Limit: 50 });
  const tbody = $("tasks").tBodies[0];
  tbody.replaceChildren();
  for (const t of r.TaskSet) {
    const tr = document.createElement("tr");
    tr.dataset.taskId = t.TaskId;
    tr.dataset.status = t.Status;
    cell(tr, t.TaskId);
    cell(tr, t.TaskType);
    cell(tr, t.Status, `status-${t.Status}`);
    cell(tr, t.FileId);
    cell(tr, t.CreateTime);
    tr.addEventListener("click", () => showTask(t.TaskId).catch((err) => showError("error", err)));
    tbody.appendChild(tr);
  }
}

async function showTask(taskId) {
  const detail = await api("DescribeTaskDetail", { TaskId: taskId });
  const pre = $("task-detail");
  pre.hidden = false;
  pre.textContent = JSON.stringify(detail, null, 2);
}

// ---- tabs --------------------------------------------------------------------------------------

async function showTab(name) {
  for (const b of document.querySelectorAll("nav button"))
    b.classList.toggle("active", b.dataset.tab === name);
  $("tab-media").hidden = name !== "media";
  $("tab-tasks").hidden = name !== "tasks";
  clearInterval(taskTimer);
  showError("error");
  try {
    if (name === "media") await loadMedia();
    else {
      await loadTasks();
      // Live status: the list is polled while it is shown.
      taskTimer = setInterval(() => loadTasks().catch((err) => showError("error", err)), 2000);
    }
  } catch (err) {
    showError("error", err);
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("login").addEventListener("submit", (e) => {
    e.preventDefault();
    showError("login-error");
    signIn($("secret-id").value.trim(), $("secret-key").value).catch((err) => {
      creds = null;
      showError("login-error", err);
    });
    $("secret-key").value = "";
  });
  $("signout").addEventListener("click", signOut);
  $("search").addEventListener("submit", (e) => {
    e.preventDefault();
    loadMedia().catch((err) => showError("error", err));
  });
  $("app").addEventListener("change", (e) => {
    appId = Number(e.target.value);
    const active = document.querySelector("nav button.active");
    showTab(active ? active.dataset.tab : "media");
  });
  for (const b of document.querySelectorAll("nav button"))
    b.addEventListener("click", () => showTab(b.dataset.tab));
  const saved = sessionStorage.getItem("openvod.console");
  if (saved) {
    const c = JSON.parse(saved);
    signIn(c.id, c.key).catch((err) => showError("login-error", err));
  }
});
