from rest_framework.routers import SimpleRouter

from evidence.api import reports, views

app_name = "api"

router = SimpleRouter()
router.register("fleets", views.FleetViewSet, basename="fleet")
router.register("hosts", views.HostViewSet, basename="host")
router.register("sboms", views.SbomViewSet, basename="sbom")
router.register("exposures", views.ExposureViewSet, basename="exposure")
router.register("sla-profiles", views.SlaProfileViewSet, basename="sla-profile")
router.register("exceptions", views.RiskExceptionViewSet, basename="exception")
router.register("vex", views.VexViewSet, basename="vex")
router.register("evaluations", reports.EvaluationViewSet, basename="evaluation")
router.register("packets", reports.PacketViewSet, basename="packet")

urlpatterns = router.urls
