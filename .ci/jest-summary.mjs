// Prints the CI summary from jest's --json results of this tree and of the fresh copy, ending
// with the one line "N passed, N failed".
//
//   node .ci/jest-summary.mjs <results.json> <root> [<copy results.json> <copy root> [<why the copy did not run>]]
//
// A test is named by its file (relative to its run's root), its full name (with the root
// itself replaced) and which occurrence of that name it is, so the two runs line up. It counts
// as passed when it passed in this tree and also ran, without failing, in the copy; as failed
// when it failed in either. A suite that failed to run (no test results) counts as one
// failure, once however many runs it failed in; a copy that could not run at all counts as one
// failure (this tree's counts stand alone).
import { readFileSync } from 'node:fs';
import * as path from 'node:path';

const [mainFile, mainRoot, copyFile = '', copyRoot = '', copyBroken = ''] = process.argv.slice(2);

function outcomes(file, root) {
  const r = JSON.parse(readFileSync(file, 'utf8'));
  const tests = new Map();
  const brokenSuites = new Set();
  for (const suite of r.testResults) {
    const rel = path.relative(root, suite.name);
    if (suite.status === 'failed' && suite.assertionResults.length === 0) brokenSuites.add(rel);
    const seen = new Map();
    for (const t of suite.assertionResults) {
      // Some test names show a path inside the run's root (a fixture given as an argument).
      const name = t.fullName.split(root).join('<root>');
      const n = (seen.get(name) ?? 0) + 1;
      seen.set(name, n);
      tests.set(`${rel} :: ${name} #${n}`, t.status);
    }
  }
  return { r, tests, brokenSuites };
}

const line = (r) => `${r.numPassedTests} passed, ${r.numFailedTests + (r.numRuntimeErrorTestSuites || 0)} failed`;

const main = outcomes(mainFile, mainRoot);
const copy = copyFile === '' ? null : outcomes(copyFile, copyRoot);

console.log(`suites: ${main.r.numPassedTestSuites} passed, ${main.r.numFailedTestSuites} failed`);
console.log(`this tree: ${line(main.r)}`);
console.log(copy ? `fresh copy: ${line(copy.r)}` : `fresh copy: did not run (${copyBroken || 'no results'})`);

let passed = 0;
let failed = 0;
for (const [name, status] of main.tests) {
  const other = copy?.tests.get(name);
  if (status === 'failed' || other === 'failed') failed++;
  else if (status === 'passed' && (copy === null || other !== undefined)) passed++;
  if (status !== 'failed' && other === 'failed') console.log(`failed only in the fresh copy: ${name}`);
}
if (copy) {
  for (const [name, status] of copy.tests) {
    if (main.tests.has(name) || status !== 'failed') continue;
    failed++;
    console.log(`failed only in the fresh copy: ${name}`);
  }
}
const broken = new Set([...main.brokenSuites, ...(copy ? copy.brokenSuites : [])]);
for (const suite of broken) if (!main.brokenSuites.has(suite)) console.log(`suite failed to run only in the fresh copy: ${suite}`);
failed += broken.size;
if (!copy) failed++;
console.log(`${passed} passed, ${failed} failed`);
