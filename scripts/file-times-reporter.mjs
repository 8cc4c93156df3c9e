// A second reporter for node's test runner (scripts/run-tests.js gives it a file as destination): one line
// `<ms>\t<file>` per test file, the wall time of the file's own process. Node 20 ends each file with a
// `test:complete` event at nesting 0 whose name is the file's path and whose duration is that process's
// run, from its start to its exit (module loading, every test and every `after` hook included).
export default async function* fileTimes(source) {
  for await (const event of source) {
    const d = event.data;
    if (event.type === 'test:complete' && d.nesting === 0 && d.file && d.name === d.file) {
      yield `${Math.round(d.details?.duration_ms ?? 0)}\t${d.details?.passed === false ? 'fail' : 'ok'}\t${d.file}\n`;
    }
  }
}
