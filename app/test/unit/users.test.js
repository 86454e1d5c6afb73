'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { emailStep, toDocument, emailOf } = require('../../src/users');

const old = { email: 'a@x.io' };
const both = { email: 'a@x.io', emailAddress: 'a@x.io' };
const contracted = { emailAddress: 'a@x.io' };

test('each release writes the shape of its step', () => {
  assert.deepEqual(toDocument('old', 'a@x.io'), old);
  assert.deepEqual(toDocument('expand', 'a@x.io'), both);
  assert.deepEqual(toDocument('switch', 'a@x.io'), both);
  assert.deepEqual(toDocument('contract', 'a@x.io'), contracted);
});

test('v1.1 reads the old field, v1.2 the new with the old as fallback, v1.3 only the new', () => {
  assert.equal(emailOf('expand', old), 'a@x.io');
  assert.equal(emailOf('expand', contracted), undefined); // why v1.1 must not meet a contracted schema
  assert.equal(emailOf('switch', old), 'a@x.io');
  assert.equal(emailOf('switch', contracted), 'a@x.io');
  assert.equal(emailOf('contract', contracted), 'a@x.io');
  assert.equal(emailOf('contract', old), undefined); // why the backfill must finish first
});

test('the step comes from USER_EMAIL_STEP, contract by default, anything else refused', () => {
  assert.equal(emailStep({}), 'contract');
  assert.equal(emailStep({ USER_EMAIL_STEP: 'expand' }), 'expand');
  assert.throws(() => emailStep({ USER_EMAIL_STEP: 'v2' }), /Invalid USER_EMAIL_STEP/);
});
