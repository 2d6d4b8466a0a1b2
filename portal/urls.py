from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from evidence import views as evidence_views
from portal import health
from portal.accounts import views as account_views

admin.site.site_header = "Patchproof administration"

urlpatterns = [
    path("", account_views.home, name="home"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("o/<slug:org>/", include("evidence.urls")),
    path("early-access/", include("portal.earlyaccess.urls")),
    path("api/v1/", include("evidence.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path(
        ".well-known/patchproof-signing-key.pem",
        evidence_views.signing_key_pem,
        name="signing-key",
    ),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("admin/", admin.site.urls),
]
