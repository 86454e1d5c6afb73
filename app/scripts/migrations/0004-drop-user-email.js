// @phase contract
// @collections users
// @release v1.2
//
// Step 4 of email -> emailAddress: drop the old field once v1.2 (reads emailAddress) or
// later has served long enough and no rollback target still reads `email`.
'use strict';

async function up(db) {
  await db.collection('users').updateMany({ email: { $exists: true } }, { $unset: { email: '' } });
}

// The old shape can be rebuilt exactly: emailAddress holds the same value.
async function down(db) {
  await db.collection('users').updateMany({ email: { $exists: false } }, [{ $set: { email: '$emailAddress' } }]);
}

module.exports = { up, down };
