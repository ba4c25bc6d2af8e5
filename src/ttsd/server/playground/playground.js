// ttsd playground: streams text to /tts/websocket as a language model would (a word at a
// time), plays the audio gaplessly through Web Audio and highlights each word as it is heard.
// A plain ES module served by ttsd itself (src/ttsd/server/playground): no build step and
// nothing fetched from anywhere else. The page's state is `window.playground` (the browser
// test in tests/e2e/test_playground.py reads it).

const MODEL_ID = "sonic-3"; // a Cartesia model id: the voice chooses the engine
const KEY_STORAGE = "ttsd.playground.apiKey";
// Seconds between "now" and the first chunk's start (and a restart after the audio ran dry):
// enough for the audio thread to pick the buffer up without cutting its head off.
const LEAD_S = 0.05;

/** What the page is doing, in plain data: read by the browser test, shown in the page. */
const state = {
  state: "idle", // idle | speaking | done | cancelled | error
  contextId: null,
  wordsSent: 0, // text pieces sent so far in the current context
  flushesSent: 0,
  chunksReceived: 0,
  chunksScheduled: 0,
  scheduledSeconds: 0,
  underruns: 0, // times the audio ran dry and restarted (a gap was heard)
  activeSources: 0, // buffer sources scheduled and neither ended nor stopped
  segmentIds: [], // flush_id of each segment, as its first frame arrived
  flushIds: [], // flush_id of each flush_done, in arrival order
  highlightedWords: [], // every word highlighted, in order
  firstAudioMs: null, // first text sent → first chunk received
  audioState: null, // the AudioContext's state
  voices: [],
  errors: [],
};
window.playground = state;

const $ = (id) => document.getElementById(id);

// ---- decoding: every raw encoding the WebSocket offers, to Float32 in [-1, 1] ----

// ttsd scales floats by 32767 to make 16-bit samples (src/ttsd/audio/encoders.py): the
// inverse brings pcm_s16le and G.711 back to the levels pcm_f32le gives.
const S16_FULL_SCALE = 32767;

// G.711 μ-law, as ITU-T's reference decoder (sign, 3-bit exponent, 4-bit mantissa, bias 0x84).
const MULAW = new Float32Array(256).map((_, byte) => {
  const u = ~byte & 0xff;
  const magnitude = ((((u & 0x0f) << 3) + 0x84) << ((u & 0x70) >> 4)) - 0x84;
  return (u & 0x80 ? -magnitude : magnitude) / S16_FULL_SCALE;
});

// G.711 A-law (even bits inverted; a set sign bit is positive).
const ALAW = new Float32Array(256).map((_, byte) => {
  const a = byte ^ 0x55;
  const exponent = (a & 0x70) >> 4;
  let magnitude = (a & 0x0f) << 4;
  magnitude = exponent === 0 ? magnitude + 8 : (magnitude + 0x108) << (exponent - 1);
  return (a & 0x80 ? magnitude : -magnitude) / S16_FULL_SCALE;
});

function fromBase64(text) {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** Samples of `bytes` in `encoding`. Chunks hold whole samples (the server cuts them so). */
function decode(encoding, bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let out;
  switch (encoding) {
    case "pcm_f32le":
      out = new Float32Array(bytes.length >> 2);
      for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
      return out;
    case "pcm_s16le":
      out = new Float32Array(bytes.length >> 1);
      for (let i = 0; i < out.length; i++) out[i] = view.getInt16(i * 2, true) / S16_FULL_SCALE;
      return out;
    case "pcm_mulaw":
      return Float32Array.from(bytes, (byte) => MULAW[byte]);
    case "pcm_alaw":
      return Float32Array.from(bytes, (byte) => ALAW[byte]);
    default:
      throw new Error(`no decoder for ${encoding}`);
  }
}

// ---- playback: buffers back to back on one AudioContext clock ----

class Player {
  constructor() {
    this.context = null;
    this.analyser = null;
    this.sources = new Set();
    this.reset();
  }

  /** Called from the Speak click: a context made or resumed in a user gesture may play. */
  start(sampleRate) {
    // The context runs at the stream's own rate, so buffers meet on whole sample frames
    // (Web Audio resamples once, to the device, after they are joined).
    if (this.context && this.context.sampleRate !== sampleRate) {
      this.context.close();
      this.context = null;
    }
    if (!this.context) {
      this.context = new AudioContext({ sampleRate, latencyHint: "interactive" });
      this.context.onstatechange = () => (state.audioState = this.context?.state ?? null);
      // Every source plays through it: what the page really outputs, not what it meant to.
      this.analyser = this.context.createAnalyser();
      this.analyser.fftSize = 2048;
      this.analyser.connect(this.context.destination);
    }
    state.audioState = this.context.state;
    this.stop(); // what an utterance that failed had scheduled
    this.reset();
    return this.context.resume();
  }

  reset() {
    this.nextStart = 0; // context time the next buffer starts at
    this.audioSeconds = 0; // seconds of the context's audio scheduled so far
    this.timeline = []; // {at, audio, duration}: where each buffer sits on both clocks
  }

  schedule(samples, sampleRate) {
    const ctx = this.context;
    const buffer = ctx.createBuffer(1, samples.length, sampleRate);
    buffer.copyToChannel(samples, 0);
    const source = ctx.createBufferSource();
    source.buffer = buffer;
    source.connect(this.analyser);
    const now = ctx.currentTime;
    if (this.nextStart < now) {
      // The first buffer, or the previous one has already finished: there is a gap.
      if (this.timeline.length) state.underruns++;
      this.nextStart = now + LEAD_S;
    }
    source.start(this.nextStart);
    this.sources.add(source);
    state.activeSources = this.sources.size;
    source.onended = () => {
      this.sources.delete(source);
      state.activeSources = this.sources.size;
    };
    this.timeline.push({ at: this.nextStart, audio: this.audioSeconds, duration: buffer.duration });
    this.nextStart += buffer.duration;
    this.audioSeconds += buffer.duration;
    return buffer.duration;
  }

  /** Seconds of the context's audio heard so far (timestamps' clock), or -1 before it. */
  position() {
    if (!this.context) return -1;
    const now = this.context.currentTime;
    for (let i = this.timeline.length - 1; i >= 0; i--) {
      const piece = this.timeline[i];
      if (piece.at <= now) return piece.audio + Math.min(now - piece.at, piece.duration);
    }
    return -1;
  }

  /** The largest sample magnitude of the last ~2048 frames played (0 when silent). */
  outputPeak() {
    if (!this.analyser) return 0;
    const frames = new Float32Array(this.analyser.fftSize);
    this.analyser.getFloatTimeDomainData(frames);
    return frames.reduce((peak, value) => Math.max(peak, Math.abs(value)), 0);
  }

  /** Seconds until the last scheduled buffer ends. */
  remaining() {
    return this.context ? Math.max(0, this.nextStart - this.context.currentTime) : 0;
  }

  stop() {
    for (const source of this.sources) {
      source.onended = null;
      source.stop();
    }
    this.sources.clear();
    state.activeSources = 0;
  }
}

// ---- the page ----

const player = new Player();
// For the browser test: these decoders against the server's encoders, and what is heard.
window.ttsdPcm = {
  decode: (encoding, base64) => Array.from(decode(encoding, fromBase64(base64))),
  outputPeak: () => player.outputPeak(),
};
let socket = null;
let socketKey = null;
let utterance = null; // the context being spoken: its settings, words and segments

function apiKey() {
  return $("api-key").value.trim();
}

function showError(message) {
  state.errors.push(message);
  const item = document.createElement("li");
  item.textContent = message;
  $("errors").append(item);
}

function setState(name) {
  state.state = name;
  $("state").textContent = name;
  const speaking = name === "speaking";
  $("speak").disabled = speaking;
  $("cancel").disabled = !speaking;
  $("flush").disabled = !(speaking && utterance?.streaming);
}

function relative(path) {
  // Relative to the page, so that the playground works behind a proxy's path prefix.
  return new URL(path, document.baseURI);
}

async function loadStatus() {
  try {
    const response = await fetch(relative("../"));
    const body = await response.json();
    $("server-status").textContent = `ttsd ${body.ttsd_version}, API ${body.version}`;
  } catch (error) {
    $("server-status").textContent = "server not answering";
  }
}

async function loadVoices() {
  const headers = apiKey() ? { "X-API-Key": apiKey() } : {};
  const url = relative("../voices");
  url.searchParams.set("limit", "100");
  const voices = [];
  for (;;) {
    let response;
    try {
      response = await fetch(url, { headers });
    } catch (error) {
      showError(`GET /voices: ${error.message}`);
      return;
    }
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      const reason = response.status === 401 ? "enter the server's API key" : body.message;
      showError(`GET /voices: ${response.status} ${body.title ?? ""}: ${reason}`);
      return;
    }
    voices.push(...body.data);
    if (!body.has_more || body.data.length === 0) break;
    url.searchParams.set("starting_after", body.data[body.data.length - 1].id);
  }
  state.voices = voices.map((voice) => voice.id);
  fillLanguages(voices);
}

function languageName(code) {
  try {
    return new Intl.DisplayNames(["en"], { type: "language" }).of(code) ?? code;
  } catch {
    return code;
  }
}

function fillLanguages(voices) {
  const select = $("language");
  const chosen = select.value;
  const languages = [...new Set(voices.map((voice) => voice.language))];
  select.replaceChildren(
    ...languages.map((code) => new Option(`${languageName(code)} (${code})`, code)),
  );
  // The first voice is the server's default voice: its language first.
  select.value = languages.includes(chosen) ? chosen : languages[0];
  select.onchange = () => fillVoices(voices);
  fillVoices(voices);
}

function fillVoices(voices) {
  const language = $("language").value;
  const select = $("voice");
  const chosen = select.value;
  const speakers = voices.filter((voice) => voice.language === language);
  select.replaceChildren(
    ...speakers.map((voice) => {
      const locale = voice.locales?.[0]?.locale ?? voice.language;
      const option = new Option(`${voice.name} · ${voice.engine} · ${locale}`, voice.id);
      option.title = voice.id;
      return option;
    }),
  );
  if (speakers.some((voice) => voice.id === chosen)) select.value = chosen;
}

function connect(key) {
  if (socket && socket.readyState === WebSocket.OPEN && socketKey === key) {
    return Promise.resolve(socket);
  }
  socket?.close();
  const url = relative("../tts/websocket");
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  // A browser cannot set headers on a WebSocket handshake: the key goes in the query.
  if (key) url.searchParams.set("api_key", key);
  const ws = new WebSocket(url);
  socket = ws;
  socketKey = key;
  return new Promise((resolve, reject) => {
    ws.onopen = () => {
      ws.onclose = (event) => {
        if (socket === ws) socket = null;
        if (utterance?.ws === ws && state.state === "speaking") {
          showError(`the connection closed (${event.code} ${event.reason || ""})`.trim());
          stopStreaming();
          setState("error");
        }
      };
      resolve(ws);
    };
    ws.onclose = () => {
      if (socket === ws) socket = null;
      // The browser tells a page nothing more about a refused handshake.
      reject(new Error("the WebSocket was refused: a wrong API key, or the server is going down"));
    };
    ws.onmessage = (event) => onFrame(JSON.parse(event.data));
  });
}

function randomId() {
  // crypto.randomUUID needs a secure context; a LAN address over http is not one.
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

async function speak() {
  const text = $("text").value.trim();
  if (!text || state.state === "speaking") return;
  const sampleRate = Number($("sample-rate").value);
  // First, while the click still counts as a user gesture (autoplay policy).
  const resumed = player.start(sampleRate);
  resetUtterance();
  setState("speaking");
  let ws;
  try {
    [ws] = await Promise.all([connect(apiKey()), resumed]);
  } catch (error) {
    showError(error.message);
    setState("error");
    return;
  }
  if (state.state !== "speaking") return; // cancelled while connecting
  const contextId = randomId();
  utterance = {
    ws,
    contextId,
    encoding: $("encoding").value,
    sampleRate,
    base: {
      context_id: contextId,
      model_id: MODEL_ID,
      voice: { mode: "id", id: $("voice").value },
      language: $("language").value,
      output_format: { container: "raw", encoding: $("encoding").value, sample_rate: sampleRate },
      add_timestamps: true,
      generation_config: { speed: Number($("speed").value) },
    },
    pieces: text.match(/\S+\s*/g),
    streaming: true,
    timer: null,
    sentAt: null,
    done: false,
    words: [],
    current: -1,
    segments: new Map(),
  };
  state.contextId = contextId;
  setState("speaking");
  sendNextPiece();
  requestAnimationFrame(tick);
}

function resetUtterance() {
  utterance = null;
  Object.assign(state, {
    contextId: null,
    wordsSent: 0,
    flushesSent: 0,
    chunksReceived: 0,
    chunksScheduled: 0,
    scheduledSeconds: 0,
    underruns: 0,
    segmentIds: [],
    flushIds: [],
    highlightedWords: [],
    firstAudioMs: null,
  });
  $("words").replaceChildren();
  $("segments").tBodies[0].replaceChildren();
  $("first-audio").textContent = "–";
  showStats();
}

function send(message) {
  utterance.ws.send(JSON.stringify({ ...utterance.base, ...message }));
}

/** One word (with the space after it) per interval, as a language model's tokens come. */
function sendNextPiece() {
  const u = utterance;
  if (!u.streaming) return;
  if (state.wordsSent < u.pieces.length) {
    if (u.sentAt === null) u.sentAt = performance.now();
    send({ transcript: u.pieces[state.wordsSent], continue: true });
    state.wordsSent++;
    u.timer = setTimeout(sendNextPiece, Number($("interval").value));
    return;
  }
  // All sent: `continue: false` closes the context; the server speaks what it still holds.
  send({ transcript: "", continue: false });
  u.streaming = false;
  $("flush").disabled = true;
}

function flush() {
  if (!utterance?.streaming) return;
  // A manual flush: the server speaks what it holds now and then sends flush_done.
  send({ transcript: "", continue: true, flush: true });
  state.flushesSent++;
}

function cancel() {
  if (state.state !== "speaking") return;
  if (utterance) {
    stopStreaming();
    if (!utterance.done) {
      // No reply comes; frames already on their way are dropped in onFrame.
      utterance.ws.send(JSON.stringify({ context_id: utterance.contextId, cancel: true }));
    }
    for (const segment of utterance.segments.values()) {
      if (segment.state === "receiving") setSegment(segment, "cancelled");
    }
  }
  player.stop();
  setState("cancelled");
}

function stopStreaming() {
  if (!utterance) return;
  clearTimeout(utterance.timer);
  utterance.streaming = false;
}

function onFrame(frame) {
  const u = utterance;
  if (frame.type === "error") {
    showError(`${frame.status_code} ${frame.title}: ${frame.message}`);
    const ours = u && (frame.context_id === u.contextId || !frame.context_id);
    if (ours && state.state === "speaking") {
      stopStreaming();
      setState("error");
    }
    return;
  }
  // Frames of a context cancelled (or replaced) are late: nothing more is played.
  if (!u || frame.context_id !== u.contextId || state.state !== "speaking") return;
  switch (frame.type) {
    case "chunk":
      onChunk(u, frame);
      break;
    case "timestamps":
      onWords(u, frame);
      break;
    case "flush_done":
      state.flushIds.push(frame.flush_id);
      setSegment(segmentOf(u, frame.flush_id), "flushed");
      break;
    case "done":
      u.done = true;
      for (const segment of u.segments.values()) {
        if (segment.state === "receiving") setSegment(segment, "done");
      }
      break;
  }
}

function onChunk(u, frame) {
  state.chunksReceived++;
  if (state.firstAudioMs === null) {
    state.firstAudioMs = performance.now() - u.sentAt;
    $("first-audio").textContent = `${Math.round(state.firstAudioMs)} ms`;
  }
  const samples = decode(u.encoding, fromBase64(frame.data));
  if (samples.length === 0) return;
  const seconds = player.schedule(samples, u.sampleRate);
  state.chunksScheduled++;
  state.scheduledSeconds += seconds;
  const segment = segmentOf(u, frame.flush_id);
  segment.seconds += seconds;
  segment.cells[2].textContent = `${segment.seconds.toFixed(2)} s`;
  showStats();
}

function onWords(u, frame) {
  const { words, start, end } = frame.word_timestamps;
  const segment = segmentOf(u, frame.flush_id);
  words.forEach((word, i) => {
    const span = document.createElement("span");
    span.textContent = word;
    $("words").append(span, " ");
    u.words.push({ word, start: start[i], end: end[i], span });
  });
  segment.words.push(...words);
  segment.cells[3].textContent = segment.words.join(" ");
}

/** The table row of segment `flushId`, made when its first frame arrives. */
function segmentOf(u, flushId) {
  let segment = u.segments.get(flushId);
  if (!segment) {
    const row = $("segments").tBodies[0].insertRow();
    const cells = [0, 1, 2, 3].map(() => row.insertCell());
    cells[0].textContent = flushId ?? "–";
    segment = { cells, seconds: 0, words: [], state: "" };
    setSegment(segment, "receiving");
    u.segments.set(flushId, segment);
    state.segmentIds.push(flushId);
  }
  return segment;
}

function setSegment(segment, name) {
  segment.state = name;
  segment.cells[1].textContent = name;
}

function showStats() {
  $("scheduled").textContent = `${state.scheduledSeconds.toFixed(2)} s`;
  $("chunks").textContent = String(state.chunksScheduled);
}

/** Each frame: highlight the word being heard; end the utterance once all has played. */
function tick() {
  const u = utterance;
  if (!u || state.state !== "speaking") return;
  const heard = player.position();
  let next = u.current;
  while (next + 1 < u.words.length && u.words[next + 1].start <= heard) next++;
  if (next !== u.current) {
    u.words[u.current]?.span.classList.replace("current", "spoken");
    u.words[next].span.classList.add("current");
    state.highlightedWords.push(u.words[next].word);
    u.current = next;
  }
  if (u.done && player.remaining() === 0) {
    u.words[u.current]?.span.classList.replace("current", "spoken");
    setState("done");
    return;
  }
  requestAnimationFrame(tick);
}

function showRange(input, output, format) {
  const update = () => ($(output).textContent = format(Number($(input).value)));
  $(input).addEventListener("input", update);
  update();
}

function init() {
  $("api-key").value = sessionStorage.getItem(KEY_STORAGE) ?? "";
  $("api-key").addEventListener("change", () => {
    // Kept for this tab only: sessionStorage, never a cookie or localStorage.
    sessionStorage.setItem(KEY_STORAGE, apiKey());
    socket?.close();
    socket = null;
    loadVoices();
  });
  $("speak").addEventListener("click", speak);
  $("flush").addEventListener("click", flush);
  $("cancel").addEventListener("click", cancel);
  showRange("speed", "speed-value", (value) => value.toFixed(2));
  showRange("interval", "interval-value", (value) => String(value));
  setState("idle");
  loadStatus();
  loadVoices();
}

init();
