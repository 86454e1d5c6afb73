// @phase expand
// @collections users
//
// Step 1 of email -> emailAddress (ships with v1.1, which writes both fields): an index
// for the new field's lookups, sparse while old documents lack it.
'use strict';

async function up(db) {
  await db.collection('users').createIndex({ emailAddress: 1 }, { name: 'emailAddress_1', sparse: true });
}

async function down(db) {
  await db.collection('users').dropIndex('emailAddress_1');
}

module.exports = { up, down };
