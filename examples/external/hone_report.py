"""hone's metric protocol for Python programs tuned by `hone tune` (docs/EXTERNAL.md). Copy it beside your script."""
import json, os, sys

def params():
    """The trial's parameters {name: value} (from $HONE_PARAMS_FILE; {} when run by hand)."""
    path = os.environ.get("HONE_PARAMS_FILE")
    return json.load(open(path)) if path else {}

def report(step, value):
    """An intermediate value (e.g. validation accuracy after epoch `step`); hone may prune after it."""
    print(f"hone: report {int(step)} {float(value)!r}", flush=True)

def result(value):
    """The trial's final value. Print it last, then exit 0."""
    print(f"hone: result {float(value)!r}", flush=True)
