from __future__ import annotations

import io

from rxyomo.rx import operators as yops


def test_std_out_prints_each_item_and_passes_it_on(marbles):
    out = io.StringIO()
    xs = marbles.hot("-a-b-|")
    results = marbles.start(lambda: xs.pipe(yops.std_out(out)))
    assert results == marbles.exp("-a-b-|")
    assert out.getvalue() == "[StdOut]:  a\n[StdOut]:  b\n"


def test_std_out_writes_to_standard_output_by_default(marbles, capsys):
    xs = marbles.hot("-7-|")
    marbles.start(lambda: xs.pipe(yops.std_out()))
    assert capsys.readouterr().out == "[StdOut]:  7\n"
