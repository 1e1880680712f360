"""The Prometheus text format and the dashboard's equity curve, as pure functions."""
from __future__ import annotations

from pipeline.programs.dashboard.state import sparkline
from pipeline.programs.dashboard.metrics import Family, render


def test_render_escapes_label_values_and_formats_numbers():
    f = Family("betpipe_x", "gauge", "a test").add(2.0, session='a "b"\\c\nd').add(0.25, session="e")
    f.add(None, session="skipped")
    text = render([f, Family("betpipe_y", "counter", "n").add(float("nan"))])
    assert text == ('# HELP betpipe_x a test\n# TYPE betpipe_x gauge\n'
                    'betpipe_x{session="a \\"b\\"\\\\c\\nd"} 2\nbetpipe_x{session="e"} 0.25\n'
                    '# HELP betpipe_y n\n# TYPE betpipe_y counter\nbetpipe_y NaN\n')


def test_sparkline_scales_between_min_and_max_with_a_zero_line():
    assert sparkline([]) is None
    s = sparkline([["t1", 10.0], ["t2", -10.0]], width=100, height=26)
    points = [tuple(map(float, p.split(","))) for p in s["points"].split()]
    assert [x for x, _ in points] == [3.0, 50.0, 97.0]
    assert [y for _, y in points] == [13.0, 3.0, 23.0]  # 0 in the middle, 10 on top, -10 below
    assert s["zero_y"] == 13.0 and s["up"] is False
