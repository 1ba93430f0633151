// The caption form's live counters: as staff type, each limit the page lists (data-unit,
// data-limit on the counters named by the field's data-counters) is counted the way the server
// counts it (ifn_campaign/captions/rules.py): characters as code points, a YouTube description
// in bytes of UTF-8, hashtags and @-mentions as Instagram links them (not inside a link or an
// e-mail address). The server checks again on save; without JavaScript the counts shown are
// those of the page as it was sent.
"use strict";

(function () {
  const LETTER_OR_NUMBER = /[\p{L}\p{N}]/u;
  const MARK = /[\p{Mn}\p{Mc}]/u;
  const DIGITS = /^\p{Nd}+$/u;
  const SPACE = /\s/u;

  function isMark(ch) {
    const cp = ch.codePointAt(0);
    if ((cp >= 0xfe00 && cp <= 0xfe0f) || (cp >= 0xe0100 && cp <= 0xe01ef)) return false;
    return MARK.test(ch);
  }

  function isWord(ch) {
    return ch === "_" || LETTER_OR_NUMBER.test(ch) || isMark(ch);
  }

  // every URL and e-mail address blanked out, so a # or @ inside one is no tag or mention
  function maskLinks(chars) {
    const out = chars.slice();
    let start = -1;
    for (let i = 0; i <= chars.length; i++) {
      const ch = i < chars.length ? chars[i] : " ";
      if (!SPACE.test(ch)) {
        if (start < 0) start = i;
        continue;
      }
      if (start >= 0) {
        const token = chars.slice(start, i).join("").toLowerCase();
        const at = token.indexOf("@");
        const isUrl = token.includes("://") || token.startsWith("www.");
        const isEmail = at > 0 && token.slice(at + 1).replace(/^\.+|\.+$/g, "").includes(".");
        if (isUrl || isEmail) for (let k = start; k < i; k++) out[k] = " ";
        start = -1;
      }
    }
    return out;
  }

  function tokens(text, sigil, extra) {
    const chars = maskLinks(Array.from(text));
    const found = [];
    let i = 0;
    while (i < chars.length) {
      if (chars[i] !== sigil || (i > 0 && isWord(chars[i - 1]))) {
        i++;
        continue;
      }
      let j = i + 1;
      while (j < chars.length && (isWord(chars[j]) || extra.includes(chars[j]))) j++;
      let body = chars.slice(i + 1, j);
      while (body.length && extra.includes(body[body.length - 1])) body.pop();
      if (body.length && !isMark(body[0])) found.push(body.join(""));
      i = Math.max(j, i + 1);
    }
    return found;
  }

  const COUNT = {
    chars: (text) => Array.from(text).length,
    bytes: (text) => new TextEncoder().encode(text).length,
    hashtags: (text) => tokens(text, "#", "").filter((t) => !DIGITS.test(t.replace(/_/g, ""))).length,
    mentions: (text) => tokens(text, "@", ".").length,
  };

  function update(field, format) {
    const list = document.getElementById(field.dataset.counters);
    if (!list) return;
    for (const counter of list.querySelectorAll("[data-unit]")) {
      const count = COUNT[counter.dataset.unit];
      if (!count) continue;
      const n = count(field.value);
      const over = n > Number(counter.dataset.limit);
      counter.querySelector(".n").textContent = format.format(n);
      counter.classList.toggle("over", over);
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    const format = new Intl.NumberFormat(document.documentElement.lang || undefined);
    for (const field of document.querySelectorAll("[data-counters]")) {
      field.addEventListener("input", () => update(field, format));
      update(field, format);
    }
  });
})();
