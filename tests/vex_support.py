"""Helpers shared by the VEX parser tests: hand-written OpenVEX, CycloneDX and CSAF
documents, and the parse-or-refuse helpers."""

from __future__ import annotations

import json
from typing import Any

import pytest

from evidence.vex import VexError, vex_parse


def _dump(document: object) -> bytes:
    return json.dumps(document).encode()


def _refused(data: bytes) -> VexError:
    with pytest.raises(VexError) as caught:
        vex_parse(data)
    assert caught.value.location or "bytes" in caught.value.message
    return caught.value


def _openvex_doc() -> dict[str, Any]:
    return {
        "@context": "https://openvex.dev/ns/v0.2.0",
        "@id": "https://example.com/vex/1",
        "author": "Example Security",
        "timestamp": "2024-05-01T10:00:00Z",
        "version": 1,
        "statements": [
            {
                "vulnerability": {"name": "cve-2023-44487", "aliases": ["GHSA-qppj-fm5r-hxr3"]},
                "products": [
                    {
                        "@id": "pkg:oci/app@sha256%3Aabcd",
                        "subcomponents": [
                            {"@id": "pkg:golang/golang.org/x/net@v0.7.0"},
                            {"identifiers": {"purl": "pkg:pypi/Django@4.2"}},
                        ],
                    }
                ],
                "status": "not_affected",
                "justification": "vulnerable_code_not_present",
                "impact_statement": "HTTP/2 is disabled",
            },
            {
                "vulnerability": {"@id": "GHSA-aaaa-bbbb-cccc"},
                "products": [{"@id": "https://example.com/product/1"}],
                "status": "affected",
                "action_statement": "Upgrade to 2.0",
                "timestamp": "2024-05-02T08:00:00",
            },
        ],
    }


def _cdx_doc() -> dict[str, Any]:
    return {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "serialNumber": "urn:uuid:11111111-2222-3333-4444-555555555555",
        "metadata": {
            "timestamp": "2024-06-01T00:00:00+02:00",
            "authors": [{"name": "Alice"}, {"name": "Bob"}],
            "component": {"bom-ref": "app", "name": "app", "purl": "pkg:npm/app@1.0.0"},
        },
        "components": [
            {
                "bom-ref": "lib-a",
                "name": "a",
                "purl": "pkg:npm/%40scope/a@2.0.0",
                "components": [{"bom-ref": "lib-b", "name": "b", "purl": "pkg:npm/b@3.0.0"}],
            }
        ],
        "vulnerabilities": [
            {
                "id": "CVE-2024-0001",
                "analysis": {
                    "state": "in_triage",
                    "justification": "requires_environment",
                },
                "affects": [{"ref": "lib-b"}, {"ref": "app"}, {"ref": "elsewhere"}],
            },
            {
                "id": "GHSA-1111-2222-3333",
                "references": [{"id": "cve-2024-0002"}],
                "analysis": {
                    "state": "false_positive",
                    "justification": "protected_by_compiler",
                    "firstIssued": "2024-06-02T00:00:00Z",
                },
                "affects": [{"ref": "lib-a"}],
            },
        ],
    }


def _csaf_doc() -> dict[str, Any]:
    return {
        "document": {
            "category": "csaf_vex",
            "csaf_version": "2.0",
            "publisher": {"name": "ACME PSIRT", "category": "vendor", "namespace": "https://a"},
            "tracking": {
                "id": "ACME-VEX-1",
                "initial_release_date": "2024-01-01T00:00:00Z",
                "current_release_date": "2024-02-01T00:00:00Z",
            },
        },
        "product_tree": {
            "branches": [
                {
                    "category": "vendor",
                    "name": "ACME",
                    "branches": [
                        {
                            "category": "product_version",
                            "name": "1.0",
                            "product": {
                                "name": "libfoo 1.0",
                                "product_id": "LIBFOO-1",
                                "product_identification_helper": {
                                    "purl": "pkg:rpm/acme/libfoo@1.0-1?arch=x86_64"
                                },
                            },
                        }
                    ],
                }
            ],
            "full_product_names": [{"name": "Appliance 5", "product_id": "APPLIANCE-5"}],
            "relationships": [
                {
                    "category": "default_component_of",
                    "product_reference": "LIBFOO-1",
                    "relates_to_product_reference": "APPLIANCE-5",
                    "full_product_name": {"name": "libfoo in A5", "product_id": "A5:LIBFOO-1"},
                }
            ],
            "product_groups": [{"group_id": "G1", "product_ids": ["A5:LIBFOO-1", "APPLIANCE-5"]}],
        },
        "vulnerabilities": [
            {
                "cve": "CVE-2024-1111",
                "ids": [{"system_name": "GHSA", "text": "GHSA-9999-8888-7777"}],
                "product_status": {
                    "known_not_affected": ["A5:LIBFOO-1"],
                    "under_investigation": ["APPLIANCE-5"],
                    "recommended": ["APPLIANCE-5"],
                },
                "flags": [
                    {
                        "label": "vulnerable_code_cannot_be_controlled_by_adversary",
                        "group_ids": ["G1"],
                    }
                ],
                "threats": [
                    {"category": "impact", "details": "Input is sanitised", "group_ids": ["G1"]}
                ],
            },
            {
                "ids": [{"system_name": "internal", "text": "ACME-2024-7"}],
                "product_status": {"first_fixed": ["LIBFOO-1"], "last_affected": ["APPLIANCE-5"]},
                "remediations": [
                    {
                        "category": "vendor_fix",
                        "details": "Update",
                        "url": "https://a/fix",
                        "product_ids": ["LIBFOO-1"],
                    }
                ],
            },
        ],
    }
