from django.urls import path

from yiwang.notifications.views import urls as inbox_urls

from . import views

app_name = "phone"
urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.sign_in, name="login"),
    path("report/", views.report, name="report"),
    path("report/sent/<str:number>/", views.sent, name="sent"),
    path("report/kept/<str:token>/", views.kept_photo, name="kept-photo"),
    path("categories/", views.categories, name="categories"),
    path("place/", views.place, name="place"),
    path("duplicates/", views.duplicates, name="duplicates"),
    path("grids/", views.grids, name="grids"),
    path("mine/", views.mine, name="mine"),
    path("mine/<int:pk>/", views.mine_case, name="mine-case"),
    path("grid/", views.grid_home, name="grid"),
    path("grid/report/", views.grid_report, name="grid-report"),
    path("grid/case/<int:pk>/", views.grid_case, name="grid-case"),
    path("grid/case/<int:pk>/<str:verb>/", views.grid_case_act, name="grid-case-act"),
    *inbox_urls(views.MESSAGES),
]
