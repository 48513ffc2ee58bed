// A jest reporter that writes the aggregated results of one run to a file,
// so scripts/test-all.sh can print one total for every project (and name
// every skipped or todo test, which the total refuses).
const fs = require('fs');
const path = require('path');

class ResultFileReporter {
  constructor(globalConfig) {
    this.globalConfig = globalConfig;
  }

  onRunComplete(_contexts, results) {
    const dir = process.env.OPAMP_JEST_RESULTS_DIR;
    if (!dir) return;
    const name = path.basename(this.globalConfig.rootDir) + '-' + process.pid + '-' + Date.now() + '.json';
    const { numPassedTests, numFailedTests, numRuntimeErrorTestSuites, numTotalTests, numPendingTests, numTodoTests } = results;
    const notRun = [];
    for (const suite of results.testResults ?? []) {
      for (const t of suite.testResults ?? []) {
        if (t.status === 'pending' || t.status === 'skipped' || t.status === 'todo' || t.status === 'disabled') {
          notRun.push(`${path.relative(this.globalConfig.rootDir, suite.testFilePath)}: ${t.fullName} (${t.status})`);
        }
      }
    }
    fs.writeFileSync(
      path.join(dir, name),
      JSON.stringify({ numPassedTests, numFailedTests, numRuntimeErrorTestSuites, numTotalTests, numPendingTests, numTodoTests, notRun }),
    );
  }
}
module.exports = ResultFileReporter;
