// extension.js loads its dependencies and starts `perfdsl lsp` (or the configured command)
// for perf buffers. VS Code's API is a stand-in here: the real one exists only inside VS Code.
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const Module = require('node:module');

function fakeVscode(command) {
  const anything = () => new Proxy(function () {}, {
    get: (_t, key) => (key === 'then' ? undefined : anything()),
    apply: () => anything(),
    construct: () => anything(),
  });
  const vscode = anything();
  return new Proxy(vscode, {
    get(target, key) {
      if (key === 'workspace') {
        return { getConfiguration: (section) => ({ get: (name) => (section === 'perfdsl' && name === 'server.command' ? command : undefined) }) };
      }
      return target[key];
    },
  });
}

function loadExtension(command) {
  const original = Module._load;
  const started = [];
  Module._load = function (request, parent, isMain) {
    if (request === 'vscode') return fakeVscode(command);
    if (request === 'vscode-languageclient/node') {
      const real = original.call(this, request, parent, isMain); // the package resolves and loads
      class LanguageClient {
        constructor(id, name, server, client) { Object.assign(this, { id, name, server, client }); }
        start() { started.push(this); return Promise.resolve(); }
        stop() { return Promise.resolve(); }
        dispose() {}
      }
      return { ...real, LanguageClient, TransportKind: real.TransportKind };
    }
    return original.call(this, request, parent, isMain);
  };
  try {
    delete require.cache[require.resolve('../extension.js')];
    return { ext: require('../extension.js'), started };
  } finally {
    Module._load = original;
  }
}

test('starts perfdsl lsp over stdio for perf buffers', async () => {
  const { ext, started } = loadExtension(undefined);
  const context = { subscriptions: [] };
  await ext.activate(context);
  assert.strictEqual(started.length, 1);
  const c = started[0];
  assert.deepStrictEqual([c.server.command, c.server.args], ['perfdsl', ['lsp']]);
  assert.deepStrictEqual(c.client.documentSelector.map((s) => s.language), ['perf', 'perf']);
  assert.strictEqual(context.subscriptions[0], c);
});

test('uses the configured server command', () => {
  const { ext } = loadExtension(['/venv/bin/perfdsl', 'lsp']);
  assert.deepStrictEqual(ext.serverOptions(), { command: '/venv/bin/perfdsl', args: ['lsp'], transport: 0 });
});
