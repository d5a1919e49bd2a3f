// The audiointeract browser page: microphone -> /v1/realtime websocket -> reply audio and a live timeline.
//
// Plain JavaScript, no build step. The microphone is captured by an AudioWorklet
// (capture-worklet.js) as 24 kHz PCM16 and sent as `input_audio_buffer.append` events;
// reply audio (`response.output_audio.delta`) is scheduled gap-free on the same
// AudioContext and stopped at once when the user starts speaking over it
// (`input_audio_buffer.speech_started`) or the reply is cancelled (`response.done`,
// status "cancelled"). Transcripts, sound events, decisions with their reasons
// (the `audiointeract.decision` extension event) and replies are shown as they come,
// all on one axis: seconds of the audio this page sent. Server events carry their audio
// position; a reply sits where the page's audio was when it started and ended, which is
// where the user heard it.

const RATE = 24000; // PCM16 rate both ways (the server also accepts 16000)
const FRAME_SECONDS = 0.1; // audio per input_audio_buffer.append
const WINDOW = 30; // seconds of audio the live timeline shows
const LANES = ["speech", "sounds", "decisions", "replies"];

const $ = (id) => document.getElementById(id);
const ui = {
  start: $("start"), key: $("key"), status: $("status"), conversation: $("conversation"),
  log: $("log"), silent: $("silent"), timeline: $("timeline"), behind: $("behind"),
};

let socket = null;
let context = null;
let microphone = null;
let sentSamples = 0; // audio sent so far: the page's clock, in samples at RATE
let silentDecisions = 0;
let replyAudioSeconds = 0;
let decidedUntil = 0; // the audio the server has decided on, in seconds
const playing = new Set(); // scheduled reply audio nodes
let playUntil = 0; // context time the scheduled reply audio runs to
let activeResponse = null; // the response created and not done yet
let stoppedResponse = null; // the response whose playback the page stopped already
const turns = new Map(); // item or response id -> conversation element
const replies = new Map(); // response id -> timeline mark
const marks = []; // {lane, start, end, kind, label, title}
let openSpeech = null;
let lastSound = null;

// ------------------------------------------------------------------ start / stop

ui.start.addEventListener("click", () => (socket ? stop("stopped") : start()));

async function start() {
  ui.start.disabled = true;
  try {
    microphone = await navigator.mediaDevices.getUserMedia({
      audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true, autoGainControl: true },
    });
    const source = await openContext(microphone);
    const capture = new AudioWorkletNode(context, "pcm16-capture", {
      numberOfInputs: 1, numberOfOutputs: 0,
      processorOptions: { targetRate: RATE, frameSamples: Math.round(RATE * FRAME_SECONDS) },
    });
    source.connect(capture);
    capture.port.onmessage = (event) => sendAudio(new Int16Array(event.data));
    await context.resume();
    connect();
  } catch (error) {
    stop(`could not start: ${error.message || error}`, true);
  } finally {
    ui.start.disabled = false;
  }
}

// Chromium and Safari resample the microphone into a 24 kHz context; Firefox refuses a
// context whose rate differs from the device's, so there the context runs at the device's
// rate and the capture worklet resamples.
async function openContext(stream) {
  for (const options of [{ sampleRate: RATE }, {}]) {
    context = new AudioContext({ ...options, latencyHint: "interactive" });
    try {
      const source = context.createMediaStreamSource(stream);
      await context.audioWorklet.addModule("web/capture-worklet.js");
      return source;
    } catch (error) {
      await context.close();
      context = null;
      if (!options.sampleRate) throw error;
    }
  }
  throw new Error("no audio context");
}

function stop(why, failed = false) {
  const open = socket;
  socket = null;
  if (open && open.readyState <= WebSocket.OPEN) open.close(1000, "page stopped");
  if (microphone) microphone.getTracks().forEach((track) => track.stop());
  microphone = null;
  stopPlayback();
  if (context) context.close();
  context = null;
  ui.start.textContent = "Start talking";
  ui.start.classList.remove("stop");
  setStatus(why, failed ? "failed" : "");
  document.body.dataset.state = failed ? "failed" : "stopped";
}

function connect() {
  const url = new URL("v1/realtime", location.href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  const key = ui.key.value.trim();
  const protocols = key ? ["realtime", `openai-insecure-api-key.${key}`] : ["realtime"];
  const ws = new WebSocket(url, protocols);
  socket = ws;
  setStatus("connecting…");
  ws.onopen = () => {
    send({
      type: "session.update",
      session: {
        type: "realtime",
        audio: {
          input: { format: { type: "audio/pcm", rate: RATE }, turn_detection: { type: "server_vad" } },
          output: { format: { type: "audio/pcm", rate: RATE } },
        },
        audiointeract: { decisions: true },
      },
    });
    ui.start.textContent = "Stop";
    ui.start.classList.add("stop");
    document.body.dataset.state = "listening";
    setStatus("listening — speak now", "live");
  };
  ws.onmessage = (message) => onServerEvent(JSON.parse(message.data));
  ws.onclose = (event) => {
    if (socket === ws) stop(`the server closed the connection (${event.code}${event.reason ? ": " + event.reason : ""})`, event.code !== 1000);
  };
}

function send(event) {
  if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(event));
}

function sendAudio(pcm) {
  if (!socket || socket.readyState !== WebSocket.OPEN) return;
  send({ type: "input_audio_buffer.append", audio: toBase64(new Uint8Array(pcm.buffer)) });
  sentSamples += pcm.length;
}

// ------------------------------------------------------------------ server events

function onServerEvent(event) {
  switch (event.type) {
    case "input_audio_buffer.speech_started":
      openSpeech = addMark("speech", ms(event.audio_start_ms), null, "speech", "", "speech started");
      if (activeResponse || playing.size) {
        stopPlayback(`you started speaking at ${ms(event.audio_start_ms).toFixed(1)} s`);
      }
      break;
    case "input_audio_buffer.speech_stopped":
      if (openSpeech) openSpeech.end = ms(event.audio_end_ms);
      openSpeech = null;
      break;
    case "conversation.item.input_audio_transcription.delta":
      userTurn(event.item_id).text.textContent += event.delta;
      break;
    case "conversation.item.input_audio_transcription.completed":
      if (event.transcript) userTurn(event.item_id).text.textContent = event.transcript;
      break;
    case "response.created":
      activeResponse = event.response.id;
      agentTurn(event.response.id);
      replies.set(event.response.id, addMark("replies", now(), null, "reply", "reply", "reply in progress"));
      logRow("reply", "reply", "started");
      break;
    case "response.output_audio_transcript.delta":
    case "response.output_text.delta":
      agentTurn(event.response_id).text.textContent += event.delta;
      break;
    case "response.output_audio.delta":
      play(event.delta);
      break;
    case "response.done":
      replyDone(event.response);
      break;
    case "audiointeract.decision":
      decision(event);
      break;
    case "audiointeract.decision.ignored":
      logRow("ignored", `${event.action} not carried out`, event.reason);
      break;
    case "audiointeract.sound_event":
      sound(event);
      break;
    case "error":
      logRow("error", "error", `${event.error.code}: ${event.error.message}`);
      break;
    default:
      break;
  }
  draw();
}

function decision(event) {
  const at = ms(event.audio_end_ms);
  decidedUntil = Math.max(decidedUntil, at);
  if (event.action === "silent") {
    silentDecisions += 1;
    ui.silent.textContent = `(${silentDecisions} silent)`;
    addMark("decisions", at, at, "silent", "", `silent: ${event.reason}`);
    return;
  }
  const what = event.task ? `${event.action} (${event.task})` : event.action;
  const detail = `score ${event.score.toFixed(2)} — ${event.reason || "no reason given"}`;
  addMark("decisions", at, at, event.action, event.action, `${what}, ${detail}`);
  logRow(`decision ${event.action}`, what, detail, at);
}

function sound(event) {
  const start = ms(event.audio_start_ms);
  const end = ms(event.audio_end_ms);
  if (lastSound && lastSound.label === event.label && start <= lastSound.mark.end + 0.1) {
    lastSound.mark.end = end; // one span for back-to-back detections of one sound
    lastSound.count += 1;
    lastSound.row.querySelector(".text").textContent = `${event.label} (${lastSound.count} detections)`;
    return;
  }
  const mark = addMark("sounds", start, end, "sound", event.label, `${event.label} ${event.score.toFixed(2)}`);
  const row = logRow("sound", "sound", `${event.label} (score ${event.score.toFixed(2)})`, start);
  lastSound = { label: event.label, mark, row, count: 1 };
}

function replyDone(response) {
  const mark = replies.get(response.id);
  if (mark) {
    mark.end = now();
    mark.kind = response.status === "completed" ? "reply" : "cancelled";
    mark.title = `reply ${response.status}`;
  }
  const turn = turns.get(response.id);
  const details = response.status_details || {};
  if (response.status === "cancelled") {
    stopPlayback(stoppedResponse === response.id ? "" : `reply cancelled (${details.reason || "cancelled"})`);
    if (turn) {
      turn.element.classList.add("cancelled");
      turn.note.textContent = ` — cut off (${details.reason || "cancelled"})`;
    }
  } else if (response.status === "failed" && turn) {
    turn.note.textContent = " — failed";
  }
  logRow(response.status === "completed" ? "reply" : "stopped", "reply", response.status);
  activeResponse = null;
}

// ------------------------------------------------------------------ reply audio

function play(base64) {
  if (!context) return;
  const pcm = new Int16Array(fromBase64(base64).buffer);
  if (!pcm.length) return;
  const samples = new Float32Array(pcm.length);
  for (let i = 0; i < pcm.length; i++) samples[i] = pcm[i] / 32768;
  const buffer = context.createBuffer(1, samples.length, RATE);
  buffer.copyToChannel(samples, 0);
  const node = context.createBufferSource();
  node.buffer = buffer;
  node.connect(context.destination);
  const at = Math.max(context.currentTime + 0.03, playUntil);
  node.start(at);
  playUntil = at + buffer.duration;
  playing.add(node);
  node.onended = () => playing.delete(node);
  replyAudioSeconds += buffer.duration;
  document.body.dataset.playing = "true";
  document.body.dataset.replyAudioSeconds = replyAudioSeconds.toFixed(2);
}

// Stops every scheduled piece of reply audio now; says so when a reply was playing or under way.
function stopPlayback(why) {
  const wasPlaying = playing.size > 0 || activeResponse !== null;
  for (const node of playing) {
    try { node.stop(); } catch { /* not started yet */ }
  }
  playing.clear();
  playUntil = 0;
  document.body.dataset.playing = "false";
  if (why && wasPlaying) {
    stoppedResponse = activeResponse;
    addMark("replies", now(), now(), "stopped", "", `playback stopped: ${why}`);
    logRow("stopped", "playback stopped", why);
  }
}

// ------------------------------------------------------------------ conversation and log

function userTurn(id) {
  return turn(id, "user", "you");
}

function agentTurn(id) {
  return turn(id, "agent", "agent");
}

function turn(id, who, label) {
  let entry = turns.get(id);
  if (!entry) {
    const element = document.createElement("div");
    element.className = `turn ${who}`;
    element.dataset.id = id;
    element.innerHTML = `<span class="who">${label}</span><span class="text"></span><span class="note"></span>`;
    ui.conversation.append(element);
    entry = { element, text: element.querySelector(".text"), note: element.querySelector(".note") };
    turns.set(id, entry);
  }
  ui.conversation.scrollTop = ui.conversation.scrollHeight;
  return entry;
}

// Rows stay in the order of the audio they are about: a decision arrives after the
// perception lag, so it may belong before rows already shown.
function logRow(classes, kind, text, at = now()) {
  const row = document.createElement("div");
  row.className = classes;
  row.dataset.at = String(at);
  row.innerHTML = '<span class="at"></span><span class="kind"></span><span class="text"></span>';
  row.querySelector(".at").textContent = `${at.toFixed(1)} s`;
  row.querySelector(".kind").textContent = kind;
  row.querySelector(".text").textContent = text;
  const later = [...ui.log.children].find((other) => Number(other.dataset.at) > at);
  ui.log.insertBefore(row, later || null);
  ui.log.scrollTop = ui.log.scrollHeight;
  return row;
}

function setStatus(text, kind = "") {
  ui.status.textContent = text;
  ui.status.className = kind;
}

// ------------------------------------------------------------------ live timeline

function addMark(lane, start, end, kind, label, title) {
  const mark = { lane, start, end, kind, label, title };
  marks.push(mark);
  return mark;
}

function draw() {
  const svg = ui.timeline;
  const width = svg.clientWidth || 800;
  const left = 80;
  const laneHeight = 34;
  const end = Math.max(now(), WINDOW);
  const begin = end - WINDOW;
  const x = (t) => left + ((t - begin) / WINDOW) * (width - left - 10);
  for (let i = marks.length - 1; i >= 0; i--) {
    if (marks[i].end !== null && marks[i].end < begin - 5) marks.splice(i, 1); // scrolled out of view
  }
  const parts = [];
  ui.behind.textContent = socket ? `— the server has decided on ${decidedUntil.toFixed(1)} s of the ${now().toFixed(1)} s sent` : "";
  LANES.forEach((lane, row) => {
    let labelledTo = -Infinity; // labels that would overlap the previous one are left to the tooltip
    const y = row * laneHeight + 4;
    parts.push(`<text class="lane-title" x="4" y="${y + 20}">${lane}</text>`,
               `<line x1="${left}" x2="${width}" y1="${y + laneHeight - 2}" y2="${y + laneHeight - 2}" stroke="#eee"/>`);
    for (const mark of marks.filter((m) => m.lane === lane).sort((a, b) => a.start - b.start)) {
      const from = x(Math.max(mark.start, begin));
      const to = x(mark.end ?? end);
      const colour = `var(--${mark.kind === "cancelled" || mark.kind === "stopped" ? "interrupt" : mark.kind}, #444)`;
      const title = `<title>${escapeXml(mark.title)}</title>`;
      if (mark.end === mark.start) {
        const height = mark.kind === "silent" ? 10 : 22;
        parts.push(`<g class="mark ${mark.kind}"><rect x="${from - 1.5}" y="${y + (26 - height) / 2}" width="3" height="${height}" fill="${colour}"/>${title}</g>`);
      } else {
        parts.push(`<g class="mark ${mark.kind}"><rect x="${from}" y="${y + 4}" width="${Math.max(2, to - from)}" height="18" rx="3" fill="${colour}" fill-opacity="0.7"/>${title}</g>`);
      }
      if (mark.label && from >= labelledTo) {
        parts.push(`<text x="${from + 4}" y="${y + 17}">${escapeXml(mark.label)}</text>`);
        labelledTo = from + 8 + 6.5 * mark.label.length;
      }
    }
  });
  for (let t = Math.ceil(begin / 5) * 5; t <= end; t += 5) {
    parts.push(`<text x="${x(t) - 6}" y="${LANES.length * laneHeight + 14}">${t}s</text>`);
  }
  svg.setAttribute("viewBox", `0 0 ${width} ${LANES.length * laneHeight + 20}`);
  svg.innerHTML = parts.join("");
}

setInterval(() => socket && draw(), 250);

// ------------------------------------------------------------------ helpers

function now() {
  return sentSamples / RATE;
}

function ms(value) {
  return (value ?? 0) / 1000;
}

function toBase64(bytes) {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

function fromBase64(text) {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function escapeXml(text) {
  return String(text).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
}
