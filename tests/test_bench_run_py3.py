"""benchmarks/run.py, the ``make bench`` harness: running, judging and tabulating scripts.

The harness is driven here with small fake bench scripts under the running
interpreter (``--interpreter``), so that every outcome (a good run, a crash,
junk on stdout, a broken contract, a hang) is exercised in a second or two.
"""
import importlib.util
import json
import os
import sys
import textwrap

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_spec = importlib.util.spec_from_file_location("bench_run", os.path.join(ROOT, "benchmarks", "run.py"))
run = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(run)

GOOD = textwrap.dedent("""\
    import sys
    import benchlib
    args = benchlib.parse_args("a fake benchmark")
    benchlib.progress("working")
    report = benchlib.Report("good", quick=args.quick)
    report.result("throughput", "stdlib", 1000.0, "req/s")
    report.result("throughput", "compat", 900.0, "req/s")
    report.result("latency", "compat", 3.0, "ms", target=("<=", 5))
    report.ratio("throughput", "compat", "stdlib", target=(">=", 0.95))
    report.skip("pool", "no pool here")
    report.emit()
    """)
SCRIPTS = {
    "good": GOOD,
    "crash": "import sys\nsys.stderr.write('boom: the server fell over\\n')\nsys.exit(3)\n",
    "chatty": GOOD.replace('benchlib.progress("working")', 'print("working")')
                  .replace('"good"', '"chatty"'),
    "broken": 'print(\'{"benchmark": "broken", "python": "3.13.0", "quick": true, '
              '"results": [{"metric": "x", "impl": "y", "value": null, "unit": "ms"}], '
              '"ratios": []}\')\n',
    "hang": "import time\ntime.sleep(60)\n",
}


@pytest.fixture
def bench_dir(tmp_path):
    for name, code in SCRIPTS.items():
        (tmp_path / ("bench_%s.py" % name)).write_text(code)
    # The fake scripts import benchlib from their own directory, like the real ones.
    with open(os.path.join(ROOT, "benchmarks", "benchlib.py")) as f:
        (tmp_path / "benchlib.py").write_text(f.read())
    (tmp_path / "README.md").write_text("not a script\n")
    return tmp_path


def harness(bench_dir, tmp_path, *args):
    out = tmp_path / "out.json"
    status = run.main(["--bench-dir", str(bench_dir), "--interpreter", sys.executable,
                       "--output", str(out), "--quick", "--timeout", "5"] + list(args))
    return status, json.loads(out.read_text())


def test_finds_only_bench_scripts(bench_dir):
    assert sorted(run.benchmarks(str(bench_dir))) == ["broken", "chatty", "crash", "good", "hang"]


def test_good_run_is_recorded_with_machine_facts(bench_dir, tmp_path, capsys):
    status, doc = harness(bench_dir, tmp_path, "--only", "good")
    assert status == 0
    env = run.env_name("%d.%d" % sys.version_info[:2])
    [entry] = doc["runs"]
    assert entry["status"] == "ok" and entry["env"] == env and entry["error"] == ""
    assert entry["output"]["ratios"][0]["value"] == 0.9
    assert doc["machine"]["cores"] == os.cpu_count()
    assert doc["machine"]["kernel"] == os.uname().release
    assert len(doc["load_at_start"]) == 3 and doc["quick"] is True
    out = capsys.readouterr().out
    assert "== good ==" in out
    assert "throughput  compat/stdlib      x  0.900!  >= 0.950" in out
    assert "skipped pool on %s: no pool here" % env in out
    assert "good %s throughput compat/stdlib: 0.900 x (target >= 0.950)" % env in out


@pytest.mark.parametrize("name, status, message", [
    ("crash", "failed", "exit status 3\nboom: the server fell over"),
    ("chatty", "failed", "breaks the contract:\n  stdout has 1 lines besides the JSON one"),
    ("broken", "failed", "breaks the contract:\n  results[0]: value must be a finite number, got None"),
    ("hang", "timeout", "killed after 5 s"),
])
def test_bad_runs_fail_the_harness_and_say_why(bench_dir, tmp_path, name, status, message):
    code, doc = harness(bench_dir, tmp_path, "--only", name)
    assert code == 1
    [entry] = doc["runs"]
    assert entry["status"] == status
    assert entry["error"].startswith(message)
    assert entry["output"] is None
    assert entry["duration_s"] < 30
    assert entry["log"] == "logs/%s-%s.log" % (name, entry["env"])
    stderr = (tmp_path / entry["log"]).read_text()
    assert stderr == {"crash": "boom: the server fell over\n",
                      "chatty": "skipped pool: no pool here\n"}.get(name, "")


def test_partial_run_replaces_only_its_own_entries(bench_dir, tmp_path):
    harness(bench_dir, tmp_path, "--only", "good,crash")
    status, doc = harness(bench_dir, tmp_path, "--only", "good")
    assert status == 0
    assert sorted((r["benchmark"], r["status"]) for r in doc["runs"]) == [
        ("crash", "failed"), ("good", "ok")]


def test_unknown_benchmark_is_a_usage_error(bench_dir, tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        harness(bench_dir, tmp_path, "--only", "nope")
    assert exc.value.code == 2
    assert ("no benchmark named nope; there are: broken, chatty, crash, good, hang"
            in capsys.readouterr().err)


def test_unknown_python_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        run.main(["--pythons", "3.5"])
    assert exc.value.code == 2
    assert "unknown Python version 3.5; choose among 2.7, 3.6" in capsys.readouterr().err


@pytest.mark.parametrize("value, text", [
    (5000, "5000"), (12345.6, "12346"), (250.4, "250"), (12.34, "12.3"), (1.234, "1.23"),
    (0.1234, "0.123"), (0.0, "0.000"),
])
def test_fmt(value, text):
    assert run.fmt(value) == text


def test_render_orders_interpreters_and_marks_missed_targets_per_interpreter():
    def entry(env, value):
        return {"benchmark": "server", "env": env, "status": "ok", "error": "",
                "output": {"results": [{"metric": "shutdown_median", "impl": "compat",
                                        "value": value, "unit": "ms", "target": ["<=", 5]}],
                           "ratios": []}}
    runs = [entry("py310", 7.5), entry("py27", 0.25), entry("py39", 6.0)]
    runs[0]["output"]["results"][0]["target"] = ["<=", 10]
    text = run.render(runs)
    assert text == textwrap.dedent("""
        == server ==
        metric           impl    unit   py27   py39  py310        target
        ---------------  ------  ----  -----  -----  -----  ------------
        shutdown_median  compat    ms  0.250  6.00!   7.50  <= 5 | <= 10

        targets missed (marked ! above):
          server py39 shutdown_median compat: 6.00 ms (target <= 5)
        """)


def test_merge_keeps_other_entries():
    old = {"runs": [{"benchmark": "a", "env": "py27", "n": 1},
                    {"benchmark": "a", "env": "py313", "n": 2}]}
    new = [{"benchmark": "a", "env": "py313", "n": 3}]
    assert run.merge(old, new) == [{"benchmark": "a", "env": "py27", "n": 1},
                                   {"benchmark": "a", "env": "py313", "n": 3}]
