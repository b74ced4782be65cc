"""Coverage-guided fuzzing of one target with atheris (libFuzzer for Python).

    pip install -e '.[fuzz]'
    python bench/fuzz/run.py alert bench/fuzz/corpus/alert -max_total_time=60

The first argument names the target (``alert``, ``ack``, ``bounded_json``, ``lock_adverts``, see
``targets.py``); the rest go to libFuzzer as usual (corpus directories, ``-runs=``,
``-max_total_time=``, ``-jobs=``). A crash is written as ``crash-<sha1>`` in the current
directory; replay it with ``python bench/fuzz/run.py alert crash-<sha1>``.
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports(include=["cloud_bridge", "gateway", "qunzu_common"]):
    from targets import TARGETS  # type: ignore[import-not-found]


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in TARGETS:
        sys.exit(f"usage: run.py {{{','.join(TARGETS)}}} [libFuzzer options and corpus dirs]")
    target = TARGETS[sys.argv[1]]
    atheris.Setup([sys.argv[0], *sys.argv[2:]], target)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
