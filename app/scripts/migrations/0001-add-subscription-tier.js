// @phase expand
// @collections users
//
// Every user gets a subscription tier; the code that reads it treats a missing one as
// "free" until this ran (the specification's add-subscription-tier example).
'use strict';

async function up(db) {
  await db
    .collection('users')
    .updateMany({ subscriptionTier: { $exists: false } }, { $set: { subscriptionTier: 'free' } });
}

async function down(db) {
  await db.collection('users').updateMany({}, { $unset: { subscriptionTier: '' } });
}

module.exports = { up, down };
