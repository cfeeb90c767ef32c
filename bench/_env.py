"""Process set-up shared by the benchmark driver and its subprocess workers.

- `scrub_openblas_env()` re-executes the interpreter without OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE:
  both force NumPy's OpenBLAS onto another (slower) kernel than the one it picks for this CPU, and
  OpenBLAS reads them when it is loaded, so they must be gone before numpy is imported.
- `import_fastnn()` prefers the in-tree build (python/fastnn with a built _C extension) over an
  installed copy, so `python -m bench` from the repo root measures the tree it sits in.
"""

import json
import os
import platform
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SCRUBBED_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
_MARK = "FASTNN_BENCH_SCRUBBED"


def scrub_openblas_env():
    """Re-exec this process without SCRUBBED_VARS (no-op when none is set). Call before importing numpy."""
    found = {k: os.environ[k] for k in SCRUBBED_VARS if k in os.environ}
    if not found:
        return
    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED_VARS}
    previous = json.loads(os.environ.get(_MARK, "{}"))
    previous.update(found)
    env[_MARK] = json.dumps(previous)
    sys.stdout.flush()
    sys.stderr.flush()
    argv = [sys.executable] + list(getattr(sys, "orig_argv", sys.argv)[1:])
    os.execve(sys.executable, argv, env)


def scrubbed_vars():
    """The OPENBLAS_* variables this process removed from its environment (name -> value), if any."""
    return json.loads(os.environ.get(_MARK, "{}"))


def import_fastnn():
    tree = REPO / "python"
    if any((tree / "fastnn").glob("_C*.so")) and str(tree) not in sys.path:
        sys.path.insert(0, str(tree))
    import fastnn

    return fastnn


def subprocess_env():
    """Environment for worker subprocesses: `bench` importable from the repo root."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    return env


def run_worker(module, *args, timeout=900):
    """Runs `python -m module args...` from the repo root and returns the JSON object on its last stdout line."""
    cmd = [sys.executable, "-m", module, *map(str, args)]
    out = subprocess.run(cmd, cwd=REPO, env=subprocess_env(), capture_output=True, text=True, timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def cpu_model():
    model, family, cpu_model_no = "unknown", None, None
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, val = line.partition(":")
                key, val = key.strip(), val.strip()
                if key == "model name" and model == "unknown":
                    model = val
                elif key == "cpu family" and family is None:
                    family = val
                elif key == "model" and cpu_model_no is None:
                    cpu_model_no = val
    except OSError:
        return platform.processor() or "unknown"
    if family and cpu_model_no:
        model += f" (family {family}, model {cpu_model_no})"
    return model


def os_name():
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    return line.split("=", 1)[1].strip().strip('"') + f", Linux {platform.release()}"
    except OSError:
        pass
    return platform.platform()


def cpu_flags():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def relevant_env():
    keys = ("OMP_", "GOMP_", "KMP_", "MKL_", "OPENBLAS_", "GOTO", "FASTNN_")
    return {k: v for k, v in os.environ.items() if k.startswith(keys) and k != _MARK}


def proc_status_kb(*fields):
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            name = line.split(":", 1)[0]
            if name in fields:
                out[name] = int(line.split()[1])
    return out
