from django.urls import path

from . import views

app_name = "console"
urlpatterns = [
    path("", views.home, name="home"),
    path("inbox/", views.inbox, name="inbox"),
    path("cases/", views.case_list, name="cases"),
    path("cases/export.csv", views.case_export, name="cases-export"),
    path("unit/", views.unit_cases, name="unit"),
    path("leader/", views.leader, name="leader"),
    path("cases/<int:pk>/", views.case_detail, name="case"),
    path("cases/<int:pk>/contact/", views.case_contact, name="contact"),
    path("cases/<int:pk>/do/<slug:verb>/", views.case_act, name="act"),
]

from . import imports_views  # noqa: E402 (the bulk import pages, appended)

urlpatterns += [
    path("imports/", imports_views.import_list, name="imports"),
    path("imports/columns/", imports_views.import_columns, name="import-columns"),
    path("imports/<int:pk>/", imports_views.import_detail, name="import"),
    path("imports/<int:pk>/stop/", imports_views.import_stop, name="import-stop"),
    path("imports/<int:pk>/resume/", imports_views.import_resume, name="import-resume"),
    path("imports/<int:pk>/errors.csv", imports_views.import_errors, name="import-errors"),
]

from yiwang.console.messages import MESSAGES  # noqa: E402 (my messages, appended)
from yiwang.notifications.views import urls as inbox_urls  # noqa: E402

urlpatterns += inbox_urls(MESSAGES)
