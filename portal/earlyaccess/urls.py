from django.urls import path

from portal.earlyaccess import views

app_name = "earlyaccess"

urlpatterns = [
    path("", views.register, name="register"),
    path("thanks/", views.thanks, name="thanks"),
    path("privacy/", views.privacy, name="privacy"),
    path("confirm/", views.confirm, name="confirm"),
    path("confirmed/", views.confirmed, name="confirmed"),
    path("my-data/", views.data, name="data"),
    path("my-data/sent/", views.link_sent, name="link-sent"),
    path("my-data/export/", views.data_export, name="data-export"),
    path("my-data/erase/", views.erase_request, name="erase-request"),
    path("erase/", views.erase_confirm, name="erase-confirm"),
    path("invitation/", views.invitation, name="invitation"),
]
