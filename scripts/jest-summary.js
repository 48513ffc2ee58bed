// Adds up the jest result files of one test run and prints the closing line.
// Fails when any suite failed to run, even if its tests were not counted.
const fs = require('fs');
const path = require('path');

const dir = process.argv[2];
let passed = 0;
let failed = 0;
let brokenSuites = 0;
const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.json')) : [];
for (const f of files) {
  const r = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
  passed += r.numPassedTests;
  failed += r.numFailedTests;
  brokenSuites += r.numRuntimeErrorTestSuites;
}
if (brokenSuites > 0) console.log(`${brokenSuites} test suite(s) failed to run`);
console.log(`tests: ${passed} passed, ${failed} failed`);
process.exit(failed > 0 || brokenSuites > 0 || passed === 0 ? 1 : 0);
