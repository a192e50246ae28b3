"""Charts drawn as SVG on the server, so the page and the PDF show the same picture without any script.

Pure: data in, markup out. Only presentation attributes are used (no style element or attribute), which the
page's Content-Security-Policy allows and WeasyPrint draws. Every chart carries a title for screen readers;
the pages print the table of the same figures next to it.
"""

import math

from markupsafe import Markup, escape

PALETTE = ("#1f5f99", "#e08a1e", "#3c9a5f", "#b03a48", "#6b5b95")
WIDTH = 640
LABEL_ROOM = 28  # characters on one line of a bar's label
FONT = 'font-family="Dialogue Serif, DejaVu Sans, Arial, sans-serif"'  # the PDF's own font first


def _scale(peak: float, ticks: int = 4) -> tuple[float, int]:
    """A round step (1, 2 or 5 × 10^k, never below 1) and how many steps reach `peak`: whole-number ticks."""
    step = 1.0
    while peak / step > ticks:
        for factor in (2, 2.5, 2):  # 1 -> 2 -> 5 -> 10 -> 20 -> 50 ...
            step *= factor
            if peak / step <= ticks:
                break
    return step, max(1, math.ceil(peak / step))


def _number(value: float) -> str:
    return f"{value:,.0f}".replace(",", ".") if value == int(value) else f"{value:.1f}".replace(".", ",")


def column_chart(title: str, labels: list[str], series: list[tuple[str, list[float]]], height: int = 260) -> Markup:
    """Grouped columns: one group per label (a month), one column per series (raised, answered…)."""
    left, right, top, bottom = 48, 12, 28, 46
    plot_w, plot_h = WIDTH - left - right, height - top - bottom
    step, steps = _scale(max((v for _, values in series for v in values), default=0))
    peak = step * steps
    group_w = plot_w / max(len(labels), 1)
    bar_w = group_w * 0.8 / max(len(series), 1)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="100%" role="img" '
             f'aria-label="{escape(title)}" class="chart"><title>{escape(title)}</title>']
    for tick in range(steps + 1):
        value = step * tick
        y = top + plot_h - plot_h * tick / steps
        parts.append(f'<line x1="{left}" x2="{WIDTH - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#d9d9d9"/>'
                     f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" {FONT} '
                     f'fill="#555">{_number(value)}</text>')
    for i, label in enumerate(labels):
        x0 = left + i * group_w + group_w * 0.1
        for j, (name, values) in enumerate(series):
            value = values[i]
            h = plot_h * value / peak
            parts.append(f'<rect x="{x0 + j * bar_w:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w * 0.92:.1f}" '
                         f'height="{h:.1f}" fill="{PALETTE[j % len(PALETTE)]}"><title>{escape(label)} · '
                         f'{escape(name)}: {_number(value)}</title></rect>')
        parts.append(f'<text x="{left + (i + 0.5) * group_w:.1f}" y="{top + plot_h + 16}" text-anchor="middle" '
                     f'font-size="11" {FONT} fill="#333">{escape(label)}</text>')
    x = left
    for j, (name, _) in enumerate(series):
        parts.append(f'<rect x="{x}" y="{height - 16}" width="10" height="10" fill="{PALETTE[j % len(PALETTE)]}"/>'
                     f'<text x="{x + 14}" y="{height - 7}" font-size="11" {FONT} fill="#333">{escape(name)}</text>')
        x += 24 + 7 * len(name)
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704  (every text inside went through escape())


def _common_lead(labels: list[str]) -> str:
    """The words every label starts with ("Chi cục Hải quan "), when at least one word is left after them."""
    words = [label.split(" ") for label in labels]
    if len(words) < 2:
        return ""
    lead = []
    for column in zip(*words, strict=False):
        if len(set(column)) != 1:
            break
        lead.append(column[0])
    if any(len(w) <= len(lead) for w in words):
        lead = lead[:-1]
    return " ".join(lead) + " " if lead else ""


def _label_lines(label: str, room: int = LABEL_ROOM, most: int = 2) -> list[str]:
    """`label` wrapped at word boundaries into at most `most` lines of about `room` characters; a label
    still longer ends in "…" after a whole word, never inside one."""
    lines: list[str] = []
    for word in label.split():
        if lines and len(lines[-1]) + 1 + len(word) <= room:
            lines[-1] += " " + word
        elif len(lines) < most:
            lines.append(word)
        else:
            lines[-1] = lines[-1].rstrip(",;:") + "…"
            break
    return lines or [""]


def bar_chart(title: str, rows: list[tuple[str, float]], unit: str = "", width: int = 480) -> Markup:
    """Horizontal bars, one per row (a topic, a channel, a unit), its label on the left on one or two lines.

    Words every label starts with (a ranking's "Chi cục Hải quan") are left out so that the labels differ
    where they differ; each bar's title keeps the whole label.
    """
    top, right = 8, 56
    lead = _common_lead([label for label, _ in rows])
    shown = [_label_lines(label[len(lead):][:1].upper() + label[len(lead):][1:]) for label, _ in rows]
    row_h = 36 if any(len(lines) > 1 for lines in shown) else 24
    longest = max((len(line) for lines in shown for line in lines), default=0)
    left = int(longest * 6.6) + 16  # room for the longest line (12 px text)
    height = top * 2 + row_h * max(len(rows), 1)
    plot_w = width - left - right
    peak = max((value for _, value in rows), default=0) or 1
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" role="img" '
             f'aria-label="{escape(title)}" class="chart chart-bars"><title>{escape(title)}</title>']
    for i, ((label, value), lines) in enumerate(zip(rows, shown, strict=True)):
        y = top + i * row_h
        w = plot_w * value / peak
        middle = y + row_h / 2
        first = middle + 4 - 7 * (len(lines) - 1)
        text = "".join(f'<tspan x="{left - 8}" y="{first + 14 * n:.0f}">{escape(line)}</tspan>'
                       for n, line in enumerate(lines))
        parts.append(f'<g><title>{escape(label)}: {_number(value)}{escape(unit)}</title>'
                     f'<text text-anchor="end" font-size="12" {FONT} fill="#333">{text}</text>'
                     f'<rect x="{left}" y="{middle - 8:.0f}" width="{w:.1f}" height="16" fill="{PALETTE[0]}"/>'
                     f'<text x="{left + w + 6:.1f}" y="{middle + 4:.0f}" font-size="12" {FONT} fill="#333">'
                     f'{_number(value)}{escape(unit)}</text></g>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704  (every text inside went through escape())
