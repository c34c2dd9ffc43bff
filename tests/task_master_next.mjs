// Batch driver for the `next` differential test: loads task-master-ai's tm-core once and asks
// `tasks.getNext(tag)` (exactly what `task-master next --format json --tag <tag>` calls, see next.command) for
// every tag given. Starting the CLI costs ~3 s of CPU per call (it loads every AI SDK); this costs ~0.3 s in all.
// tests/test_taskmaster_cli_next_diff.py checks this driver against the real CLI on a sample of the graphs.
// Usage: node task_master_next.mjs <task-master-ai dist dir> <project dir> <tag>...
const [dist, project, ...tags] = process.argv.slice(2);
// 0.43.1's bundle: createTmCore is exported from this chunk as `ln` (the version is checked by the test).
const { ln: createTmCore } = await import(`${dist}/config-manager-DTKWXIqv.js`);
const core = await createTmCore({ projectPath: project });
const answers = {};
for (const tag of tags) {
  const task = await core.tasks.getNext(tag);
  answers[tag] = task ? String(task.id) : null;
}
process.stdout.write(JSON.stringify(answers) + "\n");
process.exit(0);
