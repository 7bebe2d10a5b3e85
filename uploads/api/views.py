"""
The upload API: issue a ticket, read it, confirm the upload.

The views declare what they need rather than take it from the project's
``REST_FRAMEWORK`` setting (``UploadAPIView``), so that they answer the same
contract in any project. Their OpenAPI documentation is in ``api_docs``.
"""

from rest_framework import status
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from uploads import services
from uploads.api import api_docs
from uploads.api.exceptions import exception_handler
from uploads.api.parsers import JSONParser
from uploads.api.serializers import (
    ConfirmedImageSerializer,
    TicketRequestSerializer,
    TicketSerializer,
)
from uploads.api.throttles import TicketIssueThrottle
from uploads.sites import get_request_site_id


class UploadAPIView(APIView):
    """What every upload view needs, whatever the project's DRF settings:
    a signed-in user (DRF answers an anonymous request 401 when the first
    authenticator sends ``WWW-Authenticate``, 403 otherwise), JSON in and
    out, and errors as ``{"code": ..., "detail": ...}``
    (``uploads.api.exceptions``), an ``UploadError`` included.

    How users authenticate (tokens, sessions...) stays the project's choice.
    """

    permission_classes = [IsAuthenticated]
    parser_classes = [JSONParser]
    renderer_classes = [JSONRenderer]

    def get_exception_handler(self):
        return exception_handler


class TicketListView(UploadAPIView):
    """Issue an upload ticket: a form to post one image straight to storage."""

    throttle_classes = [TicketIssueThrottle]

    @api_docs.TICKET_CREATE
    def post(self, request):
        serializer = TicketRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        request_data = serializer.validated_data
        if request_data.get("new"):
            # A new object's file goes to the site the request acts for.
            request_data = {**request_data, "site_id": get_request_site_id(request)}
        issued = services.issue_ticket(request.user, **request_data)
        data = TicketSerializer(
            issued.ticket, context={"request": request, "upload": issued.upload}
        ).data
        return Response(data, status=status.HTTP_201_CREATED)


class TicketDetailView(UploadAPIView):
    """A ticket and its status: issued, confirmed, rejected or expired."""

    @api_docs.TICKET_RETRIEVE
    def get(self, request, ticket_id):
        ticket = services.get_ticket(request.user, ticket_id)
        return Response(TicketSerializer(ticket, context={"request": request}).data)


class TicketConfirmView(UploadAPIView):
    """Check the uploaded image and attach it; safe to repeat."""

    @api_docs.TICKET_CONFIRM
    def post(self, request, ticket_id):
        ticket = services.confirm_ticket(request.user, ticket_id)
        return Response(ConfirmedImageSerializer(ticket, context={"request": request}).data)
