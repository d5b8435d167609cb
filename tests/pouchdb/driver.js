#!/usr/bin/env node
// PouchDB 9 as a real replication client, driven by tests/test_sync_pouchdb.py.
//
// A session over stdin/stdout, one JSON object a line each way, so in-memory
// databases live across the steps of a test while Python writes through the
// Wix API in between. Request: {"id": N, "op": "...", ...}; answer:
// {"id": N, "ok": true, "result": ...} or {"id": N, "ok": false, "error": {...}}.
// Every HTTP exchange PouchDB makes with a remote is logged (op "requests"),
// so a failing test can show what PouchDB asked and what the server answered.
//
// Ops:
//   open {name, url?}        a local memory database, or a remote one at url
//   put {db, doc}            db.put(doc)
//   bulk {db, docs, options} db.bulkDocs(docs, options)
//   get {db, docId, options} db.get(docId, options); a rejection is the answer's error
//   remove {db, docId, rev}  db.remove(docId, rev)
//   all {db}                 allDocs with docs and conflicts, tombstones left out
//   replicate {source, target, options}   one-shot PouchDB.replicate
//   sync {a, b, options}     one-shot PouchDB.sync (both ways)
//   live {name, a, b, options}   starts PouchDB.sync(a, b, {live, retry, ...options})
//   events {name}            what a live sync reported so far
//   cancel {name}            cancels a live sync and waits for it to stop
//   requests {since?}        the logged HTTP exchanges (from index since)
//   version                  PouchDB.version

"use strict";

const readline = require("node:readline");
const PouchDB = require("pouchdb");
PouchDB.plugin(require("pouchdb-adapter-memory"));

const BODY_LOG_LIMIT = 4000;
const databases = new Map();
const lives = new Map();
const exchanges = [];

function clip(text) {
  if (typeof text !== "string") return text;
  return text.length > BODY_LOG_LIMIT
    ? `${text.slice(0, BODY_LOG_LIMIT)}... (${text.length} chars)`
    : text;
}

function redact(url) {
  return String(url).replace(/\/\/[^/@]*@/, "//");
}

function bodyText(body) {
  if (body === undefined || body === null) return null;
  if (typeof body === "string") return body;
  if (Buffer.isBuffer(body)) return `<${body.length} bytes>`;
  return `<${body.constructor ? body.constructor.name : typeof body}>`;
}

// PouchDB's http adapter takes a fetch function: log every exchange through it.
function loggingFetch(url, options) {
  const entry = {
    method: (options && options.method) || "GET",
    url: redact(url),
    body: clip(bodyText(options && options.body)),
    started: new Date().toISOString(),
  };
  exchanges.push(entry);
  return PouchDB.fetch(url, options).then(
    (response) => {
      entry.status = response.status;
      entry.contentType = response.headers.get("content-type");
      response
        .clone()
        .text()
        .then(
          (text) => {
            entry.response = clip(text);
          },
          (err) => {
            entry.response = `<unreadable: ${err.message}>`;
          },
        );
      return response;
    },
    (err) => {
      entry.fetchError = String(err && err.message);
      entry.fetchErrorName = err && err.name; // AbortError: PouchDB cancelled it
      throw err;
    },
  );
}

function database(name) {
  const db = databases.get(name);
  if (!db) throw new Error(`no database named ${name}; open it first`);
  return db;
}

function plainError(err) {
  if (!err || typeof err !== "object") return { message: String(err) };
  const out = {};
  for (const key of ["name", "status", "error", "reason", "message", "docId", "id", "result"]) {
    if (err[key] !== undefined) out[key] = err[key];
  }
  if (err.stack) out.stack = String(err.stack).split("\n").slice(0, 6).join("\n");
  return out;
}

// Replication results hold Dates and Errors: keep what a test reads.
function summary(result) {
  if (!result) return result;
  const out = {};
  for (const key of [
    "ok",
    "status",
    "docs_read",
    "docs_written",
    "doc_write_failures",
    "last_seq",
    "direction",
  ]) {
    if (result[key] !== undefined) out[key] = result[key];
  }
  if (result.errors) out.errors = result.errors.map(plainError);
  if (result.docs) out.docs = result.docs.map((d) => ({ _id: d._id, _rev: d._rev }));
  if (result.change) out.change = summary(result.change);
  if (result.push) out.push = summary(result.push);
  if (result.pull) out.pull = summary(result.pull);
  return out;
}

const ops = {
  version: async () => PouchDB.version,

  open: async ({ name, url }) => {
    const db = url
      ? new PouchDB(url, { fetch: loggingFetch })
      : new PouchDB(name, { adapter: "memory" });
    databases.set(name, db);
    return { name, remote: Boolean(url) };
  },

  put: async ({ db, doc }) => database(db).put(doc),
  bulk: async ({ db, docs, options }) => database(db).bulkDocs(docs, options || {}),
  get: async ({ db, docId, options }) => database(db).get(docId, options || {}),
  remove: async ({ db, docId, rev }) => database(db).remove(docId, rev),

  all: async ({ db }) => {
    const res = await database(db).allDocs({ include_docs: true, conflicts: true });
    return res.rows.map((row) => row.doc);
  },

  replicate: async ({ source, target, options }) =>
    summary(await PouchDB.replicate(database(source), database(target), options || {})),

  sync: async ({ a, b, options }) =>
    summary(await PouchDB.sync(database(a), database(b), options || {})),

  live: async ({ name, a, b, options }) => {
    const state = { events: [], done: null };
    const handle = PouchDB.sync(database(a), database(b), {
      live: true,
      retry: true,
      ...(options || {}),
    });
    const note = (event) => (info) =>
      state.events.push({ event, at: new Date().toISOString(), info: summary(info) || null });
    handle.on("change", note("change"));
    handle.on("paused", (err) =>
      state.events.push({ event: "paused", at: new Date().toISOString(), error: err ? plainError(err) : null }),
    );
    handle.on("active", note("active"));
    handle.on("denied", (err) =>
      state.events.push({ event: "denied", at: new Date().toISOString(), error: plainError(err) }),
    );
    handle.on("error", (err) =>
      state.events.push({ event: "error", at: new Date().toISOString(), error: plainError(err) }),
    );
    state.done = new Promise((resolve) => {
      handle.on("complete", (info) => {
        state.events.push({ event: "complete", at: new Date().toISOString(), info: summary(info) });
        resolve();
      });
    });
    state.handle = handle;
    lives.set(name, state);
    return { name };
  },

  events: async ({ name }) => {
    const state = lives.get(name);
    if (!state) throw new Error(`no live sync named ${name}`);
    return state.events;
  },

  cancel: async ({ name }) => {
    const state = lives.get(name);
    if (!state) throw new Error(`no live sync named ${name}`);
    state.handle.cancel();
    await Promise.race([state.done, new Promise((r) => setTimeout(r, 5000))]);
    lives.delete(name);
    return state.events;
  },

  requests: async ({ since }) => exchanges.slice(since || 0),
};

function answer(message) {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

const input = readline.createInterface({ input: process.stdin });
input.on("line", (line) => {
  if (!line.trim()) return;
  let request;
  try {
    request = JSON.parse(line);
  } catch (err) {
    answer({ id: null, ok: false, error: { message: `bad JSON: ${err.message}` } });
    return;
  }
  const op = ops[request.op];
  if (!op) {
    answer({ id: request.id, ok: false, error: { message: `unknown op ${request.op}` } });
    return;
  }
  Promise.resolve()
    .then(() => op(request))
    .then(
      (result) => answer({ id: request.id, ok: true, result: result === undefined ? null : result }),
      (err) => answer({ id: request.id, ok: false, error: plainError(err) }),
    );
});
input.on("close", () => {
  for (const state of lives.values()) state.handle.cancel();
  setTimeout(() => process.exit(0), 200).unref();
});
