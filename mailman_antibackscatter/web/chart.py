"""A bar chart of the last days as inline SVG, drawn on the server.

No JavaScript and no CDN: Postorius pages must work behind strict content
security policies and without outside network access.  Each day gets one
bar per series; every bar carries a <title> with the exact number.
"""

from datetime import date
from xml.sax.saxutils import escape, quoteattr

WIDTH, HEIGHT = 720, 220
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 28, 34

# (stats category, legend text, colour)
SERIES = (
    ('backscatter_suppressed',
     'Automatic replies to forged senders not sent', '#d9534f'),
    ('unproven_unanswered',
     'Automatic replies to unproven senders not sent', '#f0ad4e'),
    ('bounces_dropped', 'Bounces of mail the list never sent dropped',
     '#337ab7'),
)


def _nice_ceiling(value):
    """The smallest 1/2/5 x 10^n that is >= value (at least 1)."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= value:
                return step * factor
        step *= 10


def render(series, categories=SERIES):
    """SVG text for ``series`` (the REST stats 'series', oldest day first)."""
    days = len(series)
    plot_w = WIDTH - LEFT - RIGHT
    plot_h = HEIGHT - TOP - BOTTOM
    peak = max([day.get(key, 0) or 0 for day in series
                for key, _label, _colour in categories] + [0])
    top = _nice_ceiling(peak)
    slot = plot_w / max(days, 1)
    bar_w = max(slot * 0.8 / len(categories), 1)
    totals = {key: sum(day.get(key, 0) or 0 for day in series)
              for key, _label, _colour in categories}
    summary = '; '.join('{}: {}'.format(label, totals[key])
                        for key, label, _colour in categories)
    out = [
        '<svg xmlns="http://www.w3.org/2000/svg" class="antibackscatter-chart"'
        ' viewBox="0 0 {w} {h}" width="100%" role="img" aria-label={label}>'
        .format(w=WIDTH, h=HEIGHT, label=quoteattr(
            'Last {} days: {}'.format(days, summary))),
        '<rect x="0" y="0" width="{}" height="{}" fill="#fff"/>'.format(
            WIDTH, HEIGHT),
    ]
    # Horizontal grid with the scale: counts are whole numbers, so is
    # every tick (no 0.5 when the top is 1).
    for fraction in (0, 0.5, 1):
        value = top * fraction
        if value != int(value):
            continue
        y = TOP + plot_h * (1 - fraction)
        out.append(
            '<line x1="{l}" x2="{r}" y1="{y:.1f}" y2="{y:.1f}" '
            'stroke="#ddd"/>'.format(l=LEFT, r=WIDTH - RIGHT, y=y))
        out.append(
            '<text x="{x}" y="{y:.1f}" font-size="11" text-anchor="end" '
            'fill="#555">{v}</text>'.format(
                x=LEFT - 6, y=y + 4, v=int(value)))
    # Bars.
    for index, day in enumerate(series):
        x0 = LEFT + index * slot + slot * 0.1
        for number, (key, label, colour) in enumerate(categories):
            count = day.get(key, 0) or 0
            if not count:
                continue
            height = plot_h * count / top
            out.append(
                '<rect class="bar {key}" x="{x:.1f}" y="{y:.1f}" '
                'width="{w:.1f}" height="{h:.1f}" fill="{c}">'
                '<title>{t}</title></rect>'.format(
                    key=escape(key), x=x0 + number * bar_w,
                    y=TOP + plot_h - height, w=bar_w, h=height, c=colour,
                    t=escape('{}: {} {}'.format(
                        day.get('day', ''), count, label.lower()))))
    # Day labels: every 7th day counted back from the last one, plus the
    # first day when it is not too close to one of those.
    for index, day in enumerate(series):
        weekly = (days - 1 - index) % 7 == 0
        if not weekly and not (index == 0 and (days - 1) % 7 >= 4):
            continue
        x = LEFT + index * slot + slot / 2
        out.append(
            '<text x="{x:.1f}" y="{y}" font-size="11" text-anchor="middle" '
            'fill="#555">{t}</text>'.format(
                x=x, y=HEIGHT - BOTTOM + 16, t=escape(_short(day.get('day')))))
    # Legend.
    x = LEFT
    for key, label, colour in categories:
        text = '{} ({})'.format(label, totals[key])
        out.append(
            '<rect x="{x}" y="8" width="12" height="12" fill="{c}"/>'
            '<text x="{tx}" y="18" font-size="12" fill="#333">{t}</text>'
            .format(x=x, c=colour, tx=x + 16, t=escape(text)))
        x += 16 + 6.2 * len(text) + 24
    out.append('</svg>')
    return '\n'.join(out)


def _short(day):
    try:
        parsed = date.fromisoformat(day)
    except (TypeError, ValueError):
        return day or ''
    return parsed.strftime('%d %b')
