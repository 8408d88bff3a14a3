from django.urls import path

from yiwang.media.views import AttachmentView, PlayableView, ThumbnailView

app_name = "media"

urlpatterns = [
    path("cases/<int:pk>/", AttachmentView.as_view(), name="attachment"),
    path("cases/<int:pk>/thumb/", ThumbnailView.as_view(), name="thumbnail"),
    path("cases/<int:pk>/play/", PlayableView.as_view(), name="playable"),
]
