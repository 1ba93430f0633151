"""What the browser tests check on any page: every text's contrast against what is drawn under
it (CONTRAST_JS, run in the page; the server-drawn SVG charts' text by `svg_text_contrast`),
images that did not load, sideways scrolling. Shared by the report's page tests
(tests/reports/test_pages_browser.py), the console's (tests/console/test_browser.py) and the
showcase's (tests/showcase/test_browser.py)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from tests.support.colour import contrast

if TYPE_CHECKING:
    from playwright.sync_api import Page

MIN_CONTRAST = 4.5  # WCAG AA for normal text; applied to every text, large or not

# Runs in the page. Every piece of text gets one row with its worst ratio: each element's own
# text nodes (every line, at its middle and both ends), generated content (::before, ::after),
# list and <summary> markers, a placeholder, a form control's value, a broken image's alt text,
# and ::first-letter/::first-line when they have a colour of their own. The colour behind text is
# what the browser hit-tests at that point (document.elementsFromPoint, with pointer-events
# forced on), so a positioned sibling's background counts, not only the ancestors': painted
# bottom first over white, each layer's background colour alpha-composited and, for a gradient,
# each stop tried; an ancestor's opacity mixes the text with it, any other layer is faded by its
# own; a layer painted over the text (a scrim) covers text and background alike. Text over or
# under an image (<img>, <video>, <svg>, a url() background), or under a filter or blend mode,
# cannot be judged: its ratio is 0, unless a solid background lies between the two (a pill over
# a photo: judged on the pill). Text is taken in the colour chromium paints it
# (-webkit-text-fill-color; fill in SVG). Any CSS colour syntax is read through a canvas (an
# oklch() panel is not transparent). Text the browser cannot point at (pseudo-elements,
# placeholders) is judged over its ancestors.
CONTRAST_JS = r"""
() => {
  // --- colours: any CSS colour the page computes (rgb(), oklch(), color(srgb ...), lab() ...)
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = 1;
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  const parse = (s) => {
    if (!s) return null;
    const m = /^rgba?\(([^()%]*)\)$/.exec(s.trim());
    if (m) {
      const p = m[1].split(/[\s,\/]+/).filter(Boolean).map(Number);
      if (p.length >= 3 && p.every(Number.isFinite)) {
        return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
      }
    }
    ctx.fillStyle = "#010203";
    ctx.fillStyle = s;
    if (ctx.fillStyle === "#010203" && !/^#010203$/i.test(s.trim())) throw new Error("colour " + s);
    ctx.clearRect(0, 0, 1, 1);
    ctx.fillRect(0, 0, 1, 1);
    const d = ctx.getImageData(0, 0, 1, 1).data;
    return [d[0], d[1], d[2], d[3] / 255];
  };
  const COLOUR = /(?:rgba?|hsla?|hwb|lab|lch|oklab|oklch|color)\([^()]*\)/g;
  const IMAGE = /url\(|image-set\(|cross-fade\(|element\(|paint\(/;
  const REPLACED = new Set(["IMG", "VIDEO", "CANVAS", "IFRAME", "OBJECT", "EMBED", "svg"]);
  const over = (top, base) => [0, 1, 2].map((i) => top[i] * top[3] + base[i] * (1 - top[3]));
  const mix = (a, b, t) => [0, 1, 2].map((i) => a[i] * t + b[i] * (1 - t));
  const lin = (c) => {
    c /= 255;
    return c <= 0.04045 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
  };
  const lum = (c) => 0.2126 * lin(c[0]) + 0.7152 * lin(c[1]) + 0.0722 * lin(c[2]);
  const ratio = (a, b) => {
    const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p);
    return (x + 0.05) / (y + 0.05);
  };
  const hex = (c) => "#" + c.map((v) => Math.round(v).toString(16).padStart(2, "0")).join("");
  const name = (e) => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "");

  // What a layer paints at a point: its colour and, for a gradient, each stop (the worst one
  // counts); an image (a url() background, <img>, <video>, <svg> ...) cannot be judged.
  const fills = (style, e, pseudo) => {
    for (const [effect, none] of [["filter", "none"], ["mixBlendMode", "normal"],
      ["backdropFilter", "none"]]) {
      if (style[effect] && style[effect] !== none) {
        const what = effect + " " + style[effect] + " on " + name(e) + pseudo;
        throw new Error("cannot judge: " + what);
      }
    }
    const image = style.backgroundImage;
    if (image && image !== "none" && IMAGE.test(image)) {
      throw new Error("image:" + name(e) + pseudo);
    }
    if (!pseudo && REPLACED.has(e.tagName) && !(e.tagName === "IMG" && !e.naturalWidth)) {
      throw new Error("image:" + name(e));
    }
    const colour = parse(style.backgroundColor) || [0, 0, 0, 0];
    const stops = image && image !== "none" ? (image.match(COLOUR) || []).map(parse) : [];
    return [colour, stops];
  };
  // Composite `layers` (bottom first: [element, style, pseudo, shared]) over white, every
  // gradient stop tried. A layer that contains the text (`shared`: an ancestor or the element
  // itself) opens an opacity group holding the text too; any other layer is faded by its own
  // opacity and that of its ancestors the text does not share.
  const composite = (all, text) => {
    const layers = all.filter((l) => !l[5]);
    const found = [];
    const walk = (i, backdrop, groups) => {
      if (i === layers.length) {
        let fg = over(text, backdrop), bg = backdrop;
        for (let g = groups.length - 1; g >= 0; g--) {
          fg = mix(fg, groups[g][1], groups[g][0]);
          bg = mix(bg, groups[g][1], groups[g][0]);
        }
        found.push([fg, bg]);
        return;
      }
      const [e, style, pseudo, shared, fade] = layers[i];
      const opacity = parseFloat(style.opacity);
      const inner = shared && opacity < 1 ? [...groups, [opacity, backdrop]] : groups;
      const alpha = shared ? 1 : fade;
      const [colour, stops] = fills(style, e, pseudo);
      const base = over([...colour.slice(0, 3), colour[3] * alpha], backdrop);
      const bases = stops.length
        ? stops.map((s) => over([...s.slice(0, 3), s[3] * alpha], base)) : [base];
      for (const b of bases) walk(i + 1, b, inner);
    };
    walk(0, [255, 255, 255], []);
    // what is painted over the text (a scrim, a positioned overlay) covers it and its
    // background alike, each stop of a gradient tried
    let pairs = found;
    for (const [e, style, pseudo, , fade] of all.filter((l) => l[5])) {
      const [colour, stops] = fills(style, e, pseudo);
      const paint = (c, x) => over([...c.slice(0, 3), c[3] * fade], x);
      pairs = pairs.flatMap(([fg, bg]) => {
        const base = [paint(colour, fg), paint(colour, bg)];
        return stops.length ? stops.map((s) => [paint(s, base[0]), paint(s, base[1])]) : [base];
      });
    }
    let worst = null;
    for (const [fg, bg] of pairs) {
      const r = ratio(fg, bg);
      if (worst === null || r < worst.ratio) worst = { ratio: r, fg: hex(fg), bg: hex(bg) };
    }
    return worst;
  };
  const ancestry = (e) => {
    const chain = [];
    for (let a = e; a; a = a.parentElement) chain.unshift(a);
    return chain;
  };
  const shared = (e, target) => e === target || e.contains(target);
  const fadeOf = (e, target) => {
    let f = 1;
    for (let a = e; a && !shared(a, target); a = a.parentElement) {
      f *= parseFloat(getComputedStyle(a).opacity);
    }
    return f;
  };
  // The layers at a point of `e`'s text, from what the browser hit-tests there (bottom first;
  // the last ones, marked, are painted over the text); null when the text is clipped there.
  const under = (e, x, y) => {
    const stack = document.elementsFromPoint(x, y);
    const at = stack.indexOf(e);
    if (at < 0) return null;
    const below = stack.slice(at).reverse().map((l) =>
      [l, getComputedStyle(l), "", shared(l, e), shared(l, e) ? 1 : fadeOf(l, e), false]);
    const above = stack.slice(0, at).reverse().map((l) =>
      [l, getComputedStyle(l), "", false, fadeOf(l, e), true]);
    // what lies under the highest solid layer below the text (a pill's solid background over
    // a photo) is hidden by it: only the text's ancestors stay (their opacity still counts)
    let top = -1;
    below.forEach((l, i) => { if (solid(l)) top = i; });
    return [...below.filter((l, i) => i >= top || l[3]), ...above];
  };
  const solid = ([l, style, , , fade]) => {
    const colour = parse(style.backgroundColor);
    return colour !== null && colour[3] === 1 && fade === 1 && parseFloat(style.opacity) === 1
      && (!style.backgroundImage || style.backgroundImage === "none") && !REPLACED.has(l.tagName)
      && style.filter === "none" && style.mixBlendMode === "normal";
  };
  // The layers of `e`'s ancestors (for text the browser cannot point at: pseudo-elements,
  // placeholders, points off screen).
  const chainOf = (e) => ancestry(e).map((a) => [a, getComputedStyle(a), "", true, 1]);
  const inView = (r) => r.width > 0 && r.height > 0 && r.left >= 0 && r.top >= 0
    && r.right <= innerWidth && r.bottom <= innerHeight;
  const points = (r) => {
    const y = (r.top + r.bottom) / 2;
    const inset = Math.min(2, r.width / 2);
    return [[(r.left + r.right) / 2, y], [r.left + inset, y], [r.right - inset, y]];
  };

  const rows = [];
  const row = (e, what, text, colour, layersList) => {
    const panel = e.closest("article");
    const base = {
      tag: e.tagName.toLowerCase(), what,
      classes: typeof e.className === "string" ? e.className : "",
      panel: panel ? panel.id : "", text: text.slice(0, 80),
    };
    let worst = null;
    try {
      const fg = parse(colour);
      for (const layers of layersList) {
        const w = composite(layers, fg);
        if (worst === null || w.ratio < worst.ratio) worst = w;
      }
    } catch (err) {
      const m = String(err.message);
      const bg = m.startsWith("image:") ? "an image (" + m.slice(6) + ")" : m;
      worst = { ratio: 0, fg: colour, bg };
    }
    rows.push(Object.assign(base, worst));
  };
  // hit testing must see every element, whatever its pointer-events: a constructed style
  // sheet, which a Content-Security-Policy without 'unsafe-inline' (the console's) allows
  const guard = new CSSStyleSheet();
  guard.replaceSync("*, *::before, *::after { pointer-events: auto !important;"
    + " scroll-behavior: auto !important; }");
  const adopted = document.adoptedStyleSheets;
  document.adoptedStyleSheets = [...adopted, guard];
  const scrolled = [];
  try {
    for (const e of [document.body, ...document.body.querySelectorAll("*")]) {
      const style = getComputedStyle(e);
      // chromium paints text in -webkit-text-fill-color (currentcolor unless set), SVG in fill
      const colour = e instanceof SVGElement
        ? style.fill : style.webkitTextFillColor || style.color;
      // its own text: each line of each text node, at its middle and both ends
      const nodes = [...e.childNodes]
        .filter((n) => n.nodeType === Node.TEXT_NODE && n.textContent.trim());
      const own = nodes.map((n) => n.textContent).join("").replace(/\s+/g, " ").trim();
      if (own && style.visibility === "visible") {
        const layersList = [];
        let shown = false;
        for (const n of nodes) {
          const range = document.createRange();
          range.selectNodeContents(n);
          const count = range.getClientRects().length;
          for (let i = 0; i < count; i++) {
            let r = range.getClientRects()[i];
            if (!r || r.width === 0 || r.height === 0) continue;
            shown = true;
            if (!inView(r)) {
              e.scrollIntoView({ block: "center", inline: "center" });
              scrolled.push(e);
              r = range.getClientRects()[i];
              if (!inView(r)) {
                window.scrollBy(r.left + r.width / 2 - innerWidth / 2,
                  r.top + r.height / 2 - innerHeight / 2);
              }
              r = range.getClientRects()[i];
            }
            for (const [x, y] of inView(r) ? points(r) : []) {
              const layers = under(e, x, y);
              if (layers) layersList.push(layers);
            }
          }
        }
        if (shown) row(e, "text", own, colour, layersList.length ? layersList : [chainOf(e)]);
      }
      if (style.visibility !== "visible" || style.display === "none") continue;
      // text that is not a text node: generated content, markers, placeholders, values, alt
      for (const pseudo of ["::before", "::after", "::marker"]) {
        const ps = getComputedStyle(e, pseudo);
        const content = ps.content;
        let text = "";
        if (pseudo === "::marker") {
          if (style.display !== "list-item") continue;
          if (style.listStyleImage !== "none") continue;
          text = content && content !== "normal" && content !== "none" ? content
            : style.listStyleType !== "none" ? style.listStyleType : "";
        } else if (content && content !== "none" && content !== "normal" && ps.display !== "none") {
          text = [...content.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]).join("")
            + (/attr\(|counters?\(/.test(content) ? content : "");
        }
        if (!text.trim()) continue;
        const layers = [...chainOf(e), [e, ps, pseudo, true, 1]];
        row(e, pseudo, text, ps.color, [layers]);
      }
      const firstLetter = getComputedStyle(e, "::first-letter").color;
      if (own && firstLetter !== style.color) {
        row(e, "::first-letter", own, firstLetter, [chainOf(e)]);
      }
      const firstLine = getComputedStyle(e, "::first-line").color;
      if (own && firstLine !== style.color) row(e, "::first-line", own, firstLine, [chainOf(e)]);
      if ((e.tagName === "INPUT" || e.tagName === "TEXTAREA") && e.type !== "hidden") {
        if (e.value) row(e, "value", e.value, style.color, [chainOf(e)]);
        else if (e.placeholder) {
          const faint = getComputedStyle(e, "::placeholder").color;
          row(e, "::placeholder", e.placeholder, faint, [chainOf(e)]);
        }
      }
      if (e.tagName === "SELECT" && e.selectedOptions.length) {
        row(e, "value", e.selectedOptions[0].textContent, style.color, [chainOf(e)]);
      }
      if (e.tagName === "IMG" && e.alt && e.complete && !e.naturalWidth) {
        row(e, "alt", e.alt, style.color, [chainOf(e)]);
      }
    }
  } finally {
    document.adoptedStyleSheets = adopted;
    for (const e of scrolled) {
      for (let a = e; a; a = a.parentElement) [a.scrollLeft, a.scrollTop] = [0, 0];
    }
    window.scrollTo(0, 0);
  }
  return rows;
}
"""


def contrast_rows(page: Page) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = page.evaluate(CONTRAST_JS)
    return rows


def low_contrast(rows: list[dict[str, Any]]) -> str:
    bad = [r for r in rows if r["ratio"] < MIN_CONTRAST]
    return "\n".join(
        f"{r['ratio']:.2f}:1 {r['fg']} on {r['bg']} <{r['tag']} class='{r['classes']}'> "
        f"{r['what']} {r['panel']} {r['text']!r}"
        for r in bad
    )


def outside_charts(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows but the texts of server-drawn SVG charts, which `contrast_rows` cannot judge
    (it sees an image under them): `svg_text_contrast` checks those."""
    return [r for r in rows if not (r["tag"] == "text" and r["bg"] == "an image (svg)")]


def broken_images(page: Page) -> list[str]:
    """The images on the page that did not load (a card path the page gets wrong)."""
    broken: list[str] = page.evaluate(
        "() => [...document.images].filter((i) => !i.naturalWidth).map((i) => i.src)"
    )
    return broken


def sideways(page: Page) -> int:
    """How many px the page is wider than the viewport (0: no sideways scrolling)."""
    overflow: int = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    return overflow


# Runs in the page: each text of the server-drawn charts (SVG, which the general check cannot
# judge) in its fill colour, against the fill of each shape drawn under it, or else the
# colour behind the chart (its first ancestor with a background).
SVG_TEXT_JS = r"""
() => {
  const opaque = (c) => c && c !== "transparent" && !/rgba\(.*,\s*0\)$/.test(c);
  const rows = [];
  for (const svg of document.querySelectorAll("svg")) {
    let behind = "rgb(255, 255, 255)";
    for (let a = svg.parentElement; a; a = a.parentElement) {
      const bg = getComputedStyle(a).backgroundColor;
      if (opaque(bg)) { behind = bg; break; }
    }
    const shapes = [...svg.querySelectorAll("rect, path, circle, polygon")];
    for (const text of svg.querySelectorAll("text")) {
      const box = text.getBoundingClientRect();
      const under = shapes.filter((s) => {
        const r = s.getBoundingClientRect();
        return r.left < box.right && r.right > box.left && r.top < box.bottom
          && r.bottom > box.top && getComputedStyle(s).fill !== "none";
      }).map((s) => getComputedStyle(s).fill);
      rows.push({ text: text.textContent, fg: getComputedStyle(text).fill,
        bgs: under.length ? under : [behind] });
    }
  }
  return rows;
}
"""


def _hex(css: str) -> str:
    found = re.fullmatch(r"rgba?\((\d+),\s*(\d+),\s*(\d+)(?:,\s*([\d.]+))?\)", css.strip())
    assert found, f"not an opaque colour: {css}"
    assert found.group(4) in (None, "1"), f"a transparent colour: {css}"
    return "#" + "".join(f"{int(found.group(i)):02x}" for i in (1, 2, 3))


def svg_text_contrast(page: Page) -> list[tuple[float, str]]:
    """Each SVG text's worst contrast against what is drawn under it, with the text."""
    rows: list[dict[str, Any]] = page.evaluate(SVG_TEXT_JS)
    return [(min(contrast(_hex(r["fg"]), _hex(bg)) for bg in r["bgs"]), r["text"]) for r in rows]
