from django.urls import path

from evidence import views, web_evidence, web_exposures

app_name = "evidence"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("fleets/new/", views.fleet_create, name="fleet-create"),
    path("fleets/<slug:fleet>/", views.fleet_detail, name="fleet"),
    path("hosts/<int:host_id>/", views.host_detail, name="host"),
    path("exposures/", web_exposures.exposure_list, name="exposures"),
    path("advisories/<int:advisory_id>/", web_evidence.advisory_detail, name="advisory"),
    path("evaluations/<int:evaluation_id>/", views.evaluation_detail, name="evaluation"),
    path("sboms/upload/", views.sbom_upload, name="sbom-upload"),
    path("sboms/<int:sbom_id>/", views.sbom_detail, name="sbom"),
    path("packets/", views.packet_list, name="packets"),
    path("packets/new/", views.packet_create, name="packet-create"),
    path("packets/<int:packet_id>/", views.packet_detail, name="packet"),
    path("packets/<int:packet_id>/download/", views.packet_download, name="packet-download"),
    path("packets/<int:packet_id>/manifest/", views.packet_manifest, name="packet-manifest"),
    path(
        "packets/<int:packet_id>/export/<str:kind>",
        views.packet_export,
        name="packet-export",
    ),
    path("feeds/", views.feed_list, name="feeds"),
    path("feeds/<slug:feed>/", views.feed_detail, name="feed"),
    path("tokens/", views.token_list, name="tokens"),
    path("tokens/<int:token_id>/revoke/", views.token_revoke, name="token-revoke"),
]
