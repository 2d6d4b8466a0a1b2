"""Timing and memory check of the SBOM parser, run by hand (not part of the test suite):

    .venv/bin/python -m tests.sbom.timing_check

Prints the time to parse and validate a 10,000-component CycloneDX JSON document, where that
time goes, and the peak RSS of a fresh process that reads and parses a 100,000-component one.
"""

from __future__ import annotations

import gc
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.sbom.synthetic import cyclonedx_rpm


def _timed(function: object, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()  # type: ignore[operator]
        times.append((time.perf_counter() - start) * 1000)
    return times


def _phases(data: bytes) -> None:
    from evidence.sbom.components import ComponentBuilder
    from evidence.sbom.cyclonedx import _walk
    from evidence.sbom.findings import Findings
    from evidence.sbom.jsondoc import _depth_within, json_load
    from evidence.sbom.model import Limits
    from evidence.sbom.schemas import json_schema_check

    limits = Limits()
    doc = json_load(data, limits)
    gc.disable()  # as sbom_parse does around the whole parse

    def walk() -> None:
        builder = ComponentBuilder(limits=limits, findings=Findings())
        _walk(doc["components"], builder, limits, consume=False)

    for label, function in (
        ("depth check", lambda: _depth_within(data, limits.max_depth)),
        ("orjson + depth check", lambda: json_load(data, limits)),
        ("orjson result freed", lambda: _load_and_free(data)),
        ("schema (jsonschema-rs)", lambda: json_schema_check(doc, "1.6", Findings())),
        ("components", walk),
    ):
        print(f"  {label:24} {statistics.median(_timed(function, 15)):7.1f} ms")
    gc.enable()


def _peak_rss_mb() -> float:
    """VmHWM: the peak RSS of this process image (ru_maxrss would include the parent's peak,
    which survives fork and exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _load_and_free(data: bytes) -> float:
    import orjson

    doc = orjson.loads(data)
    start = time.perf_counter()
    del doc
    return time.perf_counter() - start


def _memory_child(path: str) -> None:
    from evidence.sbom import sbom_parse

    data = Path(path).read_bytes()
    before = _peak_rss_mb()
    start = time.perf_counter()
    parsed = sbom_parse(data)
    seconds = time.perf_counter() - start
    peak = _peak_rss_mb()
    print(
        f"  {parsed.component_count:,} components, {len(data) / 1e6:.1f} MB: parsed in "
        f"{seconds:.2f} s; peak RSS {peak:.0f} MB (imports + bytes read: {before:.0f} MB)"
    )


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--memory":
        _memory_child(sys.argv[2])
        return
    from evidence.sbom import sbom_parse

    data = cyclonedx_rpm(10_000)
    parsed = sbom_parse(data)  # warm up: imports, schema compilation
    assert parsed.component_count == 10_000 and parsed.schema_valid, parsed.warnings[:3]
    # As in a worker, each result is dropped before the next document comes. (Keeping results
    # alive fragments the heap and costs 20-40 ms more per parse on this VM.)
    del parsed
    times = _timed(lambda: sbom_parse(data), 25)
    print(
        f"10,000-component CycloneDX JSON ({len(data) / 1e6:.1f} MB), parse + validate: "
        f"median {statistics.median(times):.1f} ms, min {min(times):.1f} ms, "
        f"max {max(times):.1f} ms (25 runs)"
    )
    _phases(data)

    with tempfile.NamedTemporaryFile(suffix=".cdx.json") as big:
        big.write(cyclonedx_rpm(100_000))
        big.flush()
        print("100,000-component CycloneDX JSON, in a fresh process:")
        subprocess.run(
            [sys.executable, "-m", "tests.sbom.timing_check", "--memory", big.name], check=True
        )


if __name__ == "__main__":
    main()
