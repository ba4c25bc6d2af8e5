#!/usr/bin/env node
/*
 * The TypeScript flushing example of the seed page (tests/e2e/seed_examples.py),
 * `ttsWebsocketFlushing` in cartesia-js v3.2.0 examples/node_examples.ts, in plain
 * JavaScript, run against ttsd over TLS.
 *
 * The JS SDK always dials wss://<baseURL host>/tts/websocket, so ttsd runs with
 * --ssl-certfile/--ssl-keyfile and node trusts its self-signed certificate through
 * NODE_EXTRA_CA_CERTS (no rejectUnauthorized hack).
 *
 * usage: NODE_PATH=<prefix>/node_modules NODE_EXTRA_CA_CERTS=cert.pem \
 *        node flushing.js https://127.0.0.1:PORT OUT_DIR
 * Prints one JSON line: {"version", "events": [...], "files": {flush_id: path}}.
 */
'use strict';
const fs = require('fs');
const path = require('path');
const sdk = require('@cartesia/cartesia-js');
const { VERSION: version } = require('@cartesia/cartesia-js/version');

const Cartesia = sdk.Cartesia || sdk.default;
const [baseURL, outDir] = process.argv.slice(2);
const VOICE_ID = '6ccbfb76-1fc6-48f7-b71d-91ac6298247b';
// 4.x sends voices as bare strings, 3.x as {mode, id} (docs/protocol.md §2.1.1)
const VOICE = parseInt(version.split('.')[0], 10) >= 4 ? VOICE_ID : { mode: 'id', id: VOICE_ID };

async function ttsWebsocketFlushing(client) {
  const ws = await client.tts.websocket();
  const errors = [];
  ws.on('error', (err) => errors.push(err.message));
  const files = new Map();
  const events = [];
  try {
    const ctx = ws.context({
      model_id: 'sonic-latest',
      voice: VOICE,
      output_format: { container: 'raw', encoding: 'pcm_f32le', sample_rate: 44100 },
      language: 'en',
    });
    await ctx.push({ transcript: 'Stay hungry, ' });
    await ctx.flush();
    await ctx.push({ transcript: 'stay foolish.' });
    await ctx.no_more_inputs();
    for await (const event of ctx.receive()) {
      events.push({ type: event.type, flush_id: event.flush_id });
      if (event.type === 'chunk' && event.audio) {
        const flushId = event.flush_id ?? 0;
        let file = files.get(flushId);
        if (file === undefined) {
          file = path.join(outDir, `tts_flush_${flushId}.pcm`);
          fs.writeFileSync(file, Buffer.alloc(0));
          files.set(flushId, file);
        }
        fs.appendFileSync(file, event.audio);
      } else if (event.type === 'error') {
        throw new Error(`${event.title}: ${event.message}`);
      }
    }
  } finally {
    ws.close();
  }
  return { version, events, errors, files: Object.fromEntries(files) };
}

ttsWebsocketFlushing(new Cartesia({ apiKey: 'test', baseURL }))
  .then((result) => {
    console.log(JSON.stringify(result));
    process.exit(0);
  })
  .catch((err) => {
    console.error(err && err.stack ? err.stack : String(err));
    process.exit(1);
  });
