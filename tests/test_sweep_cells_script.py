"""bench/sweep_cells.py: a cell trained in parts is put together network by network."""

import importlib.util
import json
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "bench" / "sweep_cells.py"


@pytest.fixture(scope="module")
def sweep_cells():
    spec = importlib.util.spec_from_file_location("sweep_cells", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_parts_are_weighted_by_their_networks_and_a_rerun_part_replaces_the_first(sweep_cells):
    lines = [
        {"kind": "size", "value": 450.0, "networks": [0, 2], "distance": 0.5, "accuracy": 1.0},
        {"kind": "size", "value": 450.0, "networks": [2, 8], "distance": 0.7, "accuracy": 0.5},
        {"kind": "size", "value": 450.0, "networks": [2, 8], "distance": 0.9, "accuracy": 0.5},
        {"kind": "size", "value": 50.0, "distance": 1.0, "accuracy": 1.0},
        {"kind": "size", "value": 250.0, "networks": [0, 2], "rc": "stopped at the deadline"},
    ]
    merged = sweep_cells.merge_parts(lines)
    assert set(merged) == {("size", 450.0), ("size", 50.0)}
    cell = merged["size", 450.0]
    # (2 x 0.5 + 6 x 0.9) / 8 and (2 x 1 + 6 x 0.5) / 8
    assert cell["networks"] == 8
    assert cell["distance"] == pytest.approx(0.8)
    assert cell["accuracy"] == pytest.approx(0.625)
    assert merged["size", 50.0]["networks"] is None  # a whole cell


def test_a_part_inside_a_wider_line_is_neither_counted_twice_nor_queued(
    sweep_cells, tmp_path, monkeypatch
):
    lines = [
        {"kind": "size", "value": 50.0, "networks": [0, 20], "distance": 1.0, "accuracy": 1.0},
        {"kind": "size", "value": 50.0, "networks": [2, 4], "distance": 3.0, "accuracy": 0.0},
        {"kind": "size", "value": 55.0, "networks": [2, 4], "distance": 3.0, "accuracy": 0.0},
    ]
    merged = sweep_cells.merge_parts(lines)
    assert merged["size", 50.0]["networks"] == 20
    assert merged["size", 50.0]["distance"] == pytest.approx(1.0)
    assert merged["size", 55.0]["networks"] == 2
    import json

    out = tmp_path / "cells.jsonl"
    out.write_text("".join(json.dumps(line) + "\n" for line in lines))
    queued = []
    monkeypatch.setattr(sweep_cells, "run_cells", lambda queue, **kwargs: queued.extend(queue))
    sweep_cells.main(["--kinds", "size", "--part-size", "2", "--skip-done", "--out", str(out)])
    assert not [cell for cell in queued if cell[1] == 50.0]  # all 20 covered by the first line
    assert ("size", 55.0, (0, 2)) in queued and ("size", 55.0, (2, 2)) not in queued
    assert len(queued) == 22 * 10 - 10 - 1


def test_the_merge_does_not_depend_on_the_order_of_the_lines(sweep_cells):
    """A 20-network line wins over a part inside it, before or after it; overlapping parts
    count each network once (the wider one kept); a whole-cell line without ``networks``
    stands alone beside parts of the same cell."""
    wide = {"kind": "size", "value": 50.0, "networks": [0, 20], "distance": 1.0, "accuracy": 1.0}
    inner = {"kind": "size", "value": 50.0, "networks": [0, 2], "distance": 3.0, "accuracy": 0.0}
    for lines in ([wide, inner], [inner, wide]):
        merged = sweep_cells.merge_parts(lines)["size", 50.0]
        assert (merged["networks"], merged["distance"]) == (20, 1.0)
    overlapping = [
        {"kind": "size", "value": 60.0, "networks": [0, 2], "distance": 1.0, "accuracy": 1.0},
        {"kind": "size", "value": 60.0, "networks": [1, 5], "distance": 2.0, "accuracy": 1.0},
        {"kind": "size", "value": 60.0, "networks": [5, 6], "distance": 4.0, "accuracy": 1.0},
    ]
    merged = sweep_cells.merge_parts(overlapping)["size", 60.0]
    # [1, 5) is kept (widest), [0, 2) shares network 1 and is dropped: (4 x 2 + 1 x 4) / 5
    assert merged["networks"] == 5 and merged["distance"] == pytest.approx(12 / 5)
    whole = {"kind": "size", "value": 70.0, "distance": 0.5, "accuracy": 1.0}
    part = {"kind": "size", "value": 70.0, "networks": [0, 2], "distance": 9.0, "accuracy": 0.0}
    for lines in ([whole, part], [part, whole]):
        merged = sweep_cells.merge_parts(lines)["size", 70.0]
        assert (merged["networks"], merged["distance"]) == (None, 0.5)


def test_a_part_is_its_own_invocation(sweep_cells, tmp_path):
    command = sweep_cells.cell_command("size", 450.0, tmp_path, [], networks=(4, 2))
    sets = [command[i + 1] for i, arg in enumerate(command) if arg == "--set"]
    assert "sizes=[450]" in sets and "delays=[]" in sets
    assert "sweep_member_offset=4" in sets and "sweep_members=2" in sets


def test_a_size_cells_time_is_estimated_from_the_nearest_smaller_size(sweep_cells):
    done = [("size", 100.0, 200.0), ("size", 250.0, 600.0), ("delay", 25.0, 300.0)]
    done.append(("delay", 150.0, 400.0))
    assert sweep_cells.expected_seconds(done, "size", 500.0) == pytest.approx(600 * 4)
    assert sweep_cells.expected_seconds(done, "size", 200.0) == pytest.approx(200 * 4)
    assert sweep_cells.expected_seconds(done, "size", 50.0) == 200.0  # none smaller
    assert sweep_cells.expected_seconds(done, "delay", 60.0) == 400.0
    assert sweep_cells.expected_seconds([], "size", 450.0) == 0.0


def test_the_table_puts_each_cell_beside_the_authors_distance(sweep_cells, tmp_path):
    import json

    lines = [
        {"kind": "size", "value": 50.0, "distance": 1.0, "accuracy": 1.0},
        {"kind": "size", "value": 300.0, "networks": [0, 2], "distance": 0.5, "accuracy": 1.0},
        {"kind": "size", "value": 300.0, "networks": [2, 4], "distance": 0.7, "accuracy": 0.5},
        {"kind": "size", "value": 320.0, "networks": [0, 2], "distance": 0.4, "accuracy": 1.0},
    ]
    path = tmp_path / "cells.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    table = sweep_cells.summary_table(sweep_cells.summarise(path), "size").splitlines()
    assert table[2] == "| 50 | all | 1.000 | 1.0000 | 1.71 |"
    assert table[3] == "| 300 | 4 | 0.600 | 0.7500 | 1.08 |"  # 2 parts of 2 networks
    assert table[4] == "| 320 | 2 | 0.400 | 1.0000 |  |"  # not a size of the paper's
    # plateau (250-450): (0.6 + 0.4) / 2 over d(50) = 1.0; the paper's 1.06 / 1.71
    assert "| ratio_plateau_to_50 | 0.500 | 0.620 |" in table
    assert "| gain_beyond_250 |  | -0.044 |" in table  # no size above 350


def test_a_long_cell_past_the_deadline_does_not_block_the_short_ones_after_it(
    sweep_cells, tmp_path, monkeypatch
):
    import sys

    monkeypatch.setattr(sweep_cells, "cell_command", lambda *a, **k: [sys.executable, "-c", ""])
    monkeypatch.setattr(sweep_cells, "expected_seconds", lambda d, k, v: 1e4 if v == 500 else 0.0)
    out = tmp_path / "cells.jsonl"
    cells = [("size", 500.0, (14, 2)), ("size", 55.0, (14, 2)), ("size", 60.0, (14, 2))]
    sweep_cells.run_cells(
        cells, workers=1, cores=[0], deadline=600, out=out, extra=[], scratch=tmp_path
    )
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(line["value"], line["rc"]) for line in lines] == [(55.0, 0), (60.0, 0)]


def test_earlier_invocations_times_seed_the_estimates(sweep_cells, tmp_path, monkeypatch):
    import sys

    lines = [
        {"kind": "size", "value": 500.0, "networks": [0, 2], "seconds": 3000.0, "rc": 0},
        {"kind": "size", "value": 500.0, "networks": [14, 16], "seconds": 600.0, "rc": "stopped"},
        {"kind": "size", "value": 50.0, "seconds": 200.0, "rc": 0},  # a whole cell of 20
    ]
    past = sweep_cells.past_durations(lines, part_size=2)
    assert past == [("size", 500.0, 3000.0), ("size", 50.0, 20.0)]  # the stopped one left out
    assert sweep_cells.past_durations(lines, part_size=None)[0] == ("size", 500.0, 30000.0)
    monkeypatch.setattr(sweep_cells, "cell_command", lambda *a, **k: [sys.executable, "-c", ""])
    out = tmp_path / "cells.jsonl"
    cells = [("size", 500.0, (16, 2)), ("size", 55.0, (16, 2))]
    sweep_cells.run_cells(
        cells,
        workers=1,
        cores=[0],
        deadline=600,
        out=out,
        extra=[],
        scratch=tmp_path,
        durations=past,
    )  # 500 would take 3000 s, past the deadline: skipped; 55 ~ 20 (55/50)^2 s: run
    values = [json.loads(line)["value"] for line in out.read_text().splitlines()]
    assert values == [55.0]
