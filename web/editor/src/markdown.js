// Stands in for codemirror-json-schema's own `utils/markdown` (see build.mjs): the same
// markdown-it rendering of the schema's descriptions, without its code highlighter
// (shiki, a third of the bundle, used only for code blocks the schema does not have).
// markdown-it escapes HTML in the text (`html: false`).
import md from "markdown-it";

const renderer = md({ html: false, linkify: false, typographer: true });

export function renderMarkdown(markdown, inline = true) {
  return inline ? renderer.renderInline(markdown) : renderer.render(markdown);
}
