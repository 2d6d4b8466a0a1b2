"""Synthetic SBOMs for tests and the timing check: big, valid, and cheap to make."""

from __future__ import annotations

import orjson


def cyclonedx_rpm(count: int, *, nested_every: int = 10, spec_version: str = "1.6") -> bytes:
    """A valid CycloneDX JSON document of `count` rpm components with hashes, licences and a
    supplier; every `nested_every`-th component carries one nested file component."""
    components: list[dict[str, object]] = []
    index = 0
    while index < count:
        version = f"1.{index}-1.azl4"
        component: dict[str, object] = {
            "type": "library",
            "bom-ref": f"ref-{index}",
            "supplier": {"name": "Microsoft"},
            "name": f"pkg{index}",
            "version": version,
            "hashes": [{"alg": "SHA-256", "content": f"{index:064x}"}],
            "licenses": [{"license": {"id": "MIT"}}],
            "purl": f"pkg:rpm/azurelinux/pkg{index}@{version}"
            "?arch=x86_64&distro=azurelinux-4&epoch=1",
        }
        index += 1
        if nested_every and index % nested_every == 0 and index < count:
            component["components"] = [
                {
                    "type": "file",
                    "bom-ref": f"ref-{index}",
                    "name": f"lib{index}.so",
                    "version": "1",
                    "hashes": [{"alg": "SHA-1", "content": f"{index:040x}"}],
                    "purl": f"pkg:generic/lib{index}.so@1",
                }
            ]
            index += 1
        components.append(component)
    return orjson.dumps(
        {
            "bomFormat": "CycloneDX",
            "specVersion": spec_version,
            "serialNumber": "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79",
            "version": 1,
            "metadata": {
                "timestamp": "2026-11-01T08:00:00Z",
                "tools": {"components": [{"type": "application", "name": "synthetic"}]},
                "component": {"type": "operating-system", "name": "host", "version": "4.0"},
            },
            "components": components,
            "dependencies": [{"ref": "ref-0", "dependsOn": ["ref-1"]}],
        }
    )
