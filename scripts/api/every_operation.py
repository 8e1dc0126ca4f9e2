"""Fail unless schemathesis tested every operation in the API's document.

schemathesis exits 1 both when it finds a failure and when it tested no
operation at all, so its exit status cannot tell a clean run from one
that tested nothing. This reads its reports and fails, naming each one,
unless every operation in the document was sent requests and answered:

- the JSON report (--report json) must count as many operations tested
  as the document has, and none skipped or errored;
- the event stream (--report ndjson) must show, for each operation by
  name, at least one request with that operation's method answered.

    python every_operation.py OPENAPI.json REPORT.json EVENTS.ndjson
"""

import collections
import json
import sys

METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


def documented(doc):
    return {
        f"{method.upper()} {path}"
        for path, item in doc["paths"].items()
        for method in item
        if method in METHODS
    }


def answered(events_path):
    """How many requests each operation (by label) sent and had answered."""
    counts = collections.Counter()
    with open(events_path) as events:
        for line in events:
            event = json.loads(line)
            finished = event.get("ScenarioFinished")
            if not finished:
                continue
            recorder = finished["recorder"]
            label = recorder.get("label", "")
            method = label.split(" ", 1)[0]
            for interaction in recorder.get("interactions", {}).values():
                if interaction.get("response") and interaction["request"]["method"] == method:
                    counts[label] += 1
    return counts


def main(doc_path, report_path, events_path):
    with open(doc_path) as f:
        wanted = documented(json.load(f))
    with open(report_path) as f:
        operations = json.load(f)["operations"]
    counts = answered(events_path)
    for operation in sorted(wanted):
        print(f"  {counts[operation]:5} requests answered  {operation}")
    problems = []
    untested = sorted(op for op in wanted if counts[op] == 0)
    if untested:
        problems.append(f"no request answered for {', '.join(untested)}")
    if operations["tested"] != len(wanted) or operations["skipped"] or operations["errored"]:
        problems.append(
            f"the report counts {operations['tested']} tested, {operations['skipped']} skipped and "
            f"{operations['errored']} errored of {operations['total']}, and the document has {len(wanted)}"
        )
    if problems:
        print("schemathesis did not test every operation: " + "; ".join(problems))
        return 1
    print(f"schemathesis tested all {len(wanted)} operations in the document")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
