"""factory_boy factories for the models tests build on."""

from datetime import timedelta
from typing import Any

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from evidence.models import Fleet, Host
from portal.accounts.models import AuditorGrant, Membership, Organization, Role

PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory[Any]):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}@example.test")
    email = factory.SelfAttribute("username")

    @factory.post_generation
    def password(obj: Any, create: bool, extracted: str | None, **kwargs: object) -> None:
        obj.set_password(extracted or PASSWORD)
        if create:
            obj.save(update_fields=["password"])


class OrganizationFactory(factory.django.DjangoModelFactory[Organization]):
    class Meta:
        model = Organization

    slug = factory.Sequence(lambda n: f"org-{n}")
    name = factory.Sequence(lambda n: f"Organisation {n}")


class MembershipFactory(factory.django.DjangoModelFactory[Membership]):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    organization = factory.SubFactory(OrganizationFactory)
    role = Role.OFFICER


class FleetFactory(factory.django.DjangoModelFactory[Fleet]):
    class Meta:
        model = Fleet

    organization = factory.SubFactory(OrganizationFactory)
    slug = factory.Sequence(lambda n: f"fleet-{n}")
    name = factory.Sequence(lambda n: f"Fleet {n}")
    distribution = "azurelinux-4"


class HostFactory(factory.django.DjangoModelFactory[Host]):
    class Meta:
        model = Host

    fleet = factory.SubFactory(FleetFactory)
    hostname = factory.Sequence(lambda n: f"host-{n}.example.test")


class AuditorGrantFactory(factory.django.DjangoModelFactory[AuditorGrant]):
    class Meta:
        model = AuditorGrant

    auditor = factory.SubFactory(UserFactory)
    organization = factory.SubFactory(OrganizationFactory)
    expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=30))
