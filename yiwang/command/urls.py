from django.urls import path

from . import views, views_leader

app_name = "command"
urlpatterns = [
    # The wall screen (yiwang/command/views.py).
    path("", views.wall, name="wall"),
    # The leader's phone view and the monthly assessment (yiwang/command/views_leader.py).
    path("m/", views_leader.phone, name="leader"),
    path("m/cases/<int:pk>/supervise/", views_leader.supervise, name="leader-supervise"),
    path("assessment/", views_leader.assessment_page, name="assessment"),
    path("assessment/print/", views_leader.assessment_print, name="assessment-print"),
]
