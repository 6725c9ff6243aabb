// Markdown for assistant answers: marked renders, DOMPurify sanitizes (the answer is untrusted
// text), and code blocks are highlighted with Monaco's own colorizer once an answer is complete.
import { useEffect, useRef } from 'react';
import { Marked } from 'marked';
import DOMPurify from 'dompurify';
import { languageInfo, monaco } from './monaco';

const marked = new Marked({ gfm: true, breaks: false, async: false });

const escapeHtml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

// Raw HTML in an answer is shown as text, not interpreted: answers about HTML read naturally, and
// nothing with event-handler attributes ever reaches a parser. DOMPurify below is a second layer.
marked.use({
  renderer: {
    html(token) {
      return escapeHtml(token.text);
    },
  },
});

// Links open in a new tab and never send the session URL (which may carry a token) as Referer.
DOMPurify.addHook('afterSanitizeAttributes', (node) => {
  if (node.tagName === 'A') {
    node.setAttribute('target', '_blank');
    node.setAttribute('rel', 'noopener noreferrer');
  }
});

export function renderMarkdown(text: string): string {
  const html = marked.parse(text) as string;
  return DOMPurify.sanitize(html, {
    USE_PROFILES: { html: true },
    // No images (no tracking pixels), no forms, no styles from the model.
    FORBID_TAGS: ['img', 'style', 'form', 'input', 'button', 'textarea', 'select', 'iframe', 'svg', 'math'],
    FORBID_ATTR: ['style'],
  });
}

/** Renders Markdown; with `highlight`, fenced code blocks are colorized by Monaco. */
export function Markdown({ text, highlight }: { text: string; highlight: boolean }) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    el.innerHTML = renderMarkdown(text);
    if (!highlight) return;
    let cancelled = false;
    for (const code of el.querySelectorAll<HTMLElement>('pre > code')) {
      const lang = [...code.classList].find((c) => c.startsWith('language-'))?.slice('language-'.length) ?? '';
      const monacoId = languageInfo(lang).monacoId;
      if (monacoId === 'plaintext') continue;
      code.closest('pre')?.setAttribute('data-lang', monacoId);
      // colorize() escapes the code itself and returns spans with Monaco's token classes.
      monaco.editor
        .colorize((code.textContent ?? '').replace(/\n$/, ''), monacoId, { tabSize: 4 })
        .then((html) => {
          if (!cancelled) {
            code.innerHTML = html;
            code.classList.add('colorized');
          }
        })
        .catch(() => {});
    }
    return () => {
      cancelled = true;
    };
  }, [text, highlight]);
  return <div className="chat-md" ref={ref} />;
}
