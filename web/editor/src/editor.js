// The definition editor on the owner page. It replaces the page's textarea (which is
// what the page shows, and posts, without JavaScript) with CodeMirror 6:
// - YAML highlighting, folding, search, undo;
// - completion and hover help from the definitions' JSON Schema (/static/schema.json):
//   keys, step types, assignee forms and every described value;
// - completion of the CEL names in scope (form fields, submitter, votes, vars) in the
//   values that are CEL expressions, from what the server read of the text;
// - the server's checker as the linter: as one types, the text is posted to
//   /processes/{id}/lint and its messages are shown at their lines.
// The textarea keeps the text, so "check" and "publish" post what is in the editor.

import { EditorView, basicSetup } from "codemirror";
import { yaml, yamlLanguage } from "@codemirror/lang-yaml";
import { linter, lintGutter, forceLinting } from "@codemirror/lint";
import { hoverTooltip } from "@codemirror/view";
import { yamlCompletion, yamlSchemaHover } from "codemirror-json-schema/yaml";
import { stateExtensions, updateSchema } from "codemirror-json-schema";

// Keys whose values are CEL expressions; values under `set:` are too.
const CEL_KEYS = ["when", "check", "expr", "until", "from", "due"];
// CEL's functions and macros, and Signoff's own, offered beside the names.
const CEL_FUNCTIONS = [
  "size", "has", "all", "exists", "exists_one", "map", "filter", "int", "double", "string",
  "matches", "startsWith", "endsWith", "contains", "sum", "avg", "days_between", "end_of_month",
];

// The names the server last read from the text: `{roots, members: {root: [name]}}`.
let scope = { roots: ["form", "submitter", "votes", "vars", "today"], members: {} };

function lineKey(text) {
  const m = /^\s*(?:-\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*:/.exec(text);
  return m ? m[1] : null;
}

// Whether the cursor's line holds a CEL value: a CEL key, or a key under `set:`.
function inCelValue(state, pos) {
  const line = state.doc.lineAt(pos);
  const colon = line.text.indexOf(":");
  if (colon < 0 || pos - line.from <= colon) return false;
  const key = lineKey(line.text);
  if (CEL_KEYS.includes(key)) return true;
  const indent = line.text.search(/\S/);
  for (let n = line.number - 1; n >= 1; n--) {
    const above = state.doc.line(n).text;
    const at = above.search(/\S/);
    if (at < 0 || at >= indent) continue;
    return lineKey(above) === "set";
  }
  return false;
}

function celCompletion(context) {
  if (!inCelValue(context.state, context.pos)) return null;
  const member = context.matchBefore(/\b([a-z_]+)\.([A-Za-z0-9_]*)$/);
  if (member) {
    const root = /^([a-z_]+)\./.exec(member.text)[1];
    const names = scope.members[root];
    if (!names) return null;
    return {
      from: member.from + root.length + 1,
      options: names.map((name) => ({ label: name, type: "property", detail: root })),
      validFor: /^[A-Za-z0-9_]*$/,
    };
  }
  const word = context.matchBefore(/[A-Za-z_][A-Za-z0-9_]*$/);
  if (!word && !context.explicit) return null;
  return {
    from: word ? word.from : context.pos,
    options: scope.roots
      .map((name) => ({ label: name, type: "variable", detail: "CEL" }))
      .concat(CEL_FUNCTIONS.map((name) => ({ label: name, type: "function", apply: name + "(" }))),
    validFor: /^[A-Za-z0-9_]*$/,
  };
}

// The position of a 1-based line and column (in characters) in the document.
function position(doc, line, column) {
  const at = doc.line(Math.min(Math.max(line, 1), doc.lines));
  return at.from + Math.min(Math.max(column - 1, 0), at.length);
}

function serverLinter(url, csrf, status) {
  return async (view) => {
    const text = view.state.doc.toString();
    let answer;
    try {
      const response = await fetch(url, {
        method: "POST",
        credentials: "same-origin",
        headers: { "content-type": "application/json", "x-csrf-token": csrf },
        body: JSON.stringify({ yaml: text }),
      });
      if (!response.ok) {
        status.textContent = status.dataset.unavailable + " (" + response.status + ")";
        // Busy (two checks run at once at most): ask again shortly.
        if (response.status === 503) setTimeout(() => forceLinting(view), 1500);
        return [];
      }
      answer = await response.json();
    } catch (e) {
      status.textContent = status.dataset.unavailable;
      return [];
    }
    if (view.state.doc.toString() !== text) return [];
    if (answer.scope) scope = answer.scope;
    const errors = answer.diagnostics.filter((d) => d.severity === "error").length;
    status.textContent = answer.diagnostics.length === 0
      ? status.dataset.ok
      : status.dataset.problems.replace("{errors}", errors)
        .replace("{warnings}", answer.diagnostics.length - errors);
    status.className = errors ? "error" : "muted";
    return answer.diagnostics.map((d) => {
      const from = position(view.state.doc, d.line, d.column);
      const line = view.state.doc.lineAt(from);
      const word = /^[^\s:,\]}]+/.exec(line.text.slice(from - line.from));
      return {
        from,
        to: word ? from + word[0].length : Math.min(from + 1, line.to),
        severity: d.severity === "error" ? "error" : "warning",
        source: d.code,
        message: d.hint ? d.message + " (" + d.hint + ")" : d.message,
      };
    });
  };
}

function mount(textarea) {
  const form = textarea.form;
  const csrf = form.querySelector("input[name=csrf]").value;
  const status = document.getElementById(textarea.dataset.status);
  const host = document.createElement("div");
  host.className = "editor";
  host.id = "editor";
  textarea.after(host);
  textarea.hidden = true;
  const view = new EditorView({
    doc: textarea.value,
    parent: host,
    extensions: [
      basicSetup,
      yaml(),
      EditorView.lineWrapping,
      lintGutter(),
      linter(serverLinter(textarea.dataset.lint, csrf, status), { delay: 500 }),
      yamlLanguage.data.of({ autocomplete: celCompletion }),
      yamlLanguage.data.of({ autocomplete: yamlCompletion() }),
      hoverTooltip(yamlSchemaHover()),
      stateExtensions(),
      EditorView.updateListener.of((update) => {
        if (update.docChanged) textarea.value = update.state.doc.toString();
      }),
    ],
  });
  fetch(textarea.dataset.schema, { credentials: "same-origin" })
    .then((r) => r.json())
    .then((schema) => updateSchema(view, schema))
    .catch(() => {});
  form.addEventListener("submit", () => {
    textarea.value = view.state.doc.toString();
  });
  window.signoffEditor = view;
  forceLinting(view);
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("textarea[data-editor]").forEach(mount);
});
