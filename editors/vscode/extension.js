// The VS Code side of perfdsl: starts `perfdsl lsp` (the language server of the perfdsl
// Python package) for .perf files. Highlighting needs no server: syntaxes/ does it.
'use strict';
const vscode = require('vscode');
const { LanguageClient, TransportKind } = require('vscode-languageclient/node');

let client;

/** The server command from the settings: ["perfdsl", "lsp"] unless a venv's is named. */
function serverOptions() {
  const command = vscode.workspace.getConfiguration('perfdsl').get('server.command') || ['perfdsl', 'lsp'];
  return { command: command[0], args: command.slice(1), transport: TransportKind.stdio };
}

async function activate(context) {
  const server = serverOptions();
  client = new LanguageClient('perfdsl', 'perfdsl', server, {
    documentSelector: [
      { scheme: 'file', language: 'perf' },
      { scheme: 'untitled', language: 'perf' },
    ],
  });
  context.subscriptions.push(client);
  try {
    await client.start();
  } catch (err) {
    vscode.window.showErrorMessage(
      `perfdsl: could not start \`${[server.command, ...server.args].join(' ')}\` (${err.message}). ` +
      'Install perfdsl (pip install -e .) or set perfdsl.server.command.');
  }
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate, serverOptions };
