"""`alvh recommend` only reads unless --store: its read path must not import the gate (GX)."""

import subprocess
import sys


def test_the_read_path_does_not_import_great_expectations():
    code = ("import sys, flows.recommend, flows.cli; "
            "print(sorted(m for m in ('great_expectations', 'prefect') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=True)
    assert out.stdout.strip() == "[]"
