from django.urls import path

from evidence import views, web_evidence, web_exceptions, web_exposures, web_notifications

app_name = "evidence"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("fleets/new/", views.fleet_create, name="fleet-create"),
    path("fleets/<slug:fleet>/", views.fleet_detail, name="fleet"),
    path("hosts/<int:host_id>/", views.host_detail, name="host"),
    path("exposures/", web_exposures.exposure_list, name="exposures"),
    path("exceptions/", web_exceptions.exception_list, name="exceptions"),
    path("exceptions/new/", web_exceptions.exception_create, name="exception-create"),
    path("exceptions/<int:exception_id>/", web_exceptions.exception_detail, name="exception"),
    path(
        "exceptions/<int:exception_id>/approve/",
        web_exceptions.exception_approve_view,
        name="exception-approve",
    ),
    path(
        "exceptions/<int:exception_id>/revoke/",
        web_exceptions.exception_revoke_view,
        name="exception-revoke",
    ),
    path("advisories/<int:advisory_id>/", web_evidence.advisory_detail, name="advisory"),
    path("evaluations/<int:evaluation_id>/", views.evaluation_detail, name="evaluation"),
    path("sboms/", views.sbom_list, name="sboms"),
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
    path("notifications/", web_notifications.notification_settings, name="notifications"),
    path("notifications/webhook/", web_notifications.webhook_settings, name="webhook"),
    path("tokens/", views.token_list, name="tokens"),
    path("tokens/<int:token_id>/revoke/", views.token_revoke, name="token-revoke"),
]
