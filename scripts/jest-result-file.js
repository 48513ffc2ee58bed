// A jest reporter that writes the aggregated results of one run to a file,
// so scripts/test-all.sh can print one total for every project.
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
    const { numPassedTests, numFailedTests, numRuntimeErrorTestSuites, numTotalTests } = results;
    fs.writeFileSync(path.join(dir, name), JSON.stringify({ numPassedTests, numFailedTests, numRuntimeErrorTestSuites, numTotalTests }));
  }
}
module.exports = ResultFileReporter;
