import subprocess
import sys

ALL = ["backtest_bands", "backtest_daily", "backtest_runs", "backtest_trades",
       "breadth_daily", "events", "features_daily", "index_daily", "macro_observations",
       "option_chain",
       "pricing_calibration", "pricing_calibration_errors", "recommendation_legs",
       "recommendations", "vx_futures"]


def run(code: str) -> str:
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == 0, res.stderr
    return res.stdout.strip()


def test_every_table_is_known_without_importing_its_layer_first():
    code = "from storage import schemas; print(','.join(t.name for t in schemas.all_tables()))"
    assert run(code).split(",") == ALL
    assert run("from storage import schemas; print(schemas.get('recommendations').name)") == (
        "recommendations")


def test_a_source_table_loads_no_upper_layer():
    code = ("import sys; from storage import schemas; schemas.get('index_daily'); "
            "print(sorted({m.split('.')[0] for m in sys.modules} & "
            "{'features', 'hedge', 'backtest', 'flows'}))")
    assert run(code) == "[]"
