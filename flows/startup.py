"""Start-up and exit of a run command without the garbage collector's full passes (issue 20).

Importing Prefect and GX creates a few million objects that live until the process ends. While they are
being created, the cyclic garbage collector runs full passes over all of them again and again (about
0.8 s of CPU in `import great_expectations, prefect.flow_engine`, 2.8 instead of 3.6 s user time), and at
exit the interpreter runs one more full pass over everything (seconds on a busy machine, measured with
py-spy in `corpus add FILE --now`; BENCHMARKS.md). So:

- `pause_gc()` turns the collector off for the imports and warm-up before a flow run;
- `resume_gc()` (once the flow is about to start) moves what exists by then into the permanent
  generation, which later passes skip, and turns the collector back on for the run;
- `freeze_before_exit()` does the same at the end of the command, so the interpreter's last pass has
  (nearly) nothing to walk. Exit handlers still run and every file is still closed: only the search for
  reference cycles among objects that die with the process is skipped.
"""

from __future__ import annotations

import gc

_paused = False


def pause_gc() -> None:
    """No cyclic garbage collection until resume_gc() (the start-up of a run command: imports, warm-up)."""
    global _paused
    if gc.isenabled():
        gc.disable()
        _paused = True


def resume_gc() -> None:
    """End of start-up: freeze what exists into the permanent generation and collect again as usual."""
    global _paused
    if _paused:
        gc.freeze()
        gc.enable()
        _paused = False


def freeze_before_exit() -> None:
    """The command is done: the interpreter's last collection skips every object that exists now."""
    gc.freeze()
