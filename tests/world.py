"""Two organisations and a cast of personas, for access tests.

Organisation A ("Org-SECRET-A") has fleets A1 and A2; every A1 object carries the marker
"SECRET-A1" in a name, so a response that leaks A1 data can be recognised by its text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.test import Client
from django.utils import timezone

from evidence.demo import demo_sbom
from evidence.ingest import host_resolve, sbom_ingest, sbom_receive
from evidence.models import (
    Advisory,
    AuditPacket,
    Exposure,
    Fleet,
    Host,
    PackageInterval,
    RiskException,
    SbomDocument,
    VexUpload,
)
from evidence.packets.build import packet_render, packet_request
from portal.accounts.models import ApiToken, Role
from portal.accounts.tokens import api_token_create
from tests.factories import (
    AuditorGrantFactory,
    FleetFactory,
    MembershipFactory,
    OrganizationFactory,
    UserFactory,
)

ORG_MARKER = "SECRET-A"
FLEET_MARKER = "SECRET-A1"


@dataclass
class Persona:
    """Someone making requests. `sees` is 'org' (all of A), 'fleet2' (only fleet A2) or
    'none'; `writes` says whether they may change A's data."""

    name: str
    sees: str
    writes: bool
    user: Any = None
    token: str | None = None

    def client(self) -> Client:
        if self.token:
            return Client(HTTP_AUTHORIZATION=f"Bearer {self.token}")
        client = Client()
        if self.user is not None:
            client.force_login(self.user)
        return client


@dataclass
class World:
    org_a: Any
    fleet_a1: Fleet
    fleet_a2: Fleet
    host_a1: Host
    sbom_a1: SbomDocument
    packet_a1: AuditPacket
    token_a1: ApiToken
    exposure_a1: Exposure
    exception_a1: RiskException
    vex_a1: VexUpload
    personas: list[Persona] = field(default_factory=list)

    def persona(self, name: str) -> Persona:
        return next(p for p in self.personas if p.name == name)


def build_world() -> World:
    org_a = OrganizationFactory.create(slug="org-a", name=f"Org-{ORG_MARKER}")
    org_b = OrganizationFactory.create(slug="org-b", name="Org B")
    fleet_a1 = FleetFactory.create(
        organization=org_a, slug="fleet-a1", name=f"Fleet-{FLEET_MARKER}"
    )
    fleet_a2 = FleetFactory.create(organization=org_a, slug="fleet-a2", name="Fleet A2")
    FleetFactory.create(organization=org_b, slug="fleet-b", name="Fleet B")
    host = host_resolve(fleet=fleet_a1, hostname=f"host-{FLEET_MARKER.lower()}.example.test")
    data = demo_sbom(
        hostname=host.hostname,
        distribution="azurelinux-4",
        taken_at=timezone.now() - timedelta(days=1),
        later=True,
    )
    sbom = sbom_receive(
        organization=org_a,
        data=data,
        size=len(data),
        filename=f"{FLEET_MARKER}.cdx.json",
        host=host,
        dispatch=False,
    )
    sbom = sbom_ingest(document_id=sbom.pk)
    today = timezone.now().date()
    packet = packet_request(
        organization=org_a,
        fleet=fleet_a1,
        period_start=today - timedelta(days=30),
        period_end=today,
        dispatch=False,
    )
    packet = packet_render(packet_id=packet.pk)
    token_a1, _ = api_token_create(organization=org_a, fleet=fleet_a1, name=f"tok-{FLEET_MARKER}")
    interval = PackageInterval.objects.filter(host=host).select_related("package").first()
    assert interval is not None
    advisory = Advisory.objects.create(source="osv", external_id="OSV-WORLD-1", digest="x")
    exposure_a1 = Exposure.objects.create(
        organization=org_a,
        fleet=fleet_a1,
        host=host,
        advisory=advisory,
        package=interval.package,
        package_type=interval.package.type,
        package_distro=interval.package.distro,
        package_name=interval.package.name,
        window_start=interval.present_from,
    )

    officer_a = MembershipFactory.create(organization=org_a, role=Role.OFFICER).user
    viewer_a = MembershipFactory.create(organization=org_a, role=Role.VIEWER).user
    officer_b = MembershipFactory.create(organization=org_b, role=Role.OFFICER).user
    vex_a1 = VexUpload.objects.create(
        organization=org_a,
        fleet=fleet_a1,
        filename=f"{FLEET_MARKER}.openvex.json",
        sha256="0" * 64,
        status="rejected",
        error="kept for the isolation test",
    )
    exception_a1 = RiskException.objects.create(
        organization=org_a,
        fleet=fleet_a1,
        exposure=exposure_a1,
        advisory=advisory,
        justification=f"Compensated by {FLEET_MARKER} firewall",
        requested_by=officer_a,
        expires_at=timezone.now() + timedelta(days=30),
    )
    auditor_live = AuditorGrantFactory.create(organization=org_a).auditor
    auditor_fleet2 = AuditorGrantFactory.create(organization=org_a, fleet=fleet_a2).auditor
    auditor_expired = AuditorGrantFactory.create(
        organization=org_a, expires_at=timezone.now() - timedelta(days=1)
    ).auditor
    auditor_revoked = AuditorGrantFactory.create(
        organization=org_a, revoked_at=timezone.now()
    ).auditor
    _, secret_a = api_token_create(organization=org_a, name="org A token")
    _, secret_a2 = api_token_create(organization=org_a, fleet=fleet_a2, name="fleet A2 token")
    _, secret_b = api_token_create(organization=org_b, name="org B token")
    revoked, secret_revoked = api_token_create(organization=org_a, name="revoked A token")
    ApiToken.objects.filter(pk=revoked.pk).update(revoked_at=timezone.now())

    personas = [
        Persona("anonymous", sees="none", writes=False),
        Persona("officer of A", sees="org", writes=True, user=officer_a),
        Persona("viewer of A", sees="org", writes=False, user=viewer_a),
        Persona("officer of B", sees="none", writes=False, user=officer_b),
        Persona("auditor, live grant on A", sees="org", writes=False, user=auditor_live),
        Persona("auditor, grant on fleet A2", sees="fleet2", writes=False, user=auditor_fleet2),
        Persona("auditor, expired grant", sees="none", writes=False, user=auditor_expired),
        Persona("auditor, revoked grant", sees="none", writes=False, user=auditor_revoked),
        Persona("user with no organisation", sees="none", writes=False, user=UserFactory.create()),
        Persona("token of A", sees="org", writes=True, token=secret_a),
        Persona("token of fleet A2", sees="fleet2", writes=True, token=secret_a2),
        Persona("token of B", sees="none", writes=False, token=secret_b),
        Persona("revoked token of A", sees="none", writes=False, token=secret_revoked),
    ]
    return World(
        org_a=org_a,
        fleet_a1=fleet_a1,
        fleet_a2=fleet_a2,
        host_a1=host,
        sbom_a1=sbom,
        packet_a1=packet,
        token_a1=token_a1,
        exposure_a1=exposure_a1,
        exception_a1=exception_a1,
        vex_a1=vex_a1,
        personas=personas,
    )
