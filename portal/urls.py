from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_update
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from evidence import views as evidence_views
from portal import health
from portal.accounts import views as account_views

admin.site.site_header = "Patchproof administration"

# Swagger UI with its start-up script served as a file (the "split" view), so the page needs no
# inline script; its template's small inline <style> is allowed on this page alone.
api_docs = csp_update({"style-src": [UNSAFE_INLINE]})(
    SpectacularSwaggerSplitView.as_view(url_name="schema")
)

urlpatterns = [
    path("", account_views.home, name="home"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("o/<slug:org>/", include("evidence.urls")),
    path("early-access/", include("portal.earlyaccess.urls")),
    path("api/v1/", include("evidence.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", api_docs, name="api-docs"),
    path(
        ".well-known/patchproof-signing-key.pem",
        evidence_views.signing_key_pem,
        name="signing-key",
    ),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("admin/", admin.site.urls),
]
