// Adds up the jest result files of one test run and prints the closing line.
// Fails when any suite failed to run, even if its tests were not counted, and
// when any test was skipped or left as todo: a test that does not run proves
// nothing, and CI must not read as green while one is switched off.
const fs = require('fs');
const path = require('path');

const dir = process.argv[2];
let passed = 0;
let failed = 0;
let skipped = 0;
let todo = 0;
let brokenSuites = 0;
const notRun = [];
const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.json')) : [];
for (const f of files) {
  const r = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
  passed += r.numPassedTests ?? 0;
  failed += r.numFailedTests ?? 0;
  skipped += r.numPendingTests ?? 0;
  todo += r.numTodoTests ?? 0;
  brokenSuites += r.numRuntimeErrorTestSuites ?? 0;
  notRun.push(...(r.notRun ?? []));
}
if (brokenSuites > 0) console.log(`${brokenSuites} test suite(s) failed to run`);
for (const t of notRun) console.log(`not run: ${t}`);
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped, ${todo} todo`);
process.exit(failed > 0 || brokenSuites > 0 || skipped > 0 || todo > 0 || passed === 0 ? 1 : 0);
