'use strict';
// Users, and the specification's zero-downtime change of their email field
// (email -> emailAddress) across three releases. One source tree builds every
// release of the sample, so USER_EMAIL_STEP names the step this build is:
//   old      (v1.0)  writes and reads `email`
//   expand   (v1.1)  writes both, reads the old field
//   switch   (v1.2)  writes both, reads the new field (old as fallback)
//   contract (v1.3)  writes and reads only `emailAddress`
// The migrations in scripts/migrations do the data side (index, backfill, drop).

const STEPS = ['old', 'expand', 'switch', 'contract'];
const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,190}$/;

function emailStep(env = process.env) {
  const step = env.USER_EMAIL_STEP || 'contract';
  if (!STEPS.includes(step)) throw new Error(`Invalid USER_EMAIL_STEP: expected one of ${STEPS.join(', ')}`);
  return step;
}

// The document a release writes for `email`.
function toDocument(step, email) {
  if (step === 'old') return { email };
  if (step === 'contract') return { emailAddress: email };
  return { email, emailAddress: email }; // expand, switch: both
}

// The email a release reads from a stored document.
function emailOf(step, doc) {
  if (step === 'old' || step === 'expand') return doc.email;
  if (step === 'switch') return doc.emailAddress || doc.email;
  return doc.emailAddress;
}

// The users collection behind POST/GET /api/users; connects on first use.
function createUserStore({ mongoUri, step }) {
  let client;
  const collection = async () => {
    if (!client) {
      const { MongoClient } = require('mongodb');
      client = new MongoClient(mongoUri, { serverSelectionTimeoutMS: 3000 });
    }
    return client.db().collection('users');
  };
  return {
    enabled: Boolean(mongoUri),
    step,
    async create(email) {
      if (typeof email !== 'string' || !EMAIL.test(email)) {
        throw Object.assign(new Error('email must be an email address'), { status: 400 });
      }
      const users = await collection();
      const { insertedId } = await users.insertOne(toDocument(step, email));
      return { id: String(insertedId), email };
    },
    async get(id) {
      const { ObjectId } = require('mongodb');
      if (!ObjectId.isValid(id)) return null;
      const doc = await (await collection()).findOne({ _id: new ObjectId(id) });
      return doc ? { id, email: emailOf(step, doc) } : null;
    },
    async close() {
      if (client) await client.close();
    },
  };
}

module.exports = { STEPS, emailStep, toDocument, emailOf, createUserStore };
