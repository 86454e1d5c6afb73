'use strict';
// The app's migration runner: node scripts/run-migration.js NAME up|down|batch
//
// NAME is a module in scripts/migrations/ (NNNN-name.js) exporting up(db) and down(db);
// a backfill also exports `backfill: { collection, filter, update }`, which `batch` runs
// for the next MIGRATE_BATCH_SIZE matching documents after MIGRATE_AFTER (an EJSON _id).
// MONGO_URI comes from the environment only, never the command line, and is never
// printed. With MIGRATE_CHECKSUM set, a file whose sha256 differs is refused (exit 3):
// the engine (shipwright) checked a different file than the one this image carries.
// The last line printed is `MIGRATION-RESULT {json}`.
//
// Exit codes: 0 done; 1 the migration threw; 2 bad use; 3 checksum differs; 4 no MongoDB.

const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

// MIGRATE_DIR: another folder of modules (the engine's --local runs name theirs).
const MIGRATIONS = process.env.MIGRATE_DIR || path.join(__dirname, 'migrations');
const ACTIONS = new Set(['up', 'down', 'batch']);
const NAME = /^\d+-[a-z0-9][a-z0-9-]*$/;

class UsageError extends Error {
  constructor(message, code = 2) {
    super(message);
    this.code = code;
  }
}

function report(result) {
  process.stdout.write(`MIGRATION-RESULT ${JSON.stringify(result)}\n`);
}

function load(name) {
  const file = path.join(MIGRATIONS, `${name.replace(/\.js$/, '')}.js`);
  if (!NAME.test(path.basename(file, '.js')) || !fs.existsSync(file)) {
    throw new UsageError(`no migration ${name} in ${MIGRATIONS}`);
  }
  const expected = process.env.MIGRATE_CHECKSUM;
  if (expected) {
    const actual = crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
    if (actual !== expected) {
      throw new UsageError(`${name}: this file is ${actual.slice(0, 16)}…, expected ${expected.slice(0, 16)}…`, 3);
    }
  }
  return require(file);
}

async function batch(db, migration, { BSON }) {
  const spec = migration.backfill;
  if (!spec || !spec.collection || !spec.filter || !spec.update) {
    throw new UsageError('batch needs `backfill: { collection, filter, update }` in the module');
  }
  const size = Number(process.env.MIGRATE_BATCH_SIZE || 1000);
  const after = process.env.MIGRATE_AFTER ? BSON.EJSON.parse(process.env.MIGRATE_AFTER) : null;
  const query = after === null ? spec.filter : { $and: [spec.filter, { _id: { $gt: after } }] };
  // The find command (not a cursor helper): one batch of _ids, sorted, no cursor kept open.
  const found = await db.command({
    find: spec.collection,
    filter: query,
    sort: { _id: 1 },
    limit: size,
    batchSize: size,
    projection: { _id: 1 },
  });
  const ids = found.cursor.firstBatch.map((doc) => doc._id);
  if (ids.length) {
    await db.collection(spec.collection).updateMany({ $and: [spec.filter, { _id: { $in: ids } }] }, spec.update);
  }
  const left = await db.command({ count: spec.collection, query: spec.filter });
  return {
    count: ids.length,
    last: ids.length ? BSON.EJSON.stringify(ids[ids.length - 1]) : null,
    remaining: left.n,
  };
}

async function main(argv) {
  const [name, action] = argv;
  if (!name || !ACTIONS.has(action)) throw new UsageError('usage: run-migration.js NAME up|down|batch');
  const migration = load(name);
  if (typeof migration[action === 'batch' ? 'up' : action] !== 'function') {
    throw new UsageError(`${name} exports no ${action}(db)`);
  }
  const uri = process.env.MONGO_URI;
  if (!uri) throw new UsageError('MONGO_URI is not set (it comes from the environment)', 4);

  const mongodb = require('mongodb');
  const client = new mongodb.MongoClient(uri, { serverSelectionTimeoutMS: 10000 });
  try {
    try {
      await client.connect();
    } catch (err) {
      throw new UsageError(`cannot reach MongoDB: ${err.name}`, 4);
    }
    const db = client.db();
    const started = Date.now();
    const result = action === 'batch' ? await batch(db, migration, mongodb) : await migration[action](db);
    report({ name, action, ms: Date.now() - started, ...(result && typeof result === 'object' ? result : {}) });
  } finally {
    await client.close();
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((err) => {
    // Never the URI: driver errors may quote the host, not the password, but say less.
    const message = err instanceof UsageError ? err.message : `${err.name}: ${err.message}`;
    process.stderr.write(`run-migration: ${message.replaceAll(process.env.MONGO_URI || '\u0000', '***')}\n`);
    process.exitCode = err instanceof UsageError ? err.code : 1;
  });
}

module.exports = { main, batch };
