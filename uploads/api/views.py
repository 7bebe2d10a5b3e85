from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from uploads import services
from uploads.api.serializers import (
    ConfirmedImageSerializer,
    ErrorSerializer,
    TicketRequestSerializer,
    TicketSerializer,
    absolute_urls,
)
from uploads.api.throttles import TicketIssueThrottle

ERRORS = {
    400: "`invalid`: see `errors`.",
    401: "`not_authenticated`.",
    403: "`permission_denied`: a logo needs a site admin.",
    404: "`not_found`: no such object or ticket, or another site's.",
    409: "`upload_missing`: upload the file, then confirm again.",
    410: "`ticket_expired`: ask for a new ticket.",
    422: "`invalid_image`, `type_mismatch`, `image_too_large`, `size_mismatch`: "
    "the file was deleted and the ticket rejected.",
    429: "`throttled`: wait `Retry-After` seconds.",
    503: "`storage_unavailable`: retry after `Retry-After`; the ticket stays usable.",
}


def errors(*statuses):
    return {code: OpenApiResponse(ErrorSerializer, description=ERRORS[code]) for code in statuses}


class TicketListView(APIView):
    """Issue an upload ticket: a form to post one image straight to storage."""

    throttle_classes = [TicketIssueThrottle]

    @extend_schema(
        operation_id="upload_ticket_create",
        request=TicketRequestSerializer,
        responses={201: TicketSerializer, **errors(400, 401, 403, 404, 429)},
        examples=[
            OpenApiExample(
                "A product photo",
                request_only=True,
                value={
                    "kind": "product",
                    "object_id": 42,
                    "filename": "riz.jpg",
                    "content_type": "image/jpeg",
                    "size": 482113,
                    "sha256": "n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=",
                },
            ),
        ],
    )
    def post(self, request):
        serializer = TicketRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        issued = services.issue_ticket(request.user, **serializer.validated_data)
        data = TicketSerializer(
            issued.ticket, context={"request": request, "upload": issued.upload}
        ).data
        return Response(data, status=status.HTTP_201_CREATED)


class TicketDetailView(APIView):
    """A ticket and its status: issued, confirmed, rejected or expired."""

    @extend_schema(
        operation_id="upload_ticket_retrieve", responses={200: TicketSerializer, **errors(401, 404)}
    )
    def get(self, request, ticket_id):
        ticket = services.get_ticket(request.user, ticket_id)
        return Response(TicketSerializer(ticket, context={"request": request}).data)


class TicketConfirmView(APIView):
    """Check the uploaded image and attach it; safe to repeat."""

    @extend_schema(
        operation_id="upload_ticket_confirm",
        request=None,
        responses={200: ConfirmedImageSerializer, **errors(401, 404, 409, 410, 422, 503)},
    )
    def post(self, request, ticket_id):
        body = services.confirm_ticket(request.user, ticket_id)
        return Response(absolute_urls(request, body))
