// @phase backfill
// @collections users
//
// Step 2 of email -> emailAddress: copy the old field to the new one for every user
// v1.0 wrote (the specification's background job). `invoke migrate.backfill` runs it
// in batches of `filter` documents; `up` is the same in one go.
'use strict';

const backfill = {
  collection: 'users',
  filter: { emailAddress: null, email: { $exists: true } },
  update: [{ $set: { emailAddress: '$email' } }],
};

async function up(db) {
  await db.collection(backfill.collection).updateMany(backfill.filter, backfill.update);
}

// Nothing to undo: v1.1 and v1.2 keep writing both fields, and the copy is exact.
async function down() {}

module.exports = { backfill, up, down };
