// openvod's web console. Every call is an API request signed here with the operator's key
// (TC3-HMAC-SHA256 through WebCrypto), so the console can do exactly what the key can and the
// server holds no console session. The key lives in this tab's sessionStorage only. Values from
// the API are put on the page as text (textContent), never as HTML. Where the application's
// domain has Key hotlink protection on, the player signs its URLs here with the Key that
// DescribeVodDomains hands to the same key holder, as an application's server would.
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

/** MD5 of a string's UTF-8 bytes, as hex (RFC 1321; WebCrypto has none and URL signatures need it). */
function md5(text) {
  const bytes = enc.encode(text);
  const blocks = ((bytes.length + 8) >>> 6) + 1;
  const w = new Uint32Array(blocks * 16);
  for (let i = 0; i < bytes.length; i++) w[i >> 2] |= bytes[i] << ((i % 4) * 8);
  w[bytes.length >> 2] |= 0x80 << ((bytes.length % 4) * 8);
  w[blocks * 16 - 2] = (bytes.length * 8) >>> 0;
  w[blocks * 16 - 1] = Math.floor(bytes.length / 0x20000000);
  const S = [7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21];
  const K = Array.from({ length: 64 }, (_, i) => Math.floor(Math.abs(Math.sin(i + 1)) * 2 ** 32) | 0);
  const h = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476];
  for (let o = 0; o < w.length; o += 16) {
    let [a, b, c, d] = h;
    for (let i = 0; i < 64; i++) {
      const r = i >> 4;
      const f =
        r === 0 ? (b & c) | (~b & d) : r === 1 ? (d & b) | (~d & c) : r === 2 ? b ^ c ^ d : c ^ (b | ~d);
      const g = r === 0 ? i : r === 1 ? (5 * i + 1) % 16 : r === 2 ? (3 * i + 5) % 16 : (7 * i) % 16;
      const s = S[r * 4 + (i % 4)];
      const x = (a + f + K[i] + w[o + g]) | 0;
      [a, d, c] = [d, c, b];
      b = (b + ((x << s) | (x >>> (32 - s)))) | 0;
    }
    h[0] = (h[0] + a) | 0;
    h[1] = (h[1] + b) | 0;
    h[2] = (h[2] + c) | 0;
    h[3] = (h[3] + d) | 0;
  }
  return hex(new Uint8Array(new Uint32Array(h).buffer));
}

/**
 * A playback URL signed for Key hotlink protection (Tencent doc 266/14047): t (hex expiry), a
 * random us, sign = md5(Key + directory + t + us). openvod signs the segment URLs of a signed
 * HLS playlist itself, so hls.js needs only the first URL signed.
 */
function signPlaybackUrl(url, key, validSec) {
  const u = new URL(url);
  const t = (Math.floor(Date.now() / 1000) + validSec).toString(16);
  const us = hex(crypto.getRandomValues(new Uint8Array(8)));
  const dir = u.pathname.slice(0, u.pathname.lastIndexOf("/") + 1);
  u.search = new URLSearchParams({ t, us, sign: md5(key + dir + t + us) }).toString();
  return u.href;
}

/** The application's Key hotlink policy by domain (host), as DescribeVodDomains reports it. */
async function signingKeys() {
  const r = await api("DescribeVodDomains", {});
  const keys = new Map();
  for (const d of r.DomainSet ?? []) {
    const p = d.UrlSignatureAuthPolicy;
    if (p?.Status === "Enabled" && p.EncryptedKey) keys.set(String(d.Domain).toLowerCase(), p.EncryptedKey);
  }
  return keys;
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
  // Signed for a while past the file's length, so a paused player can still go on.
  const keys = await signingKeys();
  const validSec = 3600 + 2 * Math.ceil(Number(m.MetaData?.Duration) || 0);
  const signed = (url) => {
    const key = keys.get(new URL(url, location.href).host.toLowerCase());
    return key ? signPlaybackUrl(new URL(url, location.href).href, key, validSec) : url;
  };
  $("player").hidden = false;
  $("player-title").textContent = m.BasicInfo?.Name || fileId;
  const list = $("player-sources");
  list.replaceChildren();
  for (const [label, url] of sources) {
    const li = document.createElement("li");
    const b = document.createElement("button");
    b.textContent = label;
    b.addEventListener("click", () => play(signed(url)));
    li.appendChild(b);
    list.appendChild(li);
  }
  const hlsSource = sources.find(([, u]) => /\.m3u8(\?|$)/.test(u));
  if (sources.length) play(signed((hlsSource ?? sources[0])[1]));
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
