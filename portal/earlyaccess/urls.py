from django.urls import path

from portal.earlyaccess import views

app_name = "earlyaccess"

urlpatterns = [
    path("", views.register, name="register"),
    path("thanks/", views.thanks, name="thanks"),
]
