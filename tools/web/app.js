// MiniMart search page: text, photo (chosen or dropped), photo + modifier, and the microphone, against /api/search/*.
"use strict";

const $ = (id) => document.getElementById(id);
const KIND_NAMES = { text: "Text search", photo: "Photo search", voice: "Voice search", composed: "Photo + modifier" };
const TARGET_RATE = 16000; // the recogniser listens at 16 kHz: recordings are resampled to it before upload
let limits = { clip_seconds: 15, upload_mb: 10 };
let photo = null; // the chosen photo (a File), or null

// ---- catalog info, filters, limits ----------------------------------------------------------------------------

async function loadInfo() {
  const info = await (await fetch("/api/info")).json();
  limits = info.limits;
  $("catalog").textContent = `${info.products.toLocaleString()} products` + (info.note ? ` · ${info.note}` : "");
  fillSelect($("department"), info.departments);
  fillSelect($("colour"), info.colours);
  $("limits").textContent = `Limits: uploads up to ${limits.upload_mb} MB, photos up to ${limits.photo_megapixels} ` +
    `megapixels, recordings ${limits.min_clip_seconds}–${limits.clip_seconds} s, queries up to ` +
    `${limits.query_chars} characters. Everything runs on this computer.`;
}

function fillSelect(select, values) {
  for (const value of values) select.add(new Option(value, value));
}

function options() {
  const form = new FormData();
  form.set("k", "10");
  form.set("min_price", $("min-price").value);
  form.set("max_price", $("max-price").value);
  form.set("department", $("department").value);
  form.set("colour", $("colour").value);
  form.set("titles", $("titles").value);
  return form;
}

// ---- searching and showing results ----------------------------------------------------------------------------

async function search(kind, fill) {
  const form = options();
  fill(form);
  showError("");
  $("heard").hidden = true;
  $("status").textContent = "Searching…";
  $("go").disabled = true;
  $("results").setAttribute("aria-busy", "true");
  const start = performance.now();
  try {
    const response = await fetch(`/api/search/${kind}`, { method: "POST", body: form });
    const answer = await response.json().catch(() => ({ error: `the server answered ${response.status} ` +
                                                                `${response.statusText}` }));
    if (!response.ok) throw new Error(answer.error);
    show(answer, performance.now() - start);
  } catch (error) {
    $("status").textContent = "";
    $("results").replaceChildren();
    showError(error.message || String(error));
  } finally {
    $("go").disabled = false;
    $("results").setAttribute("aria-busy", "false");
  }
}

function show(answer, roundTripMs) {
  const parts = [KIND_NAMES[answer.kind]];
  if (answer.note) parts.push(answer.note);
  parts.push(`${answer.results.length} results`, `${Math.round(answer.server_ms)} ms on the server`,
             `${Math.round(roundTripMs)} ms in all`);
  $("status").textContent = parts.join(" · ");
  $("status").dataset.serverMs = answer.server_ms;
  if (answer.heard !== undefined) {
    $("heard").replaceChildren("Heard: ", Object.assign(document.createElement("q"), { textContent: answer.heard }));
    $("heard").hidden = false;
  }
  if (answer.results.length === 0) {
    showError("No product matches these filters: widen the price range or choose another department or colour.");
  }
  $("results").replaceChildren(...answer.results.map((r) => card(r, answer.lang)));
}

function card(result, lang) {
  const article = element("article", "card");
  article.dataset.sku = result.sku_id;
  const img = element("img");
  img.src = result.photo;
  img.alt = "";
  const title = element("h3", "title", result.title);
  title.lang = lang === "zh" ? "zh-CN" : "en";
  const rating = result.rating === null ? "no reviews" : `★ ${result.rating.toFixed(1)}`;
  const meta = element("p", "meta");
  meta.append(element("span", "price", `$${result.price.toFixed(2)}`), ` · ${rating} · ${result.colour || "–"}` +
              ` · ${result.department}`);
  const score = element("p", "score", `score ${result.score.toFixed(3)}`);
  article.append(img, title, meta, score, contributions(result));
  return article;
}

function contributions(result) {
  // Each modality's term of the score (they add up to it): a bar as wide as its share of the largest possible term.
  const list = element("dl", "contrib");
  list.title = "what each of the product's modalities contributed to the score (the terms add up to it)";
  for (const [modality, value] of Object.entries(result.contributions)) {
    const bar = element("dd", value < 0 ? "negative" : "");
    const fill = element("span");
    fill.style.width = `${Math.min(100, Math.abs(value) * 100)}%`;
    bar.append(fill);
    list.append(element("dt", "", modality), bar, element("output", "", value.toFixed(2)));
  }
  return list;
}

function element(tag, className = "", text = "") {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text) node.textContent = text;
  return node;
}

function showError(message) {
  $("error").textContent = message;
  $("error").hidden = !message;
}

// ---- text, photo, photo + modifier ----------------------------------------------------------------------------

function submit(event) {
  event?.preventDefault();
  const text = $("query").value;
  if (photo && text.trim()) search("composed", (form) => { form.set("photo", photo); form.set("modifier", text); });
  else if (photo) search("photo", (form) => form.set("photo", photo));
  else search("text", (form) => form.set("query", text));
}

function choosePhoto(file) {
  // A new photo starts a new search: the box is cleared, and what is typed next modifies the photo ("in blue").
  photo = file;
  $("query").value = "";
  $("query").placeholder = "add a modifier, e.g. “in blue” or “cheaper”, and press Enter";
  $("chip-name").textContent = file.name;
  $("preview").src = URL.createObjectURL(file);
  $("chip").hidden = false;
  submit();
}

function clearPhoto() {
  photo = null;
  $("chip").hidden = true;
  $("photo-input").value = "";
  $("query").value = ""; // the modifier meant the photo
  $("query").placeholder = "red mug, 蓝色手套 … or drop a photo here";
  $("query").focus();
}

function searchRecording(blob, name) {
  search("voice", (form) => form.set("clip", blob, name));
}

function dropped(event) {
  event.preventDefault();
  $("bar").classList.remove("dragging");
  const file = event.dataTransfer.files[0];
  if (!file) return;
  if (file.type.startsWith("audio/")) searchRecording(file, file.name);
  else choosePhoto(file); // not an image? the server says so
}

// ---- the microphone -----------------------------------------------------------------------------------------

let recording = null; // {stream, context, chunks, timer, started} while the microphone is on

async function toggleMicrophone() {
  if (recording) return stopRecording();
  showError("");
  try {
    const stream = await navigator.mediaDevices.getUserMedia({
      audio: { channelCount: 1, echoCancellation: false, noiseSuppression: false, autoGainControl: false } });
    const context = new AudioContext();
    await context.audioWorklet.addModule("/static/recorder-worklet.js");
    const node = new AudioWorkletNode(context, "recorder");
    const chunks = [];
    node.port.onmessage = (event) => chunks.push(event.data);
    context.createMediaStreamSource(stream).connect(node);
    node.connect(context.destination); // keeps the worklet running; it outputs silence
    recording = { stream, context, chunks, started: performance.now() };
    recording.timer = setInterval(tick, 100);
    $("mic").classList.add("recording");
    tick();
  } catch (error) {
    recording = null;
    showError(`The microphone is not available (${error.name}: ${error.message}). Allow this page to use the ` +
              "microphone and check that one is connected, or upload a recording instead.");
  }
}

function tick() {
  const seconds = (performance.now() - recording.started) / 1000;
  $("status").textContent = `Listening… ${seconds.toFixed(1)} s (click the microphone again to stop; at most ` +
                            `${limits.clip_seconds} s)`;
  if (seconds >= limits.clip_seconds) stopRecording();
}

async function stopRecording() {
  const { stream, context, chunks, timer } = recording;
  recording = null;
  clearInterval(timer);
  $("mic").classList.remove("recording");
  stream.getTracks().forEach((track) => track.stop());
  const rate = context.sampleRate;
  await context.close();
  const samples = concatenate(chunks);
  const wave = rate === TARGET_RATE ? samples : await resample(samples, rate, TARGET_RATE);
  searchRecording(new Blob([wavBytes(wave, TARGET_RATE)], { type: "audio/wav" }), "microphone.wav");
}

function concatenate(chunks) {
  const out = new Float32Array(chunks.reduce((n, chunk) => n + chunk.length, 0));
  let offset = 0;
  for (const chunk of chunks) { out.set(chunk, offset); offset += chunk.length; }
  return out;
}

async function resample(samples, rate, target) {
  if (samples.length === 0) return samples;
  const offline = new OfflineAudioContext(1, Math.ceil(samples.length * target / rate), target);
  const buffer = offline.createBuffer(1, samples.length, rate);
  buffer.copyToChannel(samples, 0);
  const source = offline.createBufferSource();
  source.buffer = buffer;
  source.connect(offline.destination);
  source.start();
  return (await offline.startRendering()).getChannelData(0);
}

function wavBytes(samples, rate) {
  // A mono 16-bit PCM WAV file: the 44-byte RIFF header, then little-endian samples.
  const view = new DataView(new ArrayBuffer(44 + 2 * samples.length));
  const text = (offset, value) => [...value].forEach((c, i) => view.setUint8(offset + i, c.charCodeAt(0)));
  text(0, "RIFF"); view.setUint32(4, 36 + 2 * samples.length, true); text(8, "WAVE");
  text(12, "fmt "); view.setUint32(16, 16, true); view.setUint16(20, 1, true); view.setUint16(22, 1, true);
  view.setUint32(24, rate, true); view.setUint32(28, 2 * rate, true); view.setUint16(32, 2, true);
  view.setUint16(34, 16, true); text(36, "data"); view.setUint32(40, 2 * samples.length, true);
  samples.forEach((s, i) => view.setInt16(44 + 2 * i, Math.max(-1, Math.min(1, s)) * 0x7fff, true));
  return view.buffer;
}

// ---- wiring ---------------------------------------------------------------------------------------------------

document.addEventListener("DOMContentLoaded", () => {
  $("search").addEventListener("submit", submit);
  $("photo-input").addEventListener("change", (e) => e.target.files[0] && choosePhoto(e.target.files[0]));
  $("clip-input").addEventListener("change", (e) => {
    const file = e.target.files[0];
    e.target.value = "";
    if (file) searchRecording(file, file.name);
  });
  $("clear-photo").addEventListener("click", clearPhoto);
  $("mic").addEventListener("click", toggleMicrophone);
  $("bar").addEventListener("dragover", (e) => { e.preventDefault(); $("bar").classList.add("dragging"); });
  $("bar").addEventListener("dragleave", () => $("bar").classList.remove("dragging"));
  $("bar").addEventListener("drop", dropped);
  loadInfo().catch((error) => showError(`Cannot reach the search server (${error.message}); is make serve running?`));
});
