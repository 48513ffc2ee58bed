#!/usr/bin/env node
// The newcomer's walk of deploy/README.md on a real kube-apiserver: the `sh` blocks of
// "From an empty cluster to agents connected", "Upgrades" and "TLS choices" (and the chart
// command of deploy/monitoring/README.md), as printed, one after the other in one bash, so a
// command that kubectl or helm would refuse, or a step that needs an earlier one it does not
// have, fails here.
//
//   KUBECONFIG=... node scripts/deploy/readme-walk.js HELM KUBECTL WORK_DIR
//   KUBECONFIG=... node scripts/deploy/readme-walk.js secrets KUBECTL NAMESPACE...
//     after the walk: every Secret and key the workloads there need (not optional) exists.
//     The API server accepts a reference to a missing Secret; the kubelet would not start
//     the pod (CreateContainerConfigError), so without this a README that names the wrong
//     Secret passes.
//
// What cannot run against an API server without kubelet and controllers is skipped and said
// so: `kubectl rollout status` (no controller updates a Deployment's status),
// `kubectl port-forward` and `curl` to the apps (no pod runs), `docker` (no registry). Helm
// installs and upgrades get --no-hooks: the migrations Job would never finish without a job
// controller (the hook itself is checked by kube-dry-run.sh's `helm install --dry-run=server`).
// Files a command reads that a reader has (kafka-ca.pem) are made up in WORK_DIR, where the
// walk runs with `deploy` linked to the repo's.
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');

const REPO = path.join(__dirname, '..', '..');
const WALK = [
  ['deploy/README.md', ['From an empty cluster to agents connected', 'Upgrades', 'TLS choices']],
  ['deploy/monitoring/README.md', null],
];
// [pattern, why it is skipped here]
const SKIPPED = [
  [/^kubectl .*\brollout status\b/, 'no controller-manager: nothing updates a Deployment status'],
  [/^kubectl .*\bport-forward\b/, 'no kubelet: no pod runs to forward to'],
  [/^curl\b/, 'no pod runs: the API is not there'],
  [/^docker\b/, 'no registry here'],
];
const RUN = [/^kubectl\b/, /^helm\b/, /^[A-Z_]+=/];

/** The sh blocks of the named `## ` sections (all of the file's when sections is null). */
function shBlocks(file, sections) {
  const text = fs.readFileSync(path.join(REPO, file), 'utf8');
  const parts = sections === null ? [text] : sections.map((name) => {
    const start = text.indexOf(`\n## ${name}\n`);
    if (start < 0) throw new Error(`${file}: no section "## ${name}"`);
    const end = text.slice(start + 1).search(/\n#{1,2} /);
    return end < 0 ? text.slice(start) : text.slice(start, start + 1 + end);
  });
  return parts.flatMap((part) => [...part.matchAll(/^( *)```sh\n([\s\S]*?)^ *```/gm)].map((m) => m[2].replace(new RegExp(`^ {0,${m[1].length}}`, 'gm'), '')));
}

/** Logical command lines: continuations joined, blank lines and whole-line comments dropped. */
function commands(block) {
  return block
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
}

function plan() {
  const steps = [];
  for (const [file, sections] of WALK) {
    for (const block of shBlocks(file, sections)) {
      for (const command of commands(block)) {
        const skip = SKIPPED.find(([re]) => re.test(command));
        if (skip) steps.push({ file, command, skip: skip[1] });
        else if (RUN.some((re) => re.test(command))) steps.push({ file, command });
        else throw new Error(`${file}: "${command}": not a command this walk knows how to run or why to skip`);
      }
    }
  }
  return steps;
}

function script(steps) {
  const quote = (s) => `'${s.replace(/'/g, `'\\''`)}'`;
  const lines = ['set -euo pipefail'];
  for (const s of steps) {
    if (s.skip) {
      lines.push(`echo ${quote(`== skipped (${s.skip}): ${s.command}`)}`);
      continue;
    }
    lines.push(`echo ${quote(`== run (${s.file}): ${s.command}`)}`);
    // the hooks' Job would wait for a job controller that is not there
    lines.push(s.command.replace(/^helm (install|upgrade)\b/, 'helm $1 --no-hooks'));
  }
  return lines.join('\n') + '\n';
}

/** Secret keys a pod spec needs: [secret, key or null for the whole Secret]. */
function secretNeeds(pod) {
  const needs = [];
  for (const c of [...(pod.initContainers ?? []), ...(pod.containers ?? [])]) {
    for (const e of c.env ?? []) {
      const ref = e.valueFrom?.secretKeyRef;
      if (ref && !ref.optional) needs.push([ref.name, ref.key]);
    }
  }
  for (const v of pod.volumes ?? []) {
    if (v.secret && !v.secret.optional) {
      if (v.secret.items?.length) for (const i of v.secret.items) needs.push([v.secret.secretName, i.key]);
      else needs.push([v.secret.secretName, null]);
    }
  }
  return needs;
}

function secretsProblems(kubectl, namespaces) {
  const get = (ns, what) => {
    const r = spawnSync(kubectl, ['-n', ns, 'get', what, '-o', 'json'], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`kubectl get ${what} -n ${ns}: ${r.stderr}`);
    return JSON.parse(r.stdout).items;
  };
  const problems = [];
  let checked = 0;
  for (const ns of namespaces) {
    const secrets = new Map(get(ns, 'secrets').map((s) => [s.metadata.name, s.data ?? {}]));
    for (const w of get(ns, 'deployments,daemonsets,statefulsets')) {
      for (const [name, key] of secretNeeds(w.spec.template.spec)) {
        checked++;
        const where = `${ns}/${w.kind}/${w.metadata.name}`;
        if (!secrets.has(name)) problems.push(`${where} needs Secret ${name}, which does not exist`);
        else if (key !== null && !(key in secrets.get(name))) problems.push(`${where} needs key ${key} of Secret ${name}, which it does not have`);
      }
    }
  }
  return { problems, checked };
}

function main([helm, kubectl, work, ...rest]) {
  if (helm === 'secrets') {
    const { problems, checked } = secretsProblems(kubectl, [work, ...rest]);
    for (const p of problems) console.error(`readme-walk: ${p}`);
    if (problems.length === 0) console.log(`== readme walk: ${checked} Secret references of the workloads, each there`);
    return problems.length === 0 ? 0 : 1;
  }
  if (!helm || !kubectl || !work) {
    console.error('usage: readme-walk.js HELM KUBECTL WORK_DIR (KUBECONFIG set)');
    return 64;
  }
  fs.rmSync(work, { recursive: true, force: true });
  fs.mkdirSync(path.join(work, 'bin'), { recursive: true });
  fs.symlinkSync(path.join(REPO, 'deploy'), path.join(work, 'deploy'));
  fs.symlinkSync(path.resolve(helm), path.join(work, 'bin', 'helm'));
  fs.symlinkSync(path.resolve(kubectl), path.join(work, 'bin', 'kubectl'));
  // the reader's own file, for "TLS choices"
  fs.writeFileSync(path.join(work, 'kafka-ca.pem'), '-----BEGIN CERTIFICATE-----\nMA==\n-----END CERTIFICATE-----\n');
  const steps = plan();
  fs.writeFileSync(path.join(work, 'walk.sh'), script(steps));
  const r = spawnSync('bash', [path.join(work, 'walk.sh')], {
    cwd: work,
    stdio: 'inherit',
    env: { ...process.env, PATH: `${path.join(work, 'bin')}:${process.env.PATH}` },
  });
  const ran = steps.filter((s) => !s.skip).length;
  console.log(`== readme walk: ${ran} commands run, ${steps.length - ran} skipped${r.status === 0 ? '' : `, failed (exit ${r.status})`}`);
  return r.status === 0 ? 0 : 1;
}

if (require.main === module) process.exit(main(process.argv.slice(2)));

module.exports = { plan, script };
