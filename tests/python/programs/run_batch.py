"""Child process for test_programs.py: runs each program given on the command line as __main__ in this one
interpreter (importing the library once), capturing its stdout; prints a JSON list of {path, out, err}.
With --fastnn, the shim directory makes `import torch` load fastnn."""

import contextlib
import io
import json
import os
import runpy
import sys
import traceback

if sys.argv[1] == "--fastnn":
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "shim"))
results = []
for path in sys.argv[2:]:
    out = io.StringIO()
    err = ""
    try:
        with contextlib.redirect_stdout(out):
            runpy.run_path(path, run_name="__main__")
    except BaseException:  # a program's failure is data for the parent, including SystemExit
        err = traceback.format_exc()
    results.append({"path": path, "out": out.getvalue(), "err": err})
sys.stdout.write(json.dumps(results))
