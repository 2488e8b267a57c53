// An independent client of the text2lips sidecar: grpc-js + proto-loader reading the .proto
// directly (no generated code), so the wire contract is checked from outside Python.
//
//   node tests/node/client.mjs 127.0.0.1:50051 ["text to speak"] [voice [batches]]
//
// Calls GetModelInfo, then Speak (or, with a voice, SpeakVoiced: audio chunks and frames in
// one stream; with `batches`, the frames in LipFrames events, one per audio chunk), checks
// what came back and prints one line; exit 0 when every check passes,
// 1 otherwise. TEXT2LIPS_TOKEN, when set, is sent as a bearer token.
import path from "node:path";
import { fileURLToPath } from "node:url";

import grpc from "@grpc/grpc-js";
import protoLoader from "@grpc/proto-loader";

const here = path.dirname(fileURLToPath(import.meta.url));
const protoRoot = path.resolve(here, "..", "..", "proto");
const DEADLINE_MS = 30_000;

function fail(message) {
  console.log(`FAIL: ${message}`);
  process.exit(1);
}

const [address, text = "Hello from Node.", voice, batching] = process.argv.slice(2);
const batches = batching === "batches";
if (!address) fail("usage: node client.mjs HOST:PORT [text]");

const definition = protoLoader.loadSync(path.join(protoRoot, "text2lips/v1/lipsync.proto"), {
  includeDirs: [protoRoot],
  keepCase: true,
  defaults: true, // proto3 zero values (index 0, last false) come through as fields
  enums: String,
  longs: Number,
});
const { LipSync } = grpc.loadPackageDefinition(definition).text2lips.v1;
const client = new LipSync(address, grpc.credentials.createInsecure());

const metadata = new grpc.Metadata();
if (process.env.TEXT2LIPS_TOKEN) metadata.set("authorization", `Bearer ${process.env.TEXT2LIPS_TOKEN}`);
const deadline = () => new Date(Date.now() + DEADLINE_MS);

function getModelInfo() {
  return new Promise((resolve, reject) => {
    client.GetModelInfo({}, metadata, { deadline: deadline() }, (err, info) =>
      err ? reject(err) : resolve(info));
  });
}

function speak(request) {
  return new Promise((resolve, reject) => {
    const frames = [];
    const call = client.Speak(request, metadata, { deadline: deadline() });
    call.on("data", (frame) => frames.push(frame));
    call.on("error", reject);
    call.on("end", () => resolve(frames));
  });
}

function speakVoiced(request) {
  return new Promise((resolve, reject) => {
    const events = [];
    const call = client.SpeakVoiced(request, metadata, { deadline: deadline() });
    call.on("data", (event) => events.push(event));
    call.on("error", reject);
    call.on("end", () => resolve(events));
  });
}

// Audio first, contiguous from t = 0, every frame after the audio of its time; frames one per
// event, or (batches) only in LipFrames events. Returns [problem, frames, seconds of audio,
// number of batches].
function checkVoiced(events) {
  let audioEnd = 0;
  let nBatches = 0;
  const frames = [];
  if (events.length === 0 || !events[0].audio) return ["the stream does not start with audio"];
  for (const e of events) {
    if (e.audio) {
      const a = e.audio;
      if (Math.abs(a.start_s - audioEnd) > 1e-6) return [`audio chunk at ${a.start_s} s, expected ${audioEnd}`];
      if (a.pcm16.length % 2 !== 0) return ["odd PCM16 byte count"];
      audioEnd += a.pcm16.length / 2 / a.sample_rate;
    } else {
      if (batches !== Boolean(e.frames)) return [`a ${e.frames ? "batch" : "single frame"} event when batches=${batches}`];
      const got = e.frames ? e.frames.frames : [e.frame];
      if (got.length === 0) return ["an empty batch"];
      nBatches += e.frames ? 1 : 0;
      for (const f of got) {
        if (f.time_s > audioEnd + 1 / 80) return [`frame at ${f.time_s} s before its audio`];
        frames.push(f);
      }
    }
  }
  return [null, frames, audioEnd, nBatches];
}

function check(frames, info, utteranceId) {
  if (frames.length === 0) return "no frames";
  const nShapes = info.blendshape_names.length;
  for (let i = 0; i < frames.length; i++) {
    const f = frames[i];
    if (f.index !== i) return `frame ${i} has index ${f.index}`;
    if (f.utterance_id !== utteranceId) return `frame ${i} has utterance_id ${f.utterance_id}`;
    if (f.landmarks.length !== 60) return `frame ${i} has ${f.landmarks.length} landmark values`;
    if (!f.landmarks.every(Number.isFinite)) return `frame ${i} has non-finite landmarks`;
    if (f.blendshapes.length !== nShapes) return `frame ${i} has ${f.blendshapes.length} blend shapes, expected ${nShapes}`;
    if (!f.blendshapes.every((w) => w >= 0 && w <= 1)) return `frame ${i} has a weight outside [0, 1]`;
    if (i > 0 && !(f.time_s > frames[i - 1].time_s)) return `time does not increase at frame ${i}`;
    if (f.last !== (i === frames.length - 1)) return `frame ${i} has last=${f.last}`;
  }
  return null;
}

try {
  const info = await getModelInfo();
  if (info.frame_rate !== 80) fail(`model frame_rate ${info.frame_rate}, expected 80`);
  const utteranceId = "node-client-1";
  if (voice) {
    if (!info.voices.includes(voice)) fail(`voice ${voice} not in ModelInfo.voices ${info.voices}`);
    const events = await speakVoiced({ speak: { text, utterance_id: utteranceId }, voice, frame_batches: batches });
    const [problem, frames, audioS, nBatches] = checkVoiced(events);
    if (problem) fail(problem);
    const frameProblem = check(frames, info, utteranceId);
    if (frameProblem) fail(frameProblem);
    const inBatches = batches ? ` in ${nBatches} batches` : "";
    console.log(`ok voiced: ${audioS.toFixed(3)} s of audio and ${frames.length} frames${inBatches} from ${voice} at ${address}`);
    process.exit(0);
  }
  const frames = await speak({ text, utterance_id: utteranceId });
  const problem = check(frames, info, utteranceId);
  if (problem) fail(problem);
  const seconds = frames[frames.length - 1].time_s;
  console.log(`ok: ${frames.length} frames over ${seconds.toFixed(3)} s from ${info.model_name} at ${address}`);
  process.exit(0);
} catch (err) {
  fail(`${err.code !== undefined ? grpc.status[err.code] : "error"}: ${err.details || err.message}`);
} finally {
  client.close();
}
