from django.urls import path  # noqa: F401

app_name = "command"
urlpatterns: list = []

# The leader's phone view and the monthly assessment (yiwang/command/views_leader.py).
from yiwang.command import views_leader  # noqa: E402

urlpatterns += [
    path("m/", views_leader.phone, name="leader"),
    path("m/cases/<int:pk>/supervise/", views_leader.supervise, name="leader-supervise"),
    path("assessment/", views_leader.assessment_page, name="assessment"),
    path("assessment/print/", views_leader.assessment_print, name="assessment-print"),
]
