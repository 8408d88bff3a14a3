"""The shell's doors: where to start, staff sign-in and sign-out."""

from django.contrib.auth import views as auth_views
from django.shortcuts import redirect
from django.urls import reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme

from .selectors import home_for


def home(request):
    return redirect(home_for(request.user))


class LoginView(auth_views.LoginView):
    """Staff sign in with user name and password; residents sign in by phone on the phone pages."""

    template_name = "web/login.html"
    redirect_authenticated_user = True

    def get_default_redirect_url(self):
        return home_for(self.request.user)

    def get_redirect_url(self):
        target = super().get_redirect_url()
        return target if url_has_allowed_host_and_scheme(target, {self.request.get_host()}) else ""


class LogoutView(auth_views.LogoutView):
    next_page = reverse_lazy("web:home")
