// Runs a steps document with the harness: `node steps.js FILE`, FILE holding
// {"artifacts": DIR, "steps": [...], "options": {...}} (see harness.js, Session.step). Prints the
// session's report as one JSON document; on a failing step, the report with an "error" (exit 2).
'use strict';

const fs = require('fs');
const h = require('./harness.js');

h.main(async (state) => {
  const file = process.argv[2];
  if (!file) throw new Error('usage: node steps.js STEPS.json');
  const doc = JSON.parse(fs.readFileSync(file, 'utf8'));
  return h.runStepsDocument(doc, state);
});
