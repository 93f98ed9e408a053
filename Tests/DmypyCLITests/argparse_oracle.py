"""The reference for DmypyCLITests: mypy's real dmypy parser, driven by Python's argparse.

Reads {"cwd": path or null, "cases": [{"argv": [...], "columns": N}, ...]} as JSON on
stdin and prints {"mypy": "2.4.1", "python": "3.11.7", "results": [...]} with, for
each case, what `dmypy <argv>` does when COLUMNS=N:

    {"exit": code or null,          # SystemExit code; null when parsing returned
     "stdout": ..., "stderr": ...,  # what argparse printed while parsing
     "version": bool,               # -V/--version was acted on (it prints and exits 0)
     "action": "do_start" or null,  # the subcommand's action function (null: none given)
     "namespace": {...},            # vars(args) without "action", values encoded below
     "usage": ...,                  # no subcommand: what main() prints (print_usage)
     "help": ...,                   # `dmypy help`: what do_help prints (print_help)
     "crash": ...}                  # any other exception (a bug in the case, not a result)

Values: str/bool/None/list as JSON; int as {"int": "123"}; float as
{"float": "<IEEE-754 bits, 16 hex digits>"} so no precision (or NaN sign) is lost.

The daemon subparser gets the hidden `--ready-fd N` option that dmypy-swift adds,
declared as argparse would declare it: suppressed from help, and typed by a
converter named `int` that also rejects values that do not fit a C int (a file
descriptor), so its errors read "invalid int value: ..." like any int option.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import struct
import sys

from mypy.dmypy import client


class _VersionSeen(Exception):
    pass


def _version_call(self, parser, namespace, values, option_string=None):  # noqa: ARG001
    raise _VersionSeen()


argparse._VersionAction.__call__ = _version_call  # type: ignore[method-assign]


def _fd(text):
    value = int(text)
    if not -(2**31) <= value < 2**31:
        raise ValueError(text)
    return value


_fd.__name__ = "int"
client.daemon_parser.add_argument("--ready-fd", type=_fd, help=argparse.SUPPRESS)


def encode(value):
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, int):
        return {"int": str(value)}
    if isinstance(value, float):
        return {"float": "%016x" % struct.unpack("<Q", struct.pack("<d", value))[0]}
    if isinstance(value, list):
        return [encode(v) for v in value]
    return {"repr": repr(value)}


def run_case(case):
    os.environ["COLUMNS"] = str(case["columns"])
    out, err = io.StringIO(), io.StringIO()
    result = {"exit": None, "version": False, "action": None, "namespace": None,
              "usage": None, "help": None, "crash": None}
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            args = client.parser.parse_args(case["argv"])
    except SystemExit as e:
        result["exit"] = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except _VersionSeen:
        result["version"] = True
    except Exception as e:  # noqa: BLE001
        result["crash"] = repr(e)
    else:
        ns = dict(vars(args))
        action = ns.pop("action")
        result["action"] = action.__name__ if action else None
        result["namespace"] = {k: encode(v) for k, v in ns.items()}
        if action is None:
            result["usage"] = client.parser.format_usage()
        elif result["action"] == "do_help":
            result["help"] = client.parser.format_help()
    result["stdout"] = out.getvalue()
    result["stderr"] = err.getvalue()
    return result


def main():
    request = json.load(sys.stdin)
    if request.get("cwd"):
        os.chdir(request["cwd"])
    results = [run_case(case) for case in request["cases"]]
    json.dump({"mypy": client.__version__, "python": sys.version.split()[0], "results": results}, sys.stdout)


if __name__ == "__main__":
    main()
