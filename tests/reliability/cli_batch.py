"""Run many ``audiointeract`` command lines in one real Python process, each as a user would see it.

Started as ``python cli_batch.py`` with a JSON list of ``{"argv": [...], "stdin": base64}`` on
standard input; prints a JSON list of ``{"code", "stdout", "stderr"}``. Each command line gets
its own stdin, stdout and stderr and runs through click's standalone entry point, so usage
errors, ``sys.exit`` codes and ``Error:`` lines are exactly what the shell gets; an exception
that escapes is printed as the interpreter would print it (a ``Traceback``), exit code 1.
Starting Python once per batch keeps a matrix of many command lines fast.
"""

from __future__ import annotations

import base64
import io
import json
import sys
import traceback
from typing import Any

from audiointeract.cli import main as cli


def _stream(data: bytes = b"") -> io.TextIOWrapper:
    return io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", errors="replace", write_through=True)


def _run(argv: list[str], stdin: bytes) -> dict[str, Any]:
    saved = sys.stdin, sys.stdout, sys.stderr
    sys.stdin, sys.stdout, sys.stderr = _stream(stdin), _stream(), _stream()
    out, err = sys.stdout, sys.stderr
    try:
        cli(args=argv, prog_name="audiointeract", standalone_mode=True)
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:
        traceback.print_exc(file=err)
        code = 1
    finally:
        sys.stdin, sys.stdout, sys.stderr = saved
    return {
        "code": code,
        "stdout": out.buffer.getvalue().decode("utf-8", "replace"),  # type: ignore[attr-defined]
        "stderr": err.buffer.getvalue().decode("utf-8", "replace"),  # type: ignore[attr-defined]
    }


def main() -> None:
    cases = json.load(sys.stdin)
    results = [_run(case["argv"], base64.b64decode(case.get("stdin", ""))) for case in cases]
    sys.stdout.write(json.dumps(results))


if __name__ == "__main__":
    main()
