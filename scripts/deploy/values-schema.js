#!/usr/bin/env node
// values.schema.json of the chart, made from values.yaml: the names of values, nothing more.
// Helm checks every install, upgrade, template and lint against it, so a misspelt value
// (`--set gateway.replica=3`, a typo in a values file) stops with its name instead of being
// ignored. Types are left open: Helm's --set turns 8443 into a number and "20000" stays a
// string, and the templates (opamp.validate) refuse the values that cannot work, with why.
//
//   node scripts/deploy/values-schema.js          write deploy/helm/opamp-fleet/values.schema.json
//   node scripts/deploy/values-schema.js --check  exit 1 when the file is not what values.yaml gives
//   (--chart DIR: another copy of the chart)
//
// Maps that are Kubernetes objects or free keys take any key: every empty map of values.yaml
// (env, annotations, nodeSelector, ...) and the keys in FREE (non-empty by default, yet open).
const fs = require('fs');
const path = require('path');
const YAML = require('yaml');

const CHART = path.join(__dirname, '..', '..', 'deploy', 'helm', 'opamp-fleet');
const FREE = new Set(['resources', 'podSecurityContext', 'containerSecurityContext', 'labels', 'annotations', 'affinity']);

function schemaOf(value, key) {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return {};
  if (FREE.has(key) || Object.keys(value).length === 0) return { type: 'object' };
  return {
    type: 'object',
    additionalProperties: false,
    properties: Object.fromEntries(Object.entries(value).map(([k, v]) => [k, schemaOf(v, k)])),
  };
}

function valuesSchema(chartDir = CHART) {
  const values = YAML.parse(fs.readFileSync(path.join(chartDir, 'values.yaml'), 'utf8')) ?? {};
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: 'opamp-fleet values (names only; generated from values.yaml by scripts/deploy/values-schema.js)',
    ...schemaOf(values),
    // Helm puts `global` into every chart's values
    properties: { global: {}, ...schemaOf(values).properties },
  };
}

function render(chartDir = CHART) {
  return `${JSON.stringify(valuesSchema(chartDir), null, 2)}\n`;
}

function main(argv) {
  const at = argv.indexOf('--chart');
  const chart = at >= 0 ? path.resolve(argv[at + 1]) : CHART;
  const file = path.join(chart, 'values.schema.json');
  if (argv.includes('--check')) {
    const current = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
    if (current === render(chart)) {
      console.log(`values-schema: ${path.relative(process.cwd(), file)} names every value of values.yaml`);
      return 0;
    }
    console.error(`values-schema: ${path.relative(process.cwd(), file)} is not what values.yaml gives: run node scripts/deploy/values-schema.js`);
    return 1;
  }
  fs.writeFileSync(file, render(chart));
  console.log(`values-schema: wrote ${path.relative(process.cwd(), file)}`);
  return 0;
}

if (require.main === module) process.exit(main(process.argv.slice(2)));

module.exports = { valuesSchema, render };
