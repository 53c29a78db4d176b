"""A grouped bar chart as SVG text: a small, pure, deterministic function.

The benchmarks page needs a handful of plots and the build machine has no
network and no plotting library; an SVG bar chart is a few rectangles and
labels.  Same input, same bytes out, so an unchanged results file never
rewrites an image.
"""
from xml.sax.saxutils import escape

#: Colour-blind-safe palette (Okabe-Ito), one colour per series.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]


def _fmt(value):
    if value == 0:
        return "0"
    if abs(value) >= 100:
        return "%.0f" % value
    if abs(value) >= 10:
        return "%.1f" % value
    if abs(value) >= 1:
        return "%.2f" % value
    return "%.3g" % value


def _nice_max(value):
    """The smallest 1, 2, 2.5 or 5 times a power of ten that is >= value."""
    if value <= 0:
        return 1.0
    power = 1.0
    while power * 10 <= value:
        power *= 10
    while power > value:
        power /= 10
    for step in (1, 2, 2.5, 5, 10):
        if step * power >= value:
            return step * power
    return 10 * power


def bar_chart(title, groups, series, values, unit, reference=None, width=760, height=300):
    """Return an SVG document: one cluster of bars per group, one bar per series.

    ``groups`` (x axis, e.g. interpreters) and ``series`` (e.g. stdlib,
    compat, pool) are lists of labels; ``values`` maps ``(group, series)`` to a
    number, and a missing pair draws no bar (it was not measured).
    ``reference`` is an optional ``(value, label)`` drawn as a dashed line
    (a target).  Raises ValueError for an empty chart or a negative value.
    """
    if not groups or not series:
        raise ValueError("bar_chart needs at least one group and one series")
    measured = [v for v in values.values()]
    if not measured:
        raise ValueError("bar_chart %r: no values" % (title,))
    if min(measured) < 0:
        raise ValueError("bar_chart %r: negative value" % (title,))
    top = max(measured + ([reference[0]] if reference else []))
    ymax = _nice_max(top * 1.15)  # room for the value labels
    left, right, head, foot = 64, 16, 40, 56
    # Legend entries (series, then the reference line), wrapped into rows.
    entries = [(str(name), "bar", PALETTE[si % len(PALETTE)]) for si, name in enumerate(series)]
    if reference:
        entries.append((reference[1], "line", "#D55E00"))
    legend, lx, row = [], left, 0
    for label, kind, colour in entries:
        w = 16 + int(6.5 * len(label)) + 20
        if lx + w > width - right and lx > left:
            lx, row = left, row + 1
        legend.append((lx, row, label, kind, colour))
        lx += w
    height += 16 * row
    foot += 16 * row
    plot_w = width - left - right
    plot_h = height - head - foot
    slot = plot_w / float(len(groups))
    bar_w = min(28.0, (slot * 0.8) / len(series))
    out = []
    add = out.append
    add('<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" '
        'font-family="DejaVu Sans, sans-serif" font-size="11" role="img">' % (width, height, width, height))
    add("<title>%s</title>" % escape(title))
    add('<rect x="0" y="0" width="%d" height="%d" fill="#ffffff"/>' % (width, height))
    add('<text x="%d" y="18" font-size="13" font-weight="bold">%s</text>' % (left, escape(title)))
    # Axis and grid: five steps.
    for i in range(6):
        v = ymax * i / 5.0
        y = head + plot_h - plot_h * i / 5.0
        add('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#dddddd"/>' % (left, y, width - right, y))
        add('<text x="%d" y="%.1f" text-anchor="end">%s</text>' % (left - 6, y + 4, _fmt(v)))
    add('<text x="14" y="%.1f" transform="rotate(-90 14 %.1f)" text-anchor="middle">%s</text>'
        % (head + plot_h / 2.0, head + plot_h / 2.0, escape(unit)))
    for gi, group in enumerate(groups):
        x0 = left + gi * slot + (slot - bar_w * len(series)) / 2.0
        for si, name in enumerate(series):
            if (group, name) not in values:
                continue
            v = values[(group, name)]
            h = plot_h * v / ymax
            x = x0 + si * bar_w
            y = head + plot_h - h
            add('<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s">'
                '<title>%s, %s: %s %s</title></rect>'
                % (x, y, bar_w - 2, h, PALETTE[si % len(PALETTE)],
                   escape(str(group)), escape(str(name)), _fmt(v), escape(unit)))
            # The figure itself above the bar: a bar too short to see
            # (0.2 ms next to 467 ms) still shows its value.
            # Written upwards, so that narrow neighbouring bars do not collide.
            tx, ty = x + (bar_w - 2) / 2.0 + 3, y - 3
            add('<text x="%.1f" y="%.1f" font-size="9" transform="rotate(-90 %.1f %.1f)">%s</text>'
                % (tx, ty, tx, ty, _fmt(v)))
        add('<text x="%.1f" y="%d" text-anchor="middle">%s</text>'
            % (left + gi * slot + slot / 2.0, head + plot_h + 16, escape(str(group))))
    add('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#333333"/>'
        % (left, head + plot_h, width - right, head + plot_h))
    if reference:
        ry = head + plot_h - plot_h * reference[0] / ymax
        add('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#D55E00" stroke-dasharray="6 4"/>'
            % (left, ry, width - right, ry))
    # Legend under the axis labels; the reference line is explained there,
    # where no bar can hide its label.
    for lx, row, label, kind, colour in legend:
        ly = height - 14 - 16 * (max(r for _, r, _, _, _ in legend) - row)
        if kind == "bar":
            add('<rect x="%d" y="%d" width="12" height="12" fill="%s"/>' % (lx, ly - 10, colour))
        else:
            add('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-dasharray="6 4"/>'
                % (lx, ly - 4, lx + 12, ly - 4, colour))
        add('<text x="%d" y="%d" fill="%s">%s</text>'
            % (lx + 16, ly, "#000000" if kind == "bar" else colour, escape(label)))
    add("</svg>")
    return "\n".join(out) + "\n"
