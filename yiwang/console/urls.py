from django.urls import path

from . import views

app_name = "console"
urlpatterns = [
    path("", views.home, name="home"),
    path("inbox/", views.inbox, name="inbox"),
    path("cases/", views.case_list, name="cases"),
    path("unit/", views.unit_cases, name="unit"),
    path("leader/", views.leader, name="leader"),
    path("cases/<int:pk>/", views.case_detail, name="case"),
    path("cases/<int:pk>/contact/", views.case_contact, name="contact"),
    path("cases/<int:pk>/do/<slug:verb>/", views.case_act, name="act"),
]
