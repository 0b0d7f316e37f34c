"""Start-up cost of `inria --help` and `inria plugins` against `python -c pass`.

Both must import neither torch nor any plugin. Prints the extra wall time
over a bare interpreter; target: under 0.5 s with every first-party plugin
installed.
"""
import statistics
import subprocess
import sys
import time


def best(cmd, n=7):
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


base = best([sys.executable, "-c", "pass"])
helpt = best([sys.executable, "-m", "inria", "--help"])
plugins = best([sys.executable, "-m", "inria", "plugins"])
print(f"python -c pass: {base:.3f}s, inria --help: {helpt:.3f}s ({helpt / base:.1f}x), inria plugins: {plugins:.3f}s ({plugins / base:.1f}x)")
print(f"inria plugins extra start-up {plugins - base:.3f}s (target < 0.5 s); ratio to python -c pass {plugins / base:.2f}")
